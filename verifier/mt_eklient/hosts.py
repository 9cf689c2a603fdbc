"""From inventory host variables to a resolved baseline: the entry point the build (lookup
plugin), the fleet scan and the lab share."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from . import floor
from .catalog import Catalog, load_catalog
from .classification import MtClass
from .errors import InputError, Problem
from .profile import PROFILE_ID_PATTERN, LoadedProfile, load_profile
from .resolve import Baseline, HostContext, profile_value, resolve
from .site import LoadedSite, effective_profile, load_site
from .sitefiles import SITE_ID_PATTERN, find_site
from .yamlsource import find_by_id

DEFAULT_PROFILES_DIR = Path(__file__).resolve().parents[2] / "profiles"


def catalog_problems(loaded: LoadedProfile, catalog: Catalog, today: date | None = None) -> list[Problem]:
    """Profile references to controls the catalog does not have, and what the safety floor forbids."""
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
    return problems + floor.floor_problems(loaded, lambda dotted: profile_value(loaded.profile, dotted),
                                           today or date.today())


def load_checked_profile(path: str | Path, catalog: Catalog | None = None, today: date | None = None) -> LoadedProfile:
    loaded = load_profile(path)
    problems = catalog_problems(loaded, catalog or load_catalog(), today)
    if problems:
        raise InputError(problems)
    return loaded


def find_profile(profile_id: str, profiles_dir: str | Path | None = None, source: str = "inventory") -> Path:
    return find_by_id(profile_id, Path(profiles_dir) if profiles_dir else DEFAULT_PROFILES_DIR, PROFILE_ID_PATTERN,
                      "profile", "mt_profile", source)


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
    site_id = hostvars.get("mt_site")
    if site_id is not None and not (isinstance(site_id, str) and re.fullmatch(SITE_ID_PATTERN, site_id)):
        problems.append(Problem(where, None, "mt_site", f"{site_id!r} is not a site id (the name of a file in sites/, "
                                "without .yml)"))
    if problems:
        raise InputError(problems)
    return HostContext(name=name, declared_class=declared, zones=clean_zones,
                       wsus_target_group=str(target_group) if target_group else None,
                       site_id=site_id or None)


class HostResolver:
    """Resolves hosts' baselines, loading and checking each profile once: a fleet has many hosts per
    profile, and loading a profile costs more than resolving it."""

    def __init__(self, today: date, profiles_dir: str | Path | None = None, catalog: Catalog | None = None,
                 source: str = "inventory", sites_dir: str | Path | None = None):
        self.today = today
        self.profiles_dir = profiles_dir
        self.sites_dir = sites_dir
        self._sites: dict[str, LoadedSite | InputError] = {}
        self._effective: dict[tuple[str, str | None], LoadedProfile] = {}
        self.catalog = catalog or load_catalog()
        self.source = source
        self._profiles: dict[str, LoadedProfile | InputError] = {}
        # Hosts that differ only in name share one resolution: a fleet has a few profiles, classes
        # and sites, but thousands of hosts. The host name enters the baseline only as its `host`.
        self._baselines: dict[tuple[str, str], Baseline] = {}

    def _profile(self, profile_id: str, where: str) -> LoadedProfile:
        return self._once(self._profiles, profile_id, where, lambda: load_checked_profile(
            find_profile(profile_id, self.profiles_dir, where), self.catalog, self.today))

    def _site(self, site_id: str, where: str) -> LoadedSite:
        return self._once(self._sites, site_id, where, lambda: load_site(find_site(site_id, self.sites_dir, where)))

    def _once(self, store: dict[str, Any], key: str, where: str, load: Callable[[], Any]) -> Any:
        """Load each profile or site once per run, its error included."""
        if key not in store:
            try:
                store[key] = load()
            except InputError as err:
                store[key] = err
        cached = store[key]
        if isinstance(cached, InputError):
            # A missing file is reported against the host that asked for it; problems inside the
            # file name the file.
            raise InputError([Problem(where if p.file.startswith(f"{self.source} (") else p.file,
                                      p.line, p.field, p.message) for p in cached.problems])
        return cached

    def context(self, name: str, hostvars: dict[str, Any]) -> HostContext:
        """The host's context with its site (mt_site) loaded, once per site."""
        context = host_context(name, hostvars, self.source)
        if context.site_id:
            context = replace(context, site=self._site(context.site_id, f"{self.source} ({name})"))
        return context

    def __call__(self, name: str, hostvars: dict[str, Any]) -> tuple[LoadedProfile, Baseline]:
        where = f"{self.source} ({name})"
        profile_id = hostvars.get("mt_profile")
        if not profile_id:
            raise InputError.single(where, "required: the id of a profile in profiles/", field="mt_profile")
        context = self.context(name, hostvars)
        loaded = self._profile(str(profile_id), where)
        if loaded.profile.id != profile_id:
            raise InputError.single(loaded.source, f"file declares id {loaded.profile.id!r}, inventory asks for "
                                    f"{profile_id!r}", field="id")
        site = context.site
        key_site = (str(profile_id), context.site_id)
        if key_site not in self._effective:
            # A gap names the host; every host with this profile and site has the same one.
            self._effective[key_site] = effective_profile(loaded, site, where).loaded
        loaded = self._effective[key_site]
        unknown_zones = set(context.zones) - set(loaded.profile.network.zones)
        if unknown_zones:
            raise InputError.single(where, f"zone(s) {sorted(unknown_zones)} not in profile {profile_id}",
                                    field="mt_zones")
        zone_problems = floor.zone_problems(loaded.profile, context.zones, where)
        if zone_problems:
            raise InputError(zone_problems)
        key = (str(profile_id), repr(replace(context, name="")))  # every field but the name
        baseline = self._baselines.get(key)
        if baseline is None:
            baseline = self._baselines[key] = resolve(self.catalog, loaded, context, self.today)
        return loaded, replace(baseline, host=name)


def resolve_host(name: str, hostvars: dict[str, Any], today: date, profiles_dir: str | Path | None = None,
                 catalog: Catalog | None = None, source: str = "inventory",
                 sites_dir: str | Path | None = None) -> tuple[LoadedProfile, Baseline]:
    """One host's profile (with its site's values) and baseline (see HostResolver to resolve many)."""
    return HostResolver(today, profiles_dir, catalog, source, sites_dir)(name, hostvars)
