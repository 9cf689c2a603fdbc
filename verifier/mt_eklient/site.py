"""Site configuration: the facts of one hospital site or region (sites/<id>.yml) that every device
profile there shares: the domain, the management subnets and infrastructure addresses, the WSUS and
event collector URLs, the antivirus update share, and the IT, scan and build accounts.

The resolver layers the values (docs/sites.md):

    catalog  ->  site  ->  device profile  ->  host variables

a later layer wins for a single value (a URL, one zone's addresses), while lists of local
administrators add up. `effective_profile` applies the site to a profile; `provenance` says which
layer each value came from (`mtk profile show --site`).
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from .datacache import cached, classes_of
from .errors import InputError, Problem
from .plaindata import plain
from .profile import (
    CACHED_CLASSES,
    SITE_ZONES,
    EventCollectorUrl,
    LoadedProfile,
    Profile,
    Sid,
    Text,
    WsusUrl,
    _field_names,
    _Model,
    _pydantic_problems,
)
from .sitefiles import SITE_ID_PATTERN, site_file
from .yamlsource import YamlDocument, load_yaml

DOMAIN_SID_PATTERN = r"^S-1-5-21-\d+-\d+-\d+$"

class Domain(_Model):
    name: Text  # DNS name, e.g. region.local
    netbios: Text
    sid: Annotated[str, StringConstraints(pattern=DOMAIN_SID_PATTERN)]


class Account(_Model):
    # As Ansible connects (ansible_user): DOMAIN\name or name@domain.
    name: Text
    sid: Sid | None = None


class SiteAccounts(_Model):
    # The site's IT administrators' group: the build never removes it from local Administrators
    # unless allow_admin_removal is true (docs/accounts.md).
    it_admin_group: Sid | None = None
    # Added to every built client's local Administrators, next to the profile's.
    local_admins: list[Sid] = Field(default_factory=list)
    scan_account: Account | None = None
    build_account: Account | None = None
    allow_admin_removal: bool = False


class SiteNetwork(_Model):
    # Only the site's zones (profile.SITE_ZONES); `management` holds the management subnets.
    zones: dict[Literal["management", "infrastructure", "wsus", "wec", "av_share"], list[Text]]


class SiteWsus(_Model):
    server: WsusUrl


class SiteEventForwarding(_Model):
    target: EventCollectorUrl
    refresh_seconds: int = Field(default=60, ge=10, le=86400)


class SiteAntivirus(_Model):
    signature_share: Annotated[str, StringConstraints(pattern=r"^\\\\[^\\/]+\\[^\\/]+.*$")] | None = None


class Site(_Model):
    schema_version: Literal[1] = 1
    id: Annotated[str, StringConstraints(pattern=SITE_ID_PATTERN)]
    name: Text
    domain: Domain | None = None
    network: SiteNetwork
    wsus: SiteWsus | None = None
    event_forwarding: SiteEventForwarding | None = None
    antivirus: SiteAntivirus = SiteAntivirus.model_construct()
    accounts: SiteAccounts = SiteAccounts.model_construct()


class LoadedSite(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True, defer_build=True)

    site: Site
    source: str
    sha256: str
    document: YamlDocument

    def identity(self) -> dict[str, str]:
        return {"id": self.site.id, "sha256": self.sha256, "source": self.source}


def site_problems(site: Site) -> list[tuple[tuple[str | int, ...], str]]:
    from .floor import load_floor

    found: list[tuple[tuple[str | int, ...], str]] = []
    zones = site.network.zones
    if "management" not in zones or not zones["management"]:
        found.append((("network", "zones", "management"),
                      "required: the subnets WinRM is managed from (the build opens WinRM to them only)"))
    broad = [r for r in load_floor().dangerous if r.target == "management_zone"]
    for zone, entries in zones.items():
        for index, entry in enumerate(entries):
            try:
                ipaddress.ip_network(entry, strict=True)
            except ValueError as err:
                found.append((("network", "zones", zone, index), f"invalid IP address or CIDR {entry!r}: {err}"))
                continue
            rule = next((r for r in broad if r.matches(entry)), None) if zone == "management" else None
            if rule is not None:
                found.append((("network", "zones", zone, index),
                              f"{rule.id}: {rule.title} ({entry!r}); no exception is possible"))
    accounts = site.accounts
    if site.domain:
        for index, sid in enumerate(accounts.local_admins):
            if sid.startswith("S-1-5-21-") and not sid.startswith(site.domain.sid + "-"):
                found.append((("accounts", "local_admins", index),
                              (f"{sid} is a local account of one machine or another domain's, not "
                               f"{site.domain.netbios}'s ({site.domain.sid}): a site lists domain groups")))
    if accounts.it_admin_group and accounts.it_admin_group.startswith("S-1-5-21-") and site.domain \
            and not accounts.it_admin_group.startswith(site.domain.sid + "-"):
        found.append((("accounts", "it_admin_group"), f"not a group of domain {site.domain.netbios} ({site.domain.sid})"))
    return found


def parse_site(doc: YamlDocument) -> Site:
    if not isinstance(doc.data, dict):
        raise InputError([doc.problem((), "a site is a mapping of keys, not a " + type(doc.data).__name__)])
    try:
        site = Site.model_validate(doc.data)
    except ValidationError as err:
        raise InputError(_pydantic_problems(doc, doc.data, err, {}, _field_names(Site))) from None
    problems = [doc.problem(path, message) for path, message in site_problems(site)]
    if problems:
        raise InputError(problems)
    return site


def load_site(path: str | Path) -> LoadedSite:
    """Load and validate one site file; InputError lists every problem with its line. A valid site
    is kept in the user's cache (datacache.py), keyed by its path and bytes, the safety floor's
    (site_problems checks the management subnets against it) and the code."""
    from .floor import floor_path

    path = Path(path)
    doc, site = cached("site", [path, floor_path()], lambda: _parse_site_file(path), _SITE_CLASSES, tuple)
    # Every field is built above from validated data: construct without a second validation.
    return LoadedSite.model_construct(site=site, source=str(path), sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                                      document=doc)


def _parse_site_file(path: Path) -> tuple[YamlDocument, Site]:
    doc = load_yaml(path)
    site = parse_site(doc)
    if site.id != path.stem:
        raise InputError([doc.problem(("id",), f"{site.id!r} differs from the file name: name the file "
                                               f"{site.id}.yml or set id: {path.stem}")])
    return doc, site


_SITE_CLASSES = classes_of(__name__, "Domain", "Account", "SiteAccounts", "SiteNetwork", "SiteWsus",
                           "SiteEventForwarding", "SiteAntivirus", "Site") | classes_of("mt_eklient.yamlsource",
                                                                                        "YamlDocument")


def site_from_arg(value: str | None, source: str = "--site") -> LoadedSite | None:
    """A site named on the command line: its id (a file in sites/) or the path of a site file."""
    path = site_file(value, source)
    return load_site(path) if path else None


def site_json_schema() -> dict[str, Any]:
    schema = Site.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://mt-eklient.example/schemas/site-v1.json"
    schema["title"] = "mt-eklient site configuration"
    return schema


# ---------------------------------------------------------------------------------------------
# Layering


def overlay(site: Site) -> dict[str, Any]:
    """The site's values in the profile's shape (the layer under the profile)."""
    data: dict[str, Any] = {"network": {"zones": {k: list(v) for k, v in site.network.zones.items()}},
                            "accounts": {"local_admins": list(site.accounts.local_admins)}}
    if site.wsus:
        data["patching"] = {"wsus": {"server": site.wsus.server}}
    if site.event_forwarding:
        data["monitoring"] = {"event_forwarding": plain(site.event_forwarding)}  # plain: no serializer built
    if site.antivirus.signature_share:
        data["antivirus"] = {"signatures": {"share": site.antivirus.signature_share}}
    return data


# Site values that only apply where the profile asks for them: no WSUS for a vendor-patched device,
# no share for signatures that come from elsewhere.
def _applies(path: tuple[str, ...], profile: dict[str, Any]) -> bool:
    if path[:2] == ("patching", "wsus"):
        return (profile.get("patching") or {}).get("policy") != "vendor_managed"
    if path[:2] == ("antivirus", "signatures"):
        return ((profile.get("antivirus") or {}).get("signatures") or {}).get("source") == "internal_share"
    return True


# Lists that add up across layers instead of the later one replacing the earlier.
ADDITIVE = frozenset({("accounts", "local_admins")})


def merge(site_data: dict[str, Any], profile_data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Profile data over site data, and the layer of every leaf (dotted path -> 'site' | 'profile')."""
    origin: dict[str, str] = {}

    def leaves(node: Any, path: tuple[str, ...], layer: str) -> None:
        if isinstance(node, dict) and node:
            for key, value in node.items():
                leaves(value, (*path, str(key)), layer)
        else:
            origin[".".join(path)] = layer

    def walk(low: Any, high: Any, path: tuple[str, ...]) -> Any:
        if isinstance(low, dict) and isinstance(high, dict):
            out = dict(high)
            for key, value in low.items():
                child = (*path, str(key))
                if not _applies(child, profile_data):
                    continue
                out[key] = walk(value, high[key], child) if key in high else copy.deepcopy(value)
                if key not in high:
                    leaves(value, child, "site")
            return out
        if path in ADDITIVE and isinstance(low, list) and isinstance(high, list):
            origin[".".join(path)] = "site" if not high else "profile" if not low else "site+profile"
            return sorted(set(low) | set(high), key=(low + high).index)
        if low != high and not isinstance(low, dict):
            origin[".".join(path)] = "profile over site"  # an older profile that carries a site value
        return high

    leaves(profile_data, (), "profile")
    merged = walk(site_data, profile_data, ())
    return merged, origin


@dataclass(frozen=True)
class Effective:
    loaded: LoadedProfile
    origin: dict[str, str] = field(default_factory=dict)  # dotted profile path -> site | profile


def effective_profile(loaded: LoadedProfile, site: LoadedSite | None, where: str | None = None,
                      site_field: str = "mt_site") -> Effective:
    """The profile with the site's values under it. InputError (against `where`, the host, and
    `site_field`, how it names its site) when a value the profile leaves to the site is missing."""
    # plain(), not model_dump(): a profile from the cache (datacache.py) has no serializer built.
    raw = plain(loaded.profile, exclude_unset=True)
    data, origin = merge(overlay(site.site) if site else {}, raw)
    profile = _validated(data) if site else loaded.profile
    gaps = needs_site(profile)
    if gaps:
        pid = loaded.profile.id
        if site is None:
            raise InputError([Problem(where or loaded.source, None, site_field,
                                      f"required: profile {pid} leaves {missing} to the site ({why})")
                              for missing, why in gaps])
        raise InputError([Problem(where or site.source, None, site_field if where else missing,
                                  f"site {site.site.id} ({site.source}) does not set {missing}, which profile "
                                  f"{pid} leaves to the site ({why})" if where else
                                  f"not set, and profile {pid} leaves it to the site ({why})")
                          for missing, why in gaps])
    return Effective(loaded.model_copy(update={"profile": profile}), origin)


def _validated(data: dict[str, Any]) -> Profile:
    """The merged profile validated, or from the user's cache: building Profile's validator was
    most of what a cached `mtk verify` with a site still spent (docs/performance.md). The key is the
    merged data itself (its repr: plain JSON values, so equal reprs are equal data), which is
    exactly what validation sees: any change to the profile, the site or a host's values that
    reaches the merge is a new key; what else validation reads (LTSC dates) is in the code stamp."""
    return cached("effective", [], lambda: Profile.model_validate(data), CACHED_CLASSES, Profile,
                  material=repr(data).encode())


def needs_site(profile: Profile) -> list[tuple[str, str]]:
    """Values a profile may leave to the site, still missing: (the site's field, why it is needed)."""
    found: dict[str, str] = {}
    net = profile.network
    if profile.classification.type == "WM" and net.management_zone not in net.zones:
        found[f"network.zones.{net.management_zone}"] = "WinRM is opened to the management zone only"
    for direction in ("inbound", "outbound"):
        for rule in getattr(net, direction):
            for remote in rule.remote:
                if remote in SITE_ZONES and remote not in net.zones:
                    found.setdefault(f"network.zones.{remote}", f"firewall rule {rule.name} ({direction}) allows it")
    patching = profile.patching
    if patching.wsus is not None and patching.wsus.server is None:
        found["wsus.server"] = f"the profile's WSUS target group is {patching.wsus.target_group}"
    elif patching.wsus is None and patching.policy != "vendor_managed" and profile.classification.type == "WM":
        found["wsus.server"] = "a WM client is patched from the hospital's WSUS"
    if profile.monitoring.event_forwarding and profile.monitoring.event_forwarding.target is None:
        found["event_forwarding.target"] = "the profile forwards events"
    signatures = profile.antivirus.signatures
    if signatures and signatures.source == "internal_share" and not signatures.share:
        found["antivirus.signature_share"] = "the profile takes signatures from the internal share"
    return list(found.items())


# What each derived expected value is computed from (resolve._derive), for provenance.
DERIVED_FROM = {
    "firewall_rules": ("network.zones", "network.inbound", "network.outbound"),
    "management_rule": ("network.management_zone", "network.zones.{management_zone}"),
    "local_admins": ("accounts.local_admins",),
    "applocker_rules": ("applications", "whitelisting"),
    "nameplate": ("classification", "id", "profile_version"),
    "subscription_manager": ("monitoring.event_forwarding",),
    "screen_lock_range": ("accounts.screen_lock_seconds",),
    "usb_allowed_device_ids": ("removable_media.allowed_device_ids",),
    "au_install_day": ("patching.maintenance_window",),
    "au_install_hour": ("patching.maintenance_window",),
}


def provenance(expected: Any, profile: Profile, origin: dict[str, str], host_fields: dict[str, str]) -> list[dict[str, str]]:
    """Where one control's expected value comes from: [{field, layer}], layer one of catalog, site,
    profile, site+profile (lists that add up), host (inventory variables) or default (the profile
    format's default, the field being unset everywhere)."""
    if expected is None:
        return []
    if expected.derive is None and expected.profile is None:
        return [{"field": "", "layer": "catalog"}]
    fields = [f.format(management_zone=profile.network.management_zone)
              for f in (DERIVED_FROM.get(expected.derive, ()) if expected.derive else (expected.profile,))]
    out = []
    for dotted in fields:
        layers = sorted({layer for path, layer in {**origin, **host_fields}.items()
                         if path == dotted or path.startswith(dotted + ".")})
        out.append({"field": dotted, "layer": "+".join(layers) if layers else "default"})
    return out
