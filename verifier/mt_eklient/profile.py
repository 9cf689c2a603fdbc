"""Device profiles: one medical application's operating-environment constraints, as its
manufacturer states them (IfU, MDS2, security guide), approved by the hospital's MT engineering.

Structure and types are checked by pydantic; the rules that span fields (contradictions) are
checked in `semantic_problems`, so every problem names the field it is about.
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import re
from datetime import date as Date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from .datacache import cached, classes_of
from .drafts import FillIn, approved, related, split_placeholders
from .errors import InputError, Problem
from .lifecycle import editions
from .plaindata import plain
from .yamlsource import YamlDocument, format_path, load_yaml

SID_PATTERN = r"^S-1-(\d+-){1,14}\d+$"
KB_PATTERN = r"^KB\d{6,8}$"
TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"
# The zones a site owns (sites/*.yml, site.py): a profile may name them in its rules and leave their
# addresses to the site.
SITE_ZONES = ("management", "infrastructure", "wsus", "wec", "av_share")
# A profile id is a name, never a path: inventories look profiles up by it (hosts.find_profile).
PROFILE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"

Sid = Annotated[str, StringConstraints(pattern=SID_PATTERN)]
Kb = Annotated[str, StringConstraints(pattern=KB_PATTERN)]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
ClockTime = Annotated[str, StringConstraints(pattern=TIME_PATTERN)]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
AppLockerCollection = Literal["Exe", "Msi", "Script", "Dll", "Appx"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, defer_build=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        # Profile text ends up in AppLocker XML, registry values and reports: no control characters.
        for text in _strings(value):
            if match := _CONTROL.search(text):
                raise ValueError(f"control character U+{ord(match.group()):04X} not allowed")
        return value


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [t for item in value for t in _strings(item)]
    if isinstance(value, dict):
        return [t for pair in value.items() for item in pair for t in _strings(item)]
    return []


class Application(_Model):
    name: Text
    version: str | None = None
    # Subject of the code-signing certificate, as AppLocker publisher rules name it.
    publisher: str | None = None
    install_paths: list[Text] = []
    executables: list[Text] = []
    services: list[Text] = []
    # Display name in the Uninstall keys; `*` wildcards allowed. Evidence that the app is installed.
    uninstall_display_name: Text


# A web page a source document is published on: http(s) only (reports link to it), and no
# user:password@ part (no secret in a URL).
SourceUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s/@?#]+(/[^\s]*)?$", max_length=2000)]


class SourceDocument(_Model):
    kind: Literal["ifu", "mds2", "security_guide", "service_manual", "contract", "other"]
    title: Text
    version: str | None = None
    date: Date | None = None
    url: SourceUrl | None = None


class Procedure(_Model):
    """A manufacturer's condition that is a procedure, not a setting ("close the application before
    updates are installed"): nothing can check it on the machine, so reports show it to the people
    who carry it out."""

    text: Text
    source: str | None = None  # where the manufacturer says it, e.g. "Security guide 4.2.1, 5.3"


class Mds2Record(_Model):
    """The MDS2 workbook a draft was derived from (`mtk profile draft`), DOC-1..7."""

    file: Text
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    manufacturer: str | None = None
    model: str | None = None
    document_id: str | None = None
    release_date: Date | None = None


class Governance(_Model):
    # Both empty: a draft (see drafts.py), which a build refuses.
    approved_by: str | None = None
    approved_date: Date | None = None
    sources: list[SourceDocument] = Field(min_length=1)
    mds2: Mds2Record | None = None


class Classification(_Model):
    type: Literal["W", "WM", "M"]
    group: Literal[0, 1, 2]

    @property
    def label(self) -> str:
        return f"{self.type}{self.group}"


class OperatingSystem(_Model):
    editions: list[str] = Field(min_length=1)
    # Minimum patch level (UBR) per build, e.g. {19044: 5011}.
    min_ubr: dict[int, int] = {}

    @field_validator("editions")
    @classmethod
    def _known_editions(cls, value: list[str]) -> list[str]:
        return known_editions(value)


def known_editions(value: list[str]) -> list[str]:
    unknown = [e for e in value if e not in editions()]
    if unknown:
        raise ValueError(f"unknown edition {unknown[0]!r}; known: {', '.join(editions())}")
    return value


class WhitelistRule(_Model):
    name: Text
    collection: AppLockerCollection
    kind: Literal["publisher", "path", "hash"]
    value: Text
    action: Literal["allow", "deny"] = "allow"
    # AppLocker's FileHash Type: SHA256 is the Authenticode hash (Get-AppLockerFileInformation),
    # SHA256Flat the hash of the whole file (Get-FileHash). The two differ for signed binaries.
    hash_type: Literal["SHA256", "SHA256Flat"] | None = None


class Whitelisting(_Model):
    engine: Literal["applocker", "wdac"] = "applocker"
    mode: Literal["audit", "enforce"] = "audit"
    extra_rules: list[WhitelistRule] = []


class Exclusions(_Model):
    paths: list[Text] = []
    processes: list[Text] = []
    extensions: list[Annotated[str, StringConstraints(pattern=r"^\.?[A-Za-z0-9_]{1,16}$")]] = []

    def is_empty(self) -> bool:
        return not (self.paths or self.processes or self.extensions)


class ScanSchedule(_Model):
    day: Literal["everyday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    time: ClockTime
    type: Literal["quick", "full"] = "quick"


class Signatures(_Model):
    source: Literal["internal_share", "wsus", "microsoft_update", "vendor"]
    share: str | None = None


class Antivirus(_Model):
    permitted: bool
    realtime: bool = True
    exclusions: Exclusions = Exclusions.model_construct()
    scan: ScanSchedule | None = None
    signatures: Signatures | None = None
    # Control ids that become mandatory (cannot be waived) when antivirus is not permitted.
    compensating_controls: list[Text] = []


PortSpec = int | Annotated[str, StringConstraints(pattern=r"^\d{1,5}-\d{1,5}$")]


class FirewallRule(_Model):
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")]
    protocol: Literal["tcp", "udp", "icmpv4", "icmpv6", "any"]
    ports: list[PortSpec] = []
    remote: list[Text] = Field(min_length=1)
    program: str | None = None
    description: str | None = None


class Network(_Model):
    internet: Literal["deny", "allow"] = "deny"
    management_zone: Text = "management"
    zones: dict[str, list[Text]] = {}
    inbound: list[FirewallRule] = []
    outbound: list[FirewallRule] = []


WsusUrl = Annotated[str, StringConstraints(pattern=r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?/?$")]


class Wsus(_Model):
    server: WsusUrl | None = None  # None: the site's (sites/*.yml wsus.server)
    target_group: str | None = None


class MaintenanceWindow(_Model):
    days: list[Weekday] = Field(min_length=1)
    start: ClockTime
    duration_hours: int = Field(ge=1, le=24)


class RebootRules(_Model):
    automatic: bool = False
    notify_minutes: int = Field(default=15, ge=0, le=1440)


# WSUS's update classifications, as the manufacturer names what it allows ("security updates only").
UpdateClassification = Literal["security", "critical", "definition", "updates", "update_rollups", "feature_packs",
                               "service_packs", "tools", "drivers", "upgrades"]


class BlockedKb(_Model):
    """A blocked update with what the manufacturer says of it: which editions it is for, and why."""

    kb: Kb
    editions: list[str] = []  # the editions (lifecycle ids) it applies to; empty: every edition
    reason: str | None = None

    @field_validator("editions")
    @classmethod
    def _known_editions(cls, value: list[str]) -> list[str]:
        return known_editions(value)


class Patching(_Model):
    policy: Literal["automatic", "deferred", "vendor_approved", "vendor_managed"]
    defer_days: int = Field(default=0, ge=0, le=365)
    # "5 working days after release" (Monday to Friday): Windows defers in calendar days (wuschedule.py).
    defer_working_days: int = Field(default=0, ge=0, le=60)
    # The classifications the manufacturer allows (["security"]: security updates only); absent: no limit stated.
    classifications: list[UpdateClassification] | None = Field(default=None, min_length=1)
    wsus: Wsus | None = None
    approved_kbs: list[Kb] = []
    blocked_kbs: list[Kb | BlockedKb] = []
    max_patch_age_days: int = Field(default=45, ge=1, le=3650)
    maintenance_window: MaintenanceWindow | None = None
    reboot: RebootRules = RebootRules.model_construct()

    def blocked(self) -> list[BlockedKb]:
        """Every blocked update in the long form (a bare KB id applies to every edition)."""
        # model_construct: a bare id is already a validated Kb, and validating again would build
        # BlockedKb's validator, which a profile from the cache (datacache.py) has not built.
        return [b if isinstance(b, BlockedKb) else BlockedKb.model_construct(kb=b) for b in self.blocked_kbs]


class RemovableMedia(_Model):
    policy: Literal["block", "allow", "allow_listed"] = "block"
    allowed_device_ids: list[Text] = []


class Kiosk(_Model):
    enabled: bool = False
    auto_logon: bool = False
    account_sid: Sid | None = None


class Accounts(_Model):
    # Members allowed in the local Administrators group besides the built-in Administrator (-500).
    local_admins: list[Sid] = []
    kiosk: Kiosk = Kiosk.model_construct()
    # Idle time before the screen locks; null only for kiosks that must stay visible.
    screen_lock_seconds: int | None = Field(default=900, ge=60, le=3600)


class RemoteAccess(_Model):
    method: Literal["none", "customer_initiated_vpn", "vendor_portal", "rdp_management"] = "none"
    rdp: Literal["disabled", "management_only"] = "disabled"


EventCollectorUrl = Annotated[str, StringConstraints(
    pattern=r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9/._~-]*)?$")]


class EventForwarding(_Model):
    # A URL path without ',' or '=': Windows reads "Server=<target>,Refresh=<s>", so either would let
    # the target smuggle options of its own (Refresh, IssuerCA) into the subscription manager string.
    target: EventCollectorUrl | None = None  # None: the site's (sites/*.yml event_forwarding.target)
    refresh_seconds: int = Field(default=60, ge=10, le=86400)


class Monitoring(_Model):
    audit_baseline: Literal["standard", "enhanced"] = "standard"
    event_forwarding: EventForwarding | None = None
    # Maximum log sizes in KiB per classic log name (Application, Security, System).
    log_sizes_kb: dict[Literal["Application", "Security", "System"], int] = {}


class Platform(_Model):
    kind: Literal["physical", "virtual"] = "physical"


class Waiver(_Model):
    control: Text
    reason: Text
    owner: Text
    expires: Date


class FloorException(_Model):
    """A dangerous setting the manufacturer demands, allowed by the safety floor only like this (floor.py)."""

    rule: Text
    value: Text
    reason: Text
    owner: Text
    expires: Date


class Manufacturer(_Model):
    name: Text
    country: str | None = None
    contact: str | None = None


class ApplicationIdentity(_Model):
    name: Text
    version: Text


class NormenProperties(_Model):
    """The Normen guide's properties of security significance (seed 001, 5.1), for the fleet's risk
    ranking (5.2). Each is optional: left out, it is derived from the rest of the profile where
    that says it, else assumed (mt_eklient.fleet.normen, which also checks contradictions)."""

    use_scenario: Literal[1, 2, 3, 4, 5] | None = None
    health_data: bool | None = None  # processes identifiable health data
    integrations: bool | None = None  # networked integrations (PACS, EPJ, worklist)
    vendor_remote_access: bool | None = None
    cloud: bool | None = None
    print_or_storage: bool | None = None  # prints or stores patient data on the device or media
    manufacturer_configuration_control: bool | None = None


class Profile(_Model):
    schema_version: Literal[1] = 1
    id: Annotated[str, StringConstraints(pattern=PROFILE_ID_PATTERN)]
    profile_version: int = Field(ge=1)
    application: ApplicationIdentity
    manufacturer: Manufacturer
    governance: Governance
    classification: Classification
    platform: Platform = Platform.model_construct()
    os: OperatingSystem
    applications: list[Application] = []
    whitelisting: Whitelisting = Whitelisting.model_construct()
    antivirus: Antivirus
    network: Network = Network.model_construct()
    patching: Patching
    removable_media: RemovableMedia = RemovableMedia.model_construct()
    accounts: Accounts = Accounts.model_construct()
    remote_access: RemoteAccess = RemoteAccess.model_construct()
    monitoring: Monitoring = Monitoring.model_construct()
    waivers: list[Waiver] = []
    floor_exceptions: list[FloorException] = []
    normen: NormenProperties | None = None
    procedures: list[Procedure] = []

    @property
    def draft(self) -> bool:
        return not ((self.governance.approved_by or "").strip() and self.governance.approved_date)


def hand_over(profile: Profile) -> dict[str, Any]:
    """What a report shows of the profile a host was judged against, for the people it is handed to:
    the application, its manufacturer, who approved the profile and on which documents, and the
    manufacturer's procedures."""
    governance = profile.governance
    return {
        "application": plain(profile.application),
        "manufacturer": plain(profile.manufacturer, exclude_none=True),
        "approved_by": governance.approved_by,
        "approved_date": governance.approved_date.isoformat() if governance.approved_date else None,
        "sources": plain(governance.sources, exclude_none=True),
        "procedures": plain(profile.procedures, exclude_none=True),
    }


class LoadedProfile(BaseModel):
    """A validated profile with where it came from (for error lines and the nameplate hash)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True, defer_build=True)

    profile: Profile
    source: str
    sha256: str
    document: YamlDocument
    fill_ins: tuple[FillIn, ...] = ()

    @property
    def draft(self) -> bool:
        return self.profile.draft


def _zone_or_address(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=True)
        return False
    except ValueError:
        return True


def semantic_problems(profile: Profile) -> list[tuple[tuple[str | int, ...], str]]:
    """Contradictions and cross-references that a per-field schema cannot express."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    governance = profile.governance
    if bool((governance.approved_by or "").strip()) != bool(governance.approved_date):
        found.append((("governance", "approved_by" if governance.approved_date else "approved_date"),
                      "approval needs both approved_by and approved_date (leave both empty for a draft)"))
    av = profile.antivirus
    if not av.permitted:
        if not av.exclusions.is_empty():
            found.append((("antivirus", "exclusions"), "exclusions given but antivirus is not permitted"))
        if "realtime" in av.model_fields_set and av.realtime:
            found.append((("antivirus", "realtime"), "real-time protection on but antivirus is not permitted"))
        if not av.compensating_controls and profile.classification.type == "WM":
            found.append((("antivirus", "compensating_controls"),
                          "antivirus is not permitted: name the compensating controls"))
        # Enforced whitelisting without antivirus is the safety floor's rule (catalog/floor.yml).
    wl = profile.whitelisting
    for index, rule in enumerate(wl.extra_rules):
        where = ("whitelisting", "extra_rules", index)
        if rule.kind != "hash":
            if rule.hash_type is not None:
                found.append(((*where, "hash_type"), "only for kind hash"))
        elif rule.hash_type is None:
            found.append(((*where, "hash_type"), (
                "required for kind hash: SHA256 (the Authenticode hash, as Get-AppLockerFileInformation "
                "reports it) or SHA256Flat (the file hash Get-FileHash prints)")))
        elif not re.fullmatch(r"0x[0-9A-Fa-f]{64}", rule.value):
            hint = " (prefix 0x)" if re.fullmatch(r"[0-9A-Fa-f]{64}", rule.value) else ""
            found.append(((*where, "value"), f"a {rule.hash_type} hash is 0x followed by 64 hex digits{hint}"))
    if wl.mode == "enforce" and not wl.extra_rules and not any(
        app.publisher or app.install_paths for app in profile.applications
    ):
        found.append((("whitelisting", "mode"),
                      "enforce with no application rules: no application has a publisher or install path"))

    patching = profile.patching
    window = patching.maintenance_window
    if patching.policy == "automatic" and window is None:
        found.append((("patching", "maintenance_window"), (
            "required by policy automatic: Automatic Updates installs in this window "
            "(without one, Windows picks every day at 03:00)")))
    elif patching.policy == "automatic" and window and window.duration_hours == 1 and not window.start.endswith(":00"):
        found.append((("patching", "maintenance_window", "start"),
                      "Automatic Updates installs at a full hour: a one-hour window must start on the hour"))

    net = profile.network
    for zone, entries in net.zones.items():
        for index, entry in enumerate(entries):
            try:
                ipaddress.ip_network(entry, strict=True)
            except ValueError as err:
                found.append((("network", "zones", zone, index), f"invalid IP address or CIDR {entry!r}: {err}"))
    if profile.classification.type == "WM" and net.management_zone not in (*net.zones, *SITE_ZONES):
        found.append((("network", "management_zone"),
                      f"zone {net.management_zone!r} is not defined in network.zones (WinRM must stay reachable)"))
    names: dict[str, tuple[str, int]] = {}
    for direction in ("inbound", "outbound"):
        for index, rule in enumerate(getattr(net, direction)):
            where: tuple[str | int, ...] = ("network", direction, index)
            key = rule.name.lower()
            if key in names:
                other = names[key]
                found.append(((*where, "name"), f"duplicate rule name {rule.name!r} (also network.{other[0]}[{other[1]}])"))
            names[key] = (direction, index)
            for pindex, port in enumerate(rule.ports):
                message = _port_problem(port)
                if message:
                    found.append(((*where, "ports", pindex), message))
            if rule.ports and rule.protocol not in ("tcp", "udp"):
                found.append(((*where, "ports"), f"ports need protocol tcp or udp, not {rule.protocol}"))
            for rindex, remote in enumerate(rule.remote):
                if _zone_or_address(remote) and remote not in net.zones and remote not in SITE_ZONES:
                    if re.fullmatch(r"[\d./:a-fA-F]+", remote):
                        found.append(((*where, "remote", rindex), f"invalid IP address or CIDR {remote!r}"))
                    else:
                        found.append(((*where, "remote", rindex), (f"unknown zone {remote!r} (not in network.zones "
                                                                   f"nor a site zone: {', '.join(SITE_ZONES)})")))

    patching = profile.patching
    blocked = {b.kb for b in patching.blocked()}
    for index, kb in enumerate(patching.approved_kbs):
        if kb in blocked:
            found.append((("patching", "approved_kbs", index), f"{kb} is both approved and blocked"))
    found.extend(_deferral_problems(patching))
    if patching.classifications is not None and patching.policy == "vendor_managed":
        found.append((("patching", "classifications"),
                      "the manufacturer patches a vendor_managed client itself: it has no classifications to choose"))
    # The WSUS server, the event collector and the signature share may come from the site: checked
    # once the site is applied (site.needs_site).

    media = profile.removable_media
    if media.allowed_device_ids and media.policy != "allow_listed":
        found.append((("removable_media", "allowed_device_ids"), "device ids are only used with policy 'allow_listed'"))
    if media.policy == "allow_listed" and not media.allowed_device_ids:
        found.append((("removable_media", "allowed_device_ids"), "policy 'allow_listed' needs at least one device id"))

    kiosk = profile.accounts.kiosk
    if kiosk.auto_logon and not kiosk.enabled:
        found.append((("accounts", "kiosk", "auto_logon"), "auto-logon is only allowed on a kiosk (kiosk.enabled)"))
    if kiosk.enabled and kiosk.account_sid is None:
        found.append((("accounts", "kiosk", "account_sid"), "a kiosk needs the SID of its kiosk account"))
    if kiosk.auto_logon and profile.classification.group == 0:
        found.append((("accounts", "kiosk", "auto_logon"),
                      "auto-logon is only for groups 1 and 2 (in the patient environment), not group 0"))
    if kiosk.account_sid and kiosk.account_sid in profile.accounts.local_admins:
        found.append((("accounts", "local_admins"), "the kiosk account must not be a local administrator"))
    if profile.accounts.screen_lock_seconds is None and not kiosk.enabled:
        found.append((("accounts", "screen_lock_seconds"), "only a kiosk may run without a screen lock"))
    if profile.remote_access.rdp == "management_only" and net.management_zone not in (*net.zones, *SITE_ZONES):
        found.append((("remote_access", "rdp"), "RDP for management needs the management zone"))

    seen_waivers: set[str] = set()
    for index, waiver in enumerate(profile.waivers):
        if waiver.control in seen_waivers:
            found.append((("waivers", index, "control"), f"second waiver for {waiver.control}"))
        seen_waivers.add(waiver.control)
    from .fleet.normen import normen_problems
    found.extend(normen_problems(profile))
    return found


def _deferral_problems(patching: Patching) -> list[tuple[tuple[str | int, ...], str]]:
    from .wuschedule import MAX_QUALITY_DEFERRAL, quality_deferral_days

    if patching.defer_days and patching.defer_working_days:
        return [(("patching", "defer_working_days"), "give defer_days (calendar days) or defer_working_days, not both")]
    if patching.policy != "deferred":
        return []
    days = quality_deferral_days(patching)
    if patching.defer_working_days:
        if days > MAX_QUALITY_DEFERRAL:
            return [(("patching", "defer_working_days"),
                     (f"{patching.defer_working_days} working days can be {days} calendar days: Windows defers quality "
                      f"updates at most {MAX_QUALITY_DEFERRAL} days"))]
        return []
    if not 1 <= days <= MAX_QUALITY_DEFERRAL:
        return [(("patching", "defer_days"), ("policy 'deferred' needs defer_days from 1 to 30 (Windows' limit for "
                                               "quality updates) or defer_working_days"))]
    return []


def profile_warnings(profile: Profile) -> list[tuple[tuple[str | int, ...], str]]:
    """What is valid but probably not what the manufacturer meant: shown by `mtk profile validate`."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    supported = set(profile.os.editions)
    for index, blocked in enumerate(profile.patching.blocked()):
        if blocked.editions and not supported & set(blocked.editions):
            found.append((("patching", "blocked_kbs", index, "editions"), (
                f"{blocked.kb} applies to {', '.join(blocked.editions)}, none of the profile's editions "
                f"(os.editions: {', '.join(profile.os.editions)}): no supported machine can have it, so the "
                "verifier does not look for it; check the manufacturer's list")))
    return found


def _port_problem(port: int | str) -> str | None:
    low, high = (port, port) if isinstance(port, int) else tuple(int(p) for p in port.split("-"))
    if not (1 <= low <= 65535 and 1 <= high <= 65535):
        return f"port {port} outside 1-65535"
    if low > high:
        return f"port range {port} runs backwards"
    return None


def _clean_loc(data: Any, loc: tuple[Any, ...], known: set[str] | None = None) -> tuple[str | int, ...]:
    """Drop pydantic's union/validator tags from a location, keeping real keys and field names."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node or isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        elif not (isinstance(part, str) and part in (known or _ALL_FIELD_NAMES)):
            continue
        else:
            node = None
        path.append(part)
    return tuple(path)


def _pydantic_problems(doc: YamlDocument, data: Any, err: ValidationError,
                       holes: dict[tuple[str | int, ...], str], known: set[str] | None = None) -> list[Problem]:
    # pydantic reports one value against each member of a union; keep one line per field.
    unique: dict[tuple[str | int, ...], Problem] = {}
    for item in err.errors():
        loc = _clean_loc(data, item["loc"], known)
        if related(loc, holes):
            continue  # reported as "to fill in"
        message = item["msg"].removeprefix("Value error, ")  # our validators' own words
        if item["type"] == "extra_forbidden":
            message = "unknown key" + _did_you_mean(str(loc[-1]) if loc else "", known)
        elif item["type"] == "missing":
            message = "required key missing"
        elif item["type"] == "string_type" and isinstance(item.get("input"), bool):
            # YAML 1.1 reads unquoted NO (Norway), no, off, yes, on as booleans.
            message = f"expected text, got {str(item['input']).lower()}: quote the value (\"NO\", not NO)"
        elif "input" in item and not isinstance(item["input"], (dict, list)):
            message = f"{message} (got {item['input']!r})"
        unique.setdefault(loc, doc.problem(loc, message))
    # A value of a union (`KB5034441` or `{kb: ..., editions: [...]}`) also fails the members it was
    # not meant as: keep the deepest problem, which names the field that is wrong.
    return [p for loc, p in unique.items()
            if not any(len(other) > len(loc) and other[:len(loc)] == loc for other in unique)]


def _did_you_mean(key: str, known: set[str] | None = None) -> str:
    close = difflib.get_close_matches(key, sorted(known or _ALL_FIELD_NAMES), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _field_names(model: type[BaseModel], seen: set[str] | None = None) -> set[str]:
    seen = set() if seen is None else seen
    for name, info in model.model_fields.items():
        seen.add(name)
        for arg in _model_args(info.annotation):
            if arg.__name__ not in seen:
                _field_names(arg, seen)
    return seen


def _model_args(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in getattr(annotation, "__args__", ()) or ():
        out.extend(_model_args(arg))
    return out


_ALL_FIELD_NAMES = _field_names(Profile)


def parse_profile(doc: YamlDocument) -> tuple[Profile, list[FillIn]]:
    """The profile and its placeholders; InputError when a problem remains. Placeholders (drafts.py)
    count as absent: a problem they explain is reported as "to fill in" (FillIn) instead."""
    if not isinstance(doc.data, dict):
        raise InputError([doc.problem((), "a profile is a mapping of keys, not a " + type(doc.data).__name__)])
    data, holes = split_placeholders(doc.data)
    fill_ins = [FillIn(doc.source, doc.line_of(path), format_path(path), f"to fill in: {hint}")
                for path, hint in holes.items()]
    problems: list[Problem] = []
    if holes and approved(doc.data):
        problems.append(doc.problem(("governance", "approved_by"),
                                    f"an approved profile cannot have {len(holes)} field(s) still to fill in"))
    try:
        profile = Profile.model_validate(data)
    except ValidationError as err:
        raise InputError(problems + _pydantic_problems(doc, data, err, holes) + fill_ins) from None
    problems += [doc.problem(path, message) for path, message in semantic_problems(profile)
                 if not related(path, holes)]
    if problems:
        raise InputError(problems + fill_ins)
    return profile, fill_ins


def load_profile(path: str | Path) -> LoadedProfile:
    """Load and validate one profile file; InputError lists every problem with its line. A valid
    profile is kept in the user's cache (datacache.py), keyed by its path, its bytes and the code."""
    path = Path(path)
    doc, profile, fill_ins = cached("profile", [path], lambda: _parse_file(path), CACHED_CLASSES, tuple)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    # Every field is built above from validated data: construct without a second validation.
    return LoadedProfile.model_construct(profile=profile, source=str(path), sha256=digest, document=doc,
                                         fill_ins=tuple(fill_ins))


def _parse_file(path: Path) -> tuple[YamlDocument, Profile, tuple[FillIn, ...]]:
    doc = load_yaml(path)
    profile, fill_ins = parse_profile(doc)
    return doc, profile, tuple(fill_ins)


# What a cached profile may contain (datacache.py); site.py caches effective profiles with it too.
CACHED_CLASSES = classes_of(__name__, *(name for name, obj in list(globals().items()) if isinstance(obj, type)
                                          and issubclass(obj, _Model))) | frozenset(
    {("mt_eklient.yamlsource", "YamlDocument"), ("mt_eklient.drafts", "FillIn")})


def profile_json_schema() -> dict[str, Any]:
    schema = Profile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://mt-eklient.example/schemas/profile-v1.json"
    schema["title"] = "mt-eklient device profile"
    return schema
