"""A lab host's clock: the controller's clock plus an offset kept in the host state (`lab.clock_offset`,
seconds), set with `mtk lab clock HOST|all TIME|now`. Time runs on from the set time, as on a real
host. The collector's `host.local_time` (which maintenance windows are read in), the boot time that
win_reboot compares and the dates of installed updates come from it; lab hosts keep UTC as local
time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

FORMAT_HINT = "an ISO date and time such as 2026-12-08T06:30 (the host's local time, UTC in the lab) or 'now'"


def offset(state: dict[str, Any]) -> float:
    return float(state["lab"].get("clock_offset") or 0.0)


def now(state: dict[str, Any]) -> datetime:
    """The host's time now (aware, UTC)."""
    return datetime.now(UTC) + timedelta(seconds=offset(state))


def at(state: dict[str, Any], wall: float) -> datetime:
    """The host's time at controller epoch second `wall`."""
    return datetime.fromtimestamp(wall + offset(state), UTC)


def parse(text: str) -> datetime | None:
    """`now` -> None; else the time (naive input is the host's local time, which is UTC in the lab)."""
    if text.strip().lower() == "now":
        return None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"TIME {text!r} is not {FORMAT_HINT}") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def set_clock(state: dict[str, Any], when: datetime | None) -> str:
    """Set the host's clock to `when` (None: the controller's time). Returns what changed, or ''."""
    before = offset(state)
    if when is None:
        state["lab"].pop("clock_offset", None)
        return "clock follows the controller's again" if before else ""
    state["lab"]["clock_offset"] = round((when - datetime.now(UTC)).total_seconds(), 3)
    return f"clock set to {when:%Y-%m-%d %H:%M:%S} (UTC)"
