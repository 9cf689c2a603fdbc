"""The machine's own SIDs. `S-1-5-21-*-500` as a pattern would also match a DOMAIN's Administrator
(RID 500 of the domain SID); only the machine SID's RID 500 is the built-in Administrator."""

from __future__ import annotations

import re
from typing import Any

from .baseline import BUILTIN_ADMINISTRATOR

_ACCOUNT = re.compile(r"^(S-1-5-21-\d+-\d+-\d+)-\d+$")


def machine_sid(facts: dict[str, Any]) -> str | None:
    """The machine SID the collector read, else the domain part of a member named COMPUTER\\user
    (a local account); never guessed from a RID-500 member, which may be a domain's."""
    host = facts.get("host") or {}
    if host.get("machine_sid"):
        return str(host["machine_sid"])
    computer = str(host.get("computer_name") or "").lower()
    for group in (facts.get("local_groups") or {}).values():
        for member in (group or {}).get("members") or []:
            match = _ACCOUNT.match(str(member.get("sid") or ""))
            if match and computer and str(member.get("name") or "").lower().startswith(computer + "\\"):
                return match.group(1)
    return None


def expand_builtin_administrator(members: list[Any], machine: str) -> list[Any]:
    """`S-1-5-21-*-500` in a member list replaced by this machine's Administrator."""
    return [f"{machine}-500" if m == BUILTIN_ADMINISTRATOR else m for m in members]


def is_any_administrator(sid: str) -> bool:
    """RID 500 of a machine or a domain: which one needs the machine SID."""
    match = _ACCOUNT.match(sid)
    return bool(match) and sid.endswith("-500")
