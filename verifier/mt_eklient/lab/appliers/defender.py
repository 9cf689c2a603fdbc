"""`# mtk-applier: defender` (roles/mt_antivirus/files/defender.ps1).

Preferences: {name: value} for Set-MpPreference, compared as the script formats them (bool
true/false, times HH:mm, lists sorted and ';'-joined, everything else lower-case text) - so a value
given as an enum name ("Enabled") where Get-MpPreference reports a number differs on every run, as
on Windows. Exclusions: {ExclusionPath, ExclusionProcess, ExclusionExtension}: each list given is
made exact (Remove-/Add-MpPreference, case-insensitive), a list not given is left alone.
Set-MpPreference binds strictly: an unknown preference or a string for a switch fails. With tamper
protection on, Windows ignores attempts to turn protection off (the run says changed, nothing
changes; the lab adds a warning). Diff: {name: formatted}. No Result.
"""

from __future__ import annotations

from typing import Any

from . import ApplierError, Outcome, State, take

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


def fmt(value: Any, name: str = "") -> str:
    """Format-MtkPreference."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if name in TIMES and isinstance(value, str) and value.count(":") == 2:  # a TimeSpan: HH:mm
        return value[:5]
    if isinstance(value, list):
        return ";".join(sorted(str(v) for v in value))
    return str(value).lower()


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
    p = take(params, "defender", {"Preferences": dict, "Exclusions": dict})
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
    for name, want in (p.get("Preferences") or {}).items():
        current = prefs.get(KNOWN.get(str(name).lower(), str(name)))
        if fmt(current, str(name)) == fmt(want, str(name)):
            continue
        to_set[str(name)] = want
        before[str(name)], after[str(name)] = fmt(current, str(name)), fmt(want, str(name))
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
    for name, wanted in (p.get("Exclusions") or {}).items():
        if name not in EXCLUSIONS:
            raise ApplierError(f"unknown exclusion list '{name}'")
        want = [str(w) for w in (wanted if isinstance(wanted, list) else [wanted])]
        have = [str(h) for h in prefs.get(name) or [] if h]
        folded_want, folded_have = {w.casefold() for w in want}, {h.casefold() for h in have}
        add = [w for w in want if w.casefold() not in folded_have]
        remove = [h for h in have if h.casefold() not in folded_want]
        if not (add or remove):
            continue
        before[name], after[name] = sorted(have), sorted(want)
        prefs[name] = [h for h in have if h not in remove] + list(dict.fromkeys(add))
        applied += len(add) + len(remove)
    changed = bool(before)
    return Outcome(changed=changed, applied=applied, before=before, after=after, result={}, warnings=warnings)
