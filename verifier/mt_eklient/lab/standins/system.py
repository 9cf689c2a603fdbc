"""ansible.windows.win_ping and win_reboot in-process (over WinRM the real win_reboot action plugin
runs: reboots.py; win_updates: wuapi.py)."""

from __future__ import annotations

from typing import Any

from .. import clock
from . import Ctx, ModuleFailure, State
from .features import complete_pending


def ping(state: State, params: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
    if params["data"] == "crash":  # win_ping.ps1 throws on purpose for this value
        raise ModuleFailure("boom")
    return {"changed": False, "ping": params["data"]}


def boot(state: State) -> None:
    """The host restarted now (its own clock): what reboots.settle does after a reboot over WinRM."""
    state["lab"]["last_boot"] = clock.now(state).strftime("%Y-%m-%dT%H:%M:%SZ")
    state["lab"]["pending_reboot"] = False
    state["lab"]["reboots"] = int(state["lab"].get("reboots") or 0) + 1
    complete_pending(state)


def reboot(state: State, params: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
    boot(state)  # in check mode the runner throws this copy away, like the real action plugin
    ctx.applied += 1
    return {"changed": True, "rebooted": True, "elapsed": 0, "unreachable": False}
