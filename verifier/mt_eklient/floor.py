"""The safety floor: what no device profile, waiver or site setting can lower (catalog/floor.yml).

- `mandatory`: per class and situation, controls that cannot be waived; in the situation "antivirus
  not permitted" they are also compensating controls, added to the profile's own list.
- `max_waiver_days`: the longest a waiver or floor exception may run from the profile's approval.
- `dangerous`: settings that hollow out an enforced control (an AppLocker allow-all rule, a Defender
  exclusion of C:\\ or powershell.exe, an any-address management zone). Validation fails, unless the
  rule allows an exception and the profile carries a matching, owned, unexpired `floor_exceptions`
  entry, which then appears in every report.

`floor_problems` is what `load_checked_profile` adds to a profile's validation; `resolve()` applies
`mandatory_controls` again, so an unvalidated profile still cannot waive a floor control.
"""

from __future__ import annotations

import ipaddress
import ntpath
import os
import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .catalog import AppliesTo, Catalog, Condition
from .datacache import cached, classes_of
from .errors import InputError, Problem
from .profile import LoadedProfile, Profile
from .yamlsource import load_yaml

# A site may shorten the floor's waiver limit, never lengthen it (issue 11 adds a site configuration).
MAX_WAIVER_DAYS_ENV = "MTK_MAX_WAIVER_DAYS"

ValueOf = Callable[[str], Any]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class MandatorySet(_Model):
    situation: str
    applies_to: AppliesTo = AppliesTo.model_construct()
    when: list[Condition] = []
    controls: list[str] = Field(min_length=1)
    compensating: bool = False
    requires: list[Condition] = []
    rationale: str

    def holds(self, profile: Profile, value_of: ValueOf) -> bool:
        cls = profile.classification
        return (cls.type in self.applies_to.types and cls.group in self.applies_to.groups
                and all(c.holds(value_of(c.profile)) for c in self.when))


Target = Literal["applocker_allow_path", "applocker_allow_publisher", "defender_path", "defender_process_or_path",
                 "defender_extension", "management_zone"]


class DangerRule(_Model):
    id: str = Field(pattern=r"^DC(-[A-Z0-9]+)+$")
    title: str
    target: Target
    exception: Literal["never", "allowed"]
    patterns: list[str] = []
    min_prefix: dict[Literal["ipv4", "ipv6"], int] = {}
    rationale: str

    def matches(self, normalised: str) -> bool:
        if self.target == "management_zone":
            network = ipaddress.ip_network(normalised, strict=False)
            return network.prefixlen < self.min_prefix.get(f"ipv{network.version}", 0)
        return any(re.search(p, normalised) for p in self.patterns)


class Floor(_Model):
    max_waiver_days: int = Field(ge=1, le=3650)
    mandatory: list[MandatorySet]
    dangerous: list[DangerRule]


def floor_path() -> Path:
    return Path(__file__).parent / "catalog" / "floor.yml"  # as catalog.load_catalog


@cache
def load_floor() -> Floor:
    path = floor_path()
    allowed = classes_of(__name__, "Floor", "MandatorySet", "DangerRule") | classes_of(
        "mt_eklient.catalog", "AppliesTo", "Condition")
    return cached("floor", [path], lambda: _parse_floor(path), allowed, Floor)


def _parse_floor(path: Path) -> Floor:
    doc = load_yaml(path)
    try:
        return Floor.model_validate(doc.data)
    except ValidationError as err:
        raise InputError([doc.problem(tuple(p for p in e["loc"] if isinstance(p, str | int)), e["msg"])
                          for e in err.errors()]) from None


def catalog_reference_problems(floor: Floor, catalog: Catalog) -> list[str]:
    """Floor entries that name controls the catalog does not have (a catalog bug)."""
    ids = catalog.ids()
    return [f"floor situation {m.situation!r}: unknown control {c}" for m in floor.mandatory for c in m.controls
            if c not in ids]


def max_waiver_days(floor: Floor | None = None) -> int:
    """The floor's limit, or the site's shorter one (MTK_MAX_WAIVER_DAYS); InputError if the site's is bad."""
    limit = (floor or load_floor()).max_waiver_days
    raw = os.environ.get(MAX_WAIVER_DAYS_ENV)
    if raw is None or raw == "":
        return limit
    if not raw.isdigit() or not 1 <= int(raw) <= limit:
        raise InputError.single(MAX_WAIVER_DAYS_ENV, f"must be a number of days from 1 to {limit} (the floor's "
                                f"limit), not {raw!r}")
    return int(raw)


def mandatory_controls(profile: Profile, value_of: ValueOf, floor: Floor | None = None) -> dict[str, str]:
    """{control id: why it cannot be waived} for this profile: the floor's, then the profile's own
    compensating controls when antivirus is not permitted."""
    out: dict[str, str] = {}
    for entry in (floor or load_floor()).mandatory:
        if entry.holds(profile, value_of):
            for control in entry.controls:
                out.setdefault(control, f"safety floor: {entry.situation}")
    if not profile.antivirus.permitted:
        for control in profile.antivirus.compensating_controls:
            out.setdefault(control, "compensating control for the missing antivirus")
    return out


# ---------------------------------------------------------------------------------------------
# Dangerous constructs

_ENV = {
    "%SYSTEMDRIVE%": "C:", "%PROGRAMDATA%": r"C:\PROGRAMDATA", "%ALLUSERSPROFILE%": r"C:\PROGRAMDATA",
    "%WINDIR%": r"C:\WINDOWS", "%SYSTEMROOT%": r"C:\WINDOWS", "%PROGRAMFILES%": r"C:\PROGRAM FILES",
    "%PROGRAMFILES(X86)%": r"C:\PROGRAM FILES (X86)", "%PROGRAMW6432%": r"C:\PROGRAM FILES",
    "%PUBLIC%": r"C:\USERS\PUBLIC", "%TMP%": "%TEMP%", "%APPDATA%": r"%USERPROFILE%\APPDATA\ROAMING",
    "%LOCALAPPDATA%": r"%USERPROFILE%\APPDATA\LOCAL", "%HOMEDRIVE%": "C:",
}
_ENV_RE = re.compile("|".join(re.escape(k) for k in sorted(_ENV, key=len, reverse=True)))


def normalise_path(text: str, expand: bool = True) -> str:
    """Upper case, backslashes, `\\\\?\\` and trailing `\\*`/`\\` removed, `..` resolved and (for
    Defender) the environment variables Windows would expand made literal."""
    value = text.strip().strip("\"'").upper().replace("/", "\\")
    for prefix in ("\\\\?\\UNC\\", "\\\\?\\", "\\\\.\\"):
        if value.startswith(prefix):
            value = ("\\\\" if prefix.endswith("UNC\\") else "") + value[len(prefix):]
    if expand:
        value = _ENV_RE.sub(lambda m: _ENV[m.group()], value)
    if len(value) > 1:
        value = ntpath.normpath(value)
    while value.endswith(("\\*", "\\", "\\*.*")) and len(value) > 1:
        value = value.removesuffix("\\*.*").removesuffix("\\*").rstrip("\\") or value[:1]
    return value


def _extension(text: str) -> str:
    return text.strip().lstrip("*").lstrip(".").upper()


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    rule: DangerRule
    path: tuple[str | int, ...]  # where in the profile
    value: str


def _candidates(profile: Profile, zones: dict[str, list[str]]) -> Iterator[tuple[Target, tuple[str | int, ...],
                                                                                  str, str]]:
    """(target, path, value as written, normalised value) of every setting a rule may judge."""
    for index, rule in enumerate(profile.whitelisting.extra_rules):
        if rule.action == "allow" and rule.kind in ("path", "publisher"):
            where = ("whitelisting", "extra_rules", index, "value")
            yield (f"applocker_allow_{rule.kind}", where, rule.value,  # type: ignore[misc]
                   normalise_path(rule.value, expand=False) if rule.kind == "path" else rule.value.strip().upper())
    exclusions = profile.antivirus.exclusions
    for index, path in enumerate(exclusions.paths):
        where = ("antivirus", "exclusions", "paths", index)
        yield "defender_path", where, path, normalise_path(path)
        yield "defender_process_or_path", where, path, normalise_path(path)
    for index, path in enumerate(exclusions.processes):
        yield "defender_process_or_path", ("antivirus", "exclusions", "processes", index), path, normalise_path(path)
    for index, ext in enumerate(exclusions.extensions):
        yield "defender_extension", ("antivirus", "exclusions", "extensions", index), ext, _extension(ext)
    zone = profile.network.management_zone
    for index, address in enumerate(zones.get(zone, [])):
        try:
            ipaddress.ip_network(address, strict=False)
        except ValueError:
            continue  # reported as an invalid address elsewhere
        yield "management_zone", ("network", "zones", zone, index), address, address


def dangerous_settings(profile: Profile, zones: dict[str, list[str]] | None = None,
                       floor: Floor | None = None) -> list[Finding]:
    """Every dangerous construct in the profile (zones: the host's, else the profile's); a setting
    caught by a never-rule is not reported again by an exceptable one."""
    rules = sorted((floor or load_floor()).dangerous, key=lambda r: r.exception != "never")
    found: dict[tuple[str | int, ...], Finding] = {}
    for target, path, value, normalised in _candidates(profile, zones if zones is not None else profile.network.zones):
        rule = next((r for r in rules if r.target == target and r.matches(normalised)), None)
        if rule is not None and (path not in found or rule.exception == "never"):
            found[path] = Finding(rule=rule, path=path, value=value)
    return list(found.values())


def active_exceptions(profile: Profile, today: date) -> list[dict[str, Any]]:
    """The profile's floor exceptions as reports show them (valid ones; invalid ones fail validation)."""
    return [{"rule": e.rule, "value": e.value, "reason": e.reason, "owner": e.owner,
             "expires": e.expires.isoformat(), "expired": e.expires < today} for e in profile.floor_exceptions]


# ---------------------------------------------------------------------------------------------
# Validation


def floor_problems(loaded: LoadedProfile, value_of: ValueOf, today: date,
                   floor: Floor | None = None) -> list[Problem]:
    """What the floor forbids in this profile, one Problem per setting (file, line, field)."""
    floor = floor or load_floor()
    profile, doc = loaded.profile, loaded.document
    problems: list[Problem] = []
    limit = max_waiver_days(floor)
    approved = waiver_start(profile, today)
    mandatory = mandatory_controls(profile, value_of, floor)

    for entry in floor.mandatory:
        if entry.holds(profile, value_of):
            for condition in entry.requires:
                if not condition.holds(value_of(condition.profile)):
                    problems.append(doc.problem(tuple(condition.profile.split(".")),
                                                f"{entry.situation}: the safety floor requires {condition.describe()}"))
    for index, waiver in enumerate(profile.waivers):
        if waiver.control in mandatory:
            problems.append(doc.problem(("waivers", index, "control"),
                                        f"{waiver.control} cannot be waived ({mandatory[waiver.control]})"))
        if waiver.expires > approved + timedelta(days=limit):
            problems.append(doc.problem(("waivers", index, "expires"), _too_long(waiver.expires, approved, limit)))

    findings = dangerous_settings(profile, floor=floor)
    exceptions = {(e.rule, e.value): (i, e) for i, e in enumerate(profile.floor_exceptions)}
    used: set[int] = set()
    for finding in findings:
        rule = finding.rule
        match = exceptions.get((rule.id, finding.value))
        if rule.exception == "never":
            problems.append(doc.problem(finding.path, f"{rule.id}: {rule.title} ({finding.value!r}); no exception "
                                        "is possible"))
        elif match is None:
            problems.append(doc.problem(finding.path, f"{rule.id}: {rule.title} ({finding.value!r}); only with a "
                                        f"floor_exceptions entry (rule {rule.id}, value {finding.value!r}, reason, "
                                        "owner, expires)"))
        else:
            used.add(match[0])
    known = {r.id: r for r in floor.dangerous}
    for index, exception in enumerate(profile.floor_exceptions):
        where = ("floor_exceptions", index)
        rule = known.get(exception.rule)
        if rule is None:
            problems.append(doc.problem((*where, "rule"), f"unknown floor rule {exception.rule!r}; known: "
                                        f"{', '.join(sorted(known))}"))
        elif rule.exception == "never":
            problems.append(doc.problem((*where, "rule"), f"{rule.id} allows no exception"))
        elif index not in used:
            problems.append(doc.problem((*where, "value"), f"no setting of the profile is {exception.value!r} under "
                                        f"{rule.id}: remove the exception"))
        if exception.expires < today:
            problems.append(doc.problem((*where, "expires"), f"the exception expired on {exception.expires}: renew "
                                        "it (with a new approval) or remove the setting"))
        if exception.expires > approved + timedelta(days=limit):
            problems.append(doc.problem((*where, "expires"), _too_long(exception.expires, approved, limit)))
    return problems


def waiver_start(profile: Profile, today: date) -> date:
    """Where waiver and exception lengths count from: the approval, or today for a draft."""
    return profile.governance.approved_date or today


def _too_long(expires: date, start: date, limit: int) -> str:
    return (f"runs {(expires - start).days} days from the approval ({start}); the safety floor allows at "
            f"most {limit} ({MAX_WAIVER_DAYS_ENV} may shorten it)")


def zone_problems(profile: Profile, zones: dict[str, list[str]], where: str,
                  floor: Floor | None = None) -> list[Problem]:
    """The management-zone rule for a host's own zones (inventory mt_zones replace the profile's)."""
    merged = {**profile.network.zones, **zones}
    return [Problem(where, None, f"mt_zones.{finding.path[2]}[{finding.path[3]}]",
                    f"{finding.rule.id}: {finding.rule.title} ({finding.value!r}); no exception is possible")
            for finding in dangerous_settings(profile, merged, floor)
            if finding.rule.target == "management_zone" and finding.path[2] in zones]
