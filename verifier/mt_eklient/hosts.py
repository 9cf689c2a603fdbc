"""From inventory host variables to a resolved baseline: the entry point the build (lookup
plugin), the fleet scan and the lab share."""

from __future__ import annotations

import ipaddress
from datetime import date
from pathlib import Path
from typing import Any

from .catalog import Catalog, load_catalog
from .classification import MtClass
from .errors import InputError, Problem
from .profile import LoadedProfile, load_profile
from .resolve import Baseline, HostContext, resolve

DEFAULT_PROFILES_DIR = Path(__file__).resolve().parents[2] / "profiles"


def catalog_problems(loaded: LoadedProfile, catalog: Catalog) -> list[Problem]:
    """Profile references to controls the catalog does not have."""
    ids = catalog.ids()
    doc = loaded.document
    problems = []
    for index, waiver in enumerate(loaded.profile.waivers):
        if waiver.control not in ids:
            problems.append(doc.problem(("waivers", index, "control"), f"unknown control {waiver.control!r}"))
    for index, control_id in enumerate(loaded.profile.antivirus.compensating_controls):
        if control_id not in ids:
            problems.append(doc.problem(("antivirus", "compensating_controls", index),
                                        f"unknown control {control_id!r}"))
    return problems


def load_checked_profile(path: str | Path, catalog: Catalog | None = None) -> LoadedProfile:
    loaded = load_profile(path)
    problems = catalog_problems(loaded, catalog or load_catalog())
    if problems:
        raise InputError(problems)
    return loaded


def find_profile(profile_id: str, profiles_dir: str | Path | None = None, source: str = "inventory") -> Path:
    directory = Path(profiles_dir) if profiles_dir else DEFAULT_PROFILES_DIR
    path = directory / f"{profile_id}.yml"
    if not path.is_file():
        raise InputError.single(source, f"no profile {profile_id!r} in {directory}", field="mt_profile")
    return path


def host_context(name: str, hostvars: dict[str, Any], source: str = "inventory") -> HostContext:
    """Validate the mt_* host variables of one host."""
    where = f"{source} ({name})"
    problems: list[Problem] = []
    declared = None
    raw_class = hostvars.get("mt_class")
    if raw_class is None:
        problems.append(Problem(where, None, "mt_class", "required (e.g. WM1)"))
    else:
        try:
            declared = MtClass.parse(str(raw_class))
        except ValueError as err:
            problems.append(Problem(where, None, "mt_class", str(err)))
    zones = hostvars.get("mt_zones") or {}
    if not isinstance(zones, dict):
        problems.append(Problem(where, None, "mt_zones", "must be a mapping of zone name to addresses"))
        zones = {}
    clean_zones: dict[str, list[str]] = {}
    for zone, entries in zones.items():
        if not isinstance(entries, list):
            problems.append(Problem(where, None, f"mt_zones.{zone}", "must be a list of addresses"))
            continue
        for index, entry in enumerate(entries):
            try:
                ipaddress.ip_network(str(entry), strict=True)
            except ValueError:
                problems.append(Problem(where, None, f"mt_zones.{zone}[{index}]", f"invalid IP address or CIDR {entry!r}"))
        clean_zones[str(zone)] = [str(e) for e in entries]
    target_group = hostvars.get("mt_wsus_target_group")
    if problems:
        raise InputError(problems)
    return HostContext(name=name, declared_class=declared, zones=clean_zones,
                       wsus_target_group=str(target_group) if target_group else None)


def resolve_host(name: str, hostvars: dict[str, Any], today: date, profiles_dir: str | Path | None = None,
                 catalog: Catalog | None = None, source: str = "inventory") -> tuple[LoadedProfile, Baseline]:
    profile_id = hostvars.get("mt_profile")
    if not profile_id:
        raise InputError.single(f"{source} ({name})", "required: the id of a profile in profiles/", field="mt_profile")
    catalog = catalog or load_catalog()
    context = host_context(name, hostvars, source)
    loaded = load_checked_profile(find_profile(str(profile_id), profiles_dir, f"{source} ({name})"), catalog)
    if loaded.profile.id != profile_id:
        raise InputError.single(loaded.source, f"file declares id {loaded.profile.id!r}, inventory asks for {profile_id!r}",
                                field="id")
    unknown_zones = set(context.zones) - set(loaded.profile.network.zones)
    if unknown_zones:
        raise InputError.single(f"{source} ({name})", f"zone(s) {sorted(unknown_zones)} not in profile {profile_id}",
                                field="mt_zones")
    return loaded, resolve(catalog, loaded, context, today)
