"""`# mtk-applier: defender` (roles/mt_antivirus/files/defender.ps1).

Changes: [{item, before, after, name, value}] for one Set-MpPreference call, and [{item, before,
after, name: ExclusionPath|ExclusionProcess|ExclusionExtension, add, remove}] for Remove-/
Add-MpPreference (case-insensitive). Nothing is compared: every change is carried out.
Set-MpPreference binds strictly: an unknown preference or a string for a switch fails. With tamper
protection on, Windows ignores attempts to turn protection off (the run says changed, nothing
changes; the lab adds a warning). Diff: {item: before} / {item: after}. No Result.
"""

from __future__ import annotations

from typing import Any

from . import ApplierError, Outcome, State, lower_keys, take

# Set-MpPreference's switches as Microsoft documents them (DisableOnAccessProtection is only reported
# by Get-MpPreference: Set-MpPreference has no such parameter).
BOOL = {"DisableRealtimeMonitoring", "DisableBehaviorMonitoring", "DisableIOAVProtection",
        "DisableScriptScanning", "DisableArchiveScanning", "DisableEmailScanning", "DisableRemovableDriveScanning",
        "DisableScanningNetworkFiles", "DisableBlockAtFirstSeen", "DisableCatchupFullScan", "DisableCatchupQuickScan",
        "DisableIntrusionPreventionSystem", "DisablePrivacyMode", "CheckForSignaturesBeforeRunningScan", "UILockdown",
        "ScanOnlyIfIdleEnabled", "MeteredConnectionUpdates", "EnableFileHashComputation", "RandomizeScheduleTaskTimes"}
_DAYS = {"everyday": 0, "sunday": 1, "monday": 2, "tuesday": 3, "wednesday": 4, "thursday": 5, "friday": 6,
         "saturday": 7, "never": 8}
ENUMS = {
    "MAPSReporting": {"disabled": 0, "basic": 1, "advanced": 2},
    "SubmitSamplesConsent": {"alwaysprompt": 0, "sendsafesamples": 1, "neversend": 2, "sendallsamples": 3},
    "PUAProtection": {"disabled": 0, "enabled": 1, "auditmode": 2},
    "EnableNetworkProtection": {"disabled": 0, "enabled": 1, "auditmode": 2},
    "EnableControlledFolderAccess": {"disabled": 0, "enabled": 1, "auditmode": 2},
    "CloudBlockLevel": {"default": 0, "moderate": 1, "high": 2, "highplus": 4, "zerotolerance": 6},
    "ScanParameters": {"quickscan": 1, "fullscan": 2},
    "ScanScheduleDay": _DAYS, "SignatureScheduleDay": _DAYS, "RemediationScheduleDay": _DAYS,
}
NUMBERS = {"CloudExtendedTimeout", "ScanAvgCPULoadFactor", "SignatureUpdateInterval", "QuarantinePurgeItemsAfterDelay",
           "ScanPurgeItemsAfterDelay", "SignatureUpdateCatchupInterval", "SevereThreatDefaultAction",
           "HighThreatDefaultAction", "ModerateThreatDefaultAction", "LowThreatDefaultAction"}
TIMES = {"ScanScheduleTime", "ScanScheduleQuickScanTime", "SignatureScheduleTime", "RemediationScheduleTime"}
TEXT = {"SignatureFallbackOrder", "SignatureDefinitionUpdateFileSharesSources"}
LISTS = {"AttackSurfaceReductionRules_Ids", "AttackSurfaceReductionRules_Actions",
         "ControlledFolderAccessAllowedApplications", "ControlledFolderAccessProtectedFolders"}
EXCLUSIONS = ("ExclusionPath", "ExclusionProcess", "ExclusionExtension")
TAMPER_GUARDED = {"DisableRealtimeMonitoring", "DisableBehaviorMonitoring", "DisableIOAVProtection",
                  "DisableOnAccessProtection", "DisableScriptScanning"}
KNOWN = {k.lower(): k for k in BOOL | set(ENUMS) | NUMBERS | TIMES | TEXT | LISTS | set(EXCLUSIONS)}


def _bind(name: str, value: Any) -> Any:
    """Set-MpPreference's parameter binding; returns what Get-MpPreference will report."""
    where = f"Set-MpPreference : Cannot process argument transformation on parameter '{name}'"
    if name in BOOL:
        if not isinstance(value, bool) and not (isinstance(value, int) and value in (0, 1)):
            raise ApplierError(f"{where}. Boolean parameters accept only Boolean values and numbers, such as "
                               f"$True, $False, 1 or 0. (got {value!r})")
        return bool(value)
    if name in ENUMS:
        if isinstance(value, str) and value.lower() in ENUMS[name]:
            return ENUMS[name][value.lower()]
        if isinstance(value, int) and not isinstance(value, bool) and value in ENUMS[name].values():
            return value
        raise ApplierError(f"{where}. Cannot convert value \"{value}\" (one of {', '.join(ENUMS[name])})")
    if name in NUMBERS:
        if isinstance(value, bool) or not str(value).lstrip("-").isdigit():
            raise ApplierError(f"{where}. Cannot convert value \"{value}\" to type \"System.UInt32\"")
        return int(value)
    if name in TIMES:
        parts = str(value).split(":")
        if not 2 <= len(parts) <= 3 or not all(p.isdigit() for p in parts) or int(parts[0]) > 23 or int(parts[1]) > 59:
            raise ApplierError(f"{where}. Cannot convert value \"{value}\" to type \"System.DateTime\"")
        return f"{int(parts[0]):02d}:{int(parts[1]):02d}:00"
    if name in LISTS:
        return [str(v) for v in (value if isinstance(value, list) else [value])]
    return str(value)


def apply(state: State, params: dict[str, Any], check_mode: bool) -> Outcome:
    p = take(params, "defender", {"Changes": list})
    defender = state["defender"]
    if not defender.get("present"):
        raise ApplierError("Microsoft Defender is not available on this host: The term 'Get-MpPreference' is not "
                           "recognized as the name of a cmdlet")
    prefs = defender["preferences"]
    tamper = bool(defender["status"].get("IsTamperProtected"))
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    warnings: list[str] = []
    to_set: dict[str, Any] = {}
    exclusions: list[dict[str, Any]] = []
    for index, raw in enumerate(p.get("Changes") or []):
        item = lower_keys(raw, f"defender: Changes[{index}]", {"item", "before", "after", "name", "value", "add", "remove"},
                          {"item", "name"})
        before[str(item["item"])], after[str(item["item"])] = item.get("before"), item.get("after")
        if str(item["name"]) in EXCLUSIONS:
            exclusions.append(item)
        else:
            to_set[str(item["name"])] = item.get("value")
    applied = 0
    if to_set:  # one Set-MpPreference @set call: one bad parameter fails all of it
        bound = {}
        for name, want in to_set.items():
            canonical = KNOWN.get(name.lower())
            if canonical is None:
                raise ApplierError(f"Set-MpPreference : A parameter cannot be found that matches parameter name "
                                   f"'{name}'.")
            bound[canonical] = _bind(canonical, want)
        for name, value in bound.items():
            if tamper and name in TAMPER_GUARDED and value is True:
                warnings.append(f"tamper protection is on: Windows ignored Set-MpPreference -{name} $true")
                continue
            applied += prefs.get(name) != value
            prefs[name] = value
    for item in exclusions:
        name = str(item["name"])
        remove = {str(r).casefold() for r in item.get("remove") or []}
        have = [str(h) for h in prefs.get(name) or [] if h and str(h).casefold() not in remove]
        folded = {h.casefold() for h in have}
        prefs[name] = have + [a for a in dict.fromkeys(str(a) for a in item.get("add") or []) if a.casefold() not in folded]
        applied += len(item.get("add") or []) + len(remove)
    return Outcome(changed=bool(after), applied=applied, before=before, after=after, result={}, warnings=warnings)
