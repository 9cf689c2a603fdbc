"""Account names and SIDs on a lab host: local users, built-in groups, well-known principals and
the simulated domain. Used by win_group_membership and by the facts' local_groups."""

from __future__ import annotations

import re
from typing import Any

WELL_KNOWN = {
    "S-1-1-0": "Everyone", "S-1-5-4": "NT AUTHORITY\\INTERACTIVE", "S-1-5-6": "NT AUTHORITY\\SERVICE",
    "S-1-5-11": "NT AUTHORITY\\Authenticated Users", "S-1-5-18": "NT AUTHORITY\\SYSTEM",
    "S-1-5-19": "NT AUTHORITY\\LOCAL SERVICE", "S-1-5-20": "NT AUTHORITY\\NETWORK SERVICE",
    "S-1-5-32-544": "BUILTIN\\Administrators", "S-1-5-32-545": "BUILTIN\\Users", "S-1-5-32-546": "BUILTIN\\Guests",
    "S-1-5-32-551": "BUILTIN\\Backup Operators", "S-1-5-32-555": "BUILTIN\\Remote Desktop Users",
    "S-1-5-32-580": "BUILTIN\\Remote Management Users",
}
SID_RE = re.compile(r"^S-1-\d+(-\d+)+$", re.IGNORECASE)


class UnknownAccount(LookupError):
    pass


def name_of(state: dict[str, Any], sid: str) -> str:
    """DOMAIN\\name for a SID (the SID itself when nothing resolves it, as Windows shows orphans)."""
    computer = state["os"]["computer_name"]
    for user in state["local_users"]:
        if user["sid"].upper() == sid.upper():
            return f"{computer}\\{user['name']}"
    domain = state["domain"]
    for name, dsid in domain["accounts"].items():
        if dsid.upper() == sid.upper():
            return f"{domain['netbios']}\\{name}"
    return WELL_KNOWN.get(sid.upper(), sid)


def sid_of(state: dict[str, Any], account: str) -> str:
    """Convert-ToSID: a SID string, `.\\name`, `COMPUTER\\name`, `DOMAIN\\name`, `name@domain` or a bare name."""
    text = account.strip()
    if SID_RE.match(text):
        return text.upper()
    computer = state["os"]["computer_name"]
    domain = state["domain"]
    scope, _, name = text.rpartition("\\")
    if "@" in text and not scope:
        name, _, suffix = text.partition("@")
        scope = domain["netbios"] if suffix.lower() in (domain["name"].lower(), domain["netbios"].lower()) else suffix
    local = [u for u in state["local_users"] if u["name"].lower() == name.lower()]
    if scope in ("", ".") or scope.lower() == computer.lower():
        if local:
            return local[0]["sid"]
        if not scope:
            for sid, known in WELL_KNOWN.items():
                if known.split("\\")[-1].lower() == name.lower():
                    return sid
    if (not scope or scope.lower() in (domain["netbios"].lower(), domain["name"].lower())) and domain["joined"]:
        for known, sid in domain["accounts"].items():
            if known.lower() == name.lower():
                return sid
    for sid, known in WELL_KNOWN.items():
        if known.lower() == text.lower():
            return sid
    raise UnknownAccount(f"account_name {account} is not a valid account, cannot get SID: Some or all identity "
                         "references could not be translated.")
