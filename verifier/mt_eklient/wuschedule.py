"""Automatic Updates' scheduled install (AUOptions 4) inside the profile's maintenance window.

ScheduledInstallDay is one day (0 every day, 1 Sunday ... 7 Saturday) and ScheduledInstallTime one
hour (0-23) (Policy CSP Update/ScheduledInstallDay, Update/ScheduledInstallTime). Without them
Windows installs on its own schedule (every day, 03:00), outside the agreed window. A window of
several days installs on its first day, at the first full hour inside it.
"""

from __future__ import annotations

from .profile import MaintenanceWindow

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
