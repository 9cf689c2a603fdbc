"""Automatic Updates' scheduled install (AUOptions 4) inside the profile's maintenance window.

ScheduledInstallDay is one day (0 every day, 1 Sunday ... 7 Saturday) and ScheduledInstallTime one
hour (0-23) (Policy CSP Update/ScheduledInstallDay, Update/ScheduledInstallTime). Without them
Windows installs on its own schedule (every day, 03:00), outside the agreed window. A window of
several days installs on its first day, at the first full hour inside it.
"""

from __future__ import annotations

from .profile import MaintenanceWindow, Patching

AU_DAY = {"sunday": 1, "monday": 2, "tuesday": 3, "wednesday": 4, "thursday": 5, "friday": 6, "saturday": 7}


def install_day(window: MaintenanceWindow | None) -> int | None:
    if window is None:
        return None
    days = set(window.days)
    if days == set(AU_DAY):
        return 0
    return min(AU_DAY[d] for d in days)


def install_hour(window: MaintenanceWindow | None) -> int | None:
    """The window's first full hour; None when the window holds none (a 1-hour window at hh:30)."""
    if window is None:
        return None
    hour, minute = (int(part) for part in window.start.split(":"))
    first = hour if minute == 0 else hour + 1
    if first - hour >= window.duration_hours:
        return None
    return first % 24


# Windows' longest deferral of quality updates (Policy CSP Update/DeferQualityUpdatesPeriodInDays: 0-30).
MAX_QUALITY_DEFERRAL = 30
_WEEK = 7


def working_days_as_calendar_days(working_days: int) -> int:
    """The calendar days that hold `working_days` working days (Monday to Friday) after a release,
    whatever weekday the release falls on: the longest, so an update is never installed before the
    manufacturer's working days have passed. Patch Tuesday or an out-of-band Friday release, 5
    working days are 7 calendar days. Public holidays are not counted: add them to the profile's
    number if the manufacturer counts them."""
    longest = 0
    for release in range(_WEEK):  # 0 Monday ... 6 Sunday
        day, counted = release, 0
        while counted < working_days:
            day += 1
            counted += day % _WEEK < 5
        longest = max(longest, day - release)
    return longest


def quality_deferral_days(patching: Patching) -> int:
    """The deferral in calendar days, as Windows and WSUS count it."""
    if patching.defer_working_days:
        return working_days_as_calendar_days(patching.defer_working_days)
    return patching.defer_days


# WSUS's names of the classifications a profile may list (Update Services console, "Classifications").
CLASSIFICATION_NAMES = {
    "security": "Security Updates", "critical": "Critical Updates", "definition": "Definition Updates",
    "updates": "Updates", "update_rollups": "Update Rollups", "feature_packs": "Feature Packs",
    "service_packs": "Service Packs", "tools": "Tools", "drivers": "Drivers", "upgrades": "Upgrades",
}


def patching_notes(patching: Patching) -> list[str]:
    """The patch rules that no client setting holds, as sentences for `profile show` and the reports.

    With WSUS, the deferral and the classifications are the site's WSUS approval rule for the
    client's target group (the client only asks WSUS; a client-side deferral would make it scan
    Windows Update, PATCH-WSUS-NO-CLIENT-DEFERRAL). Without WSUS the build writes the deferral
    (PATCH-DEFER-DAYS) and Windows Update cannot be limited to classifications."""
    days = quality_deferral_days(patching) if patching.policy == "deferred" else 0
    working = f" ({patching.defer_working_days} working days)" if patching.defer_working_days and days else ""
    classes = ", ".join(CLASSIFICATION_NAMES[c] for c in patching.classifications or [])
    if patching.wsus is not None and patching.policy == "vendor_approved":
        # WSUS approves the manufacturer's list (approved_kbs), whatever its classification.
        return [(f"patching: the manufacturer allows only {classes}; WSUS approves the updates on its list "
                 "(approved_kbs)")] if classes else []
    if patching.wsus is not None and patching.policy in ("automatic", "deferred"):
        if not (days or classes):
            return []  # the site's own approval rule: the manufacturer asks nothing of it
        group = f"target group {patching.wsus.target_group}" if patching.wsus.target_group else "the client's group"
        when = f"{days} days after release{working}" if days else "on release"
        return [f"patching: the WSUS approval rule for {group} approves {classes or 'every classification'} {when}"]
    notes = []
    if working:
        notes.append(f"patching: updates wait {patching.defer_working_days} working days after release, set as "
                     f"{days} calendar days (Windows counts calendar days; public holidays are not counted)")
    if classes:
        notes.append(f"patching: the manufacturer allows only {classes}; without WSUS nothing on the client limits "
                     "the classifications Windows Update installs")
    return notes
