"""`# mtk-applier: security_policy` (roles/mt_policies/files/security_policy.ps1).

Changes: [{item, before, after, section, key, value}]: every change goes, formatted as the script
does (bool 1/0, lists comma-joined), into one `secedit /configure` run; nothing is compared. secedit
resolves names to SIDs, ignores keys it does not know (the lab warns) and refuses a
ResetLockoutCount above LockoutDuration or a MinimumPasswordLength over 14 (128 with
RelaxMinimumPasswordLengthLimits). Diff: {item: before} / {item: after}. No Result.
"""

from __future__ import annotations

import re
from typing import Any

from ..accounts import UnknownAccount, sid_of
from ..registry import Registry
from . import ApplierError, Outcome, State, lower_keys, take

SYSTEM_ACCESS = {
    "MinimumPasswordAge", "MaximumPasswordAge", "MinimumPasswordLength", "PasswordComplexity", "PasswordHistorySize",
    "LockoutBadCount", "ResetLockoutCount", "LockoutDuration", "RequireLogonToChangePassword",
    "ForceLogoffWhenHourExpire", "ClearTextPassword", "LSAAnonymousNameLookup", "EnableAdminAccount",
    "EnableGuestAccount", "NewAdministratorName", "NewGuestName",
}
TEXT_KEYS = {"NewAdministratorName", "NewGuestName"}
EVENT_AUDIT = {"AuditSystemEvents", "AuditLogonEvents", "AuditObjectAccess", "AuditPrivilegeUse", "AuditPolicyChange",
               "AuditAccountManage", "AuditProcessTracking", "AuditDSAccess", "AuditAccountLogon"}
RIGHT_RE = re.compile(r"^Se[A-Za-z]+(Right|Privilege)$")
SAM_KEY = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\SAM"


def want_text(value: Any) -> str:
    """Format-MtkValue."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ",".join("" if v is None else str(v) for v in value)
    return "" if value is None else str(value)


def _known(section: str, key: str) -> bool:
    if section == "System Access":
        return key in SYSTEM_ACCESS
    if section == "Event Audit":
        return key in EVENT_AUDIT
    if section == "Privilege Rights":
        return bool(RIGHT_RE.match(key))
    return False


def _stored(state: State, section: str, key: str, text: str) -> Any:
    """What secedit /configure stores for one INF line."""
    if section == "Privilege Rights":
        sids = []
        for part in (p.strip() for p in text.split(",") if p.strip()):
            try:
                sids.append("*" + sid_of(state, part.removeprefix("*")))
            except UnknownAccount:
                raise ApplierError(f"secedit /configure failed with exit code 1 (No mapping between account names "
                                   f"and security IDs was done: {part})") from None
        return sorted(set(sids)) or None
    if key in TEXT_KEYS:
        return text.strip('"')
    if not re.fullmatch(r"-?\d+", text):
        raise ApplierError(f"secedit /configure failed with exit code 1 ([{section}] {key} = {text} is not a number)")
    return int(text)


def _check(state: State, access: dict[str, Any]) -> None:
    relax = Registry(state["registry"]).get(SAM_KEY, "RelaxMinimumPasswordLengthLimits")
    limit = 128 if relax and relax["value"] == 1 else 14
    if not 0 <= int(access.get("MinimumPasswordLength", 0)) <= limit:
        raise ApplierError(f"secedit /configure failed with exit code 1 (MinimumPasswordLength must be 0-{limit})")
    duration, reset = access.get("LockoutDuration"), access.get("ResetLockoutCount")
    if access.get("LockoutBadCount", 0) and duration not in (None, -1, 0) and reset is not None and reset > duration:
        raise ApplierError("secedit /configure failed with exit code 1 (The parameter is incorrect: "
                           f"ResetLockoutCount {reset} exceeds LockoutDuration {duration})")


def _sync_accounts(state: State, access: dict[str, Any]) -> None:
    """secedit renames and enables the built-in Administrator/Guest."""
    for rid, name_key, enable_key in (("-500", "NewAdministratorName", "EnableAdminAccount"),
                                      ("-501", "NewGuestName", "EnableGuestAccount")):
        for user in state["local_users"]:
            if user["sid"] == state["machine_sid"] + rid:
                user["name"] = access.get(name_key, user["name"])
                user["enabled"] = bool(access.get(enable_key, int(user["enabled"])))


def apply(state: State, params: dict[str, Any], check_mode: bool) -> Outcome:
    p = take(params, "security_policy", {"Changes": list})
    policy = state["security_policy"]
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    warnings = []
    applied = 0
    for index, raw in enumerate(p.get("Changes") or []):  # one secedit /configure run
        item = lower_keys(raw, f"security_policy: Changes[{index}]",
                          {"item", "before", "after", "section", "key", "value"}, {"item", "section", "key"})
        section, key = str(item["section"]), str(item["key"])
        before[str(item["item"])], after[str(item["item"])] = item.get("before"), item.get("after")
        if not _known(section, key):
            warnings.append(f"secedit ignores [{section}] {key}: not a setting it knows")
            continue
        value = _stored(state, section, key, want_text(item.get("value")))
        target = policy.setdefault(section, {})
        applied += target.get(key) != value
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    _check(state, policy["System Access"])
    _sync_accounts(state, policy["System Access"])
    return Outcome(changed=bool(after), applied=applied, before=before, after=after, result={},
                   warnings=warnings)
