"""catalog + profile + host variables -> the resolved baseline of one host.

The one place where control values become concrete; the build and the verifier both use it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from . import __version__, applocker, floor, wuschedule
from .baseline import (  # defined there, imported from here too by the rest of the package
    ALL_PROFILES,
    BUILTIN_ADMINISTRATOR,
    MANAGED_RULE_GROUP,
    MANAGEMENT_RULE_NAME,
    WINRM_PORTS,
    Baseline,
    ResolvedControl,
    normalise_address,
)
from .catalog import Catalog, Control
from .classification import MtClass
from .plaindata import plain
from .profile import LoadedProfile, Profile, hand_over

if TYPE_CHECKING:
    from .site import LoadedSite


@dataclass(frozen=True)
class HostContext:
    """What the inventory says about one host."""

    name: str
    declared_class: MtClass | None = None
    # Site-specific zone addresses replace the profile's (profiles are per application, subnets per site).
    zones: dict[str, list[str]] = field(default_factory=dict)
    wsus_target_group: str | None = None
    # The host's site (inventory mt_site). The profile given to `resolve` already has the site's
    # values under it (site.effective_profile); the site is kept for the baseline's record and the
    # build's account checks. Compared and cached by id and hash, not by content.
    site_id: str | None = None
    site: LoadedSite | None = field(default=None, repr=False, compare=False)


class ResolutionError(Exception):
    """The catalog names a profile field that does not exist: a catalog bug, not user input."""


def profile_value(profile: Profile, dotted: str) -> Any:
    node: Any = profile
    for part in dotted.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif hasattr(node, part):
            node = getattr(node, part)
        else:
            raise ResolutionError(f"profile has no field {dotted!r}")
    return plain(node) if isinstance(node, BaseModel | list) else node


def zone_addresses(profile: Profile, host: HostContext) -> dict[str, list[str]]:
    zones = {**profile.network.zones, **host.zones}
    return {name: sorted(normalise_address(a) for a in entries) for name, entries in zones.items()}


def _expand_remote(remote: list[str], zones: dict[str, list[str]]) -> list[str]:
    out: set[str] = set()
    for entry in remote:
        out.update(zones[entry] if entry in zones else [normalise_address(entry)])
    return sorted(out)


def management_rule(profile: Profile, host: HostContext) -> dict[str, Any]:
    zones = zone_addresses(profile, host)
    return {
        "name": MANAGEMENT_RULE_NAME,
        "display_name": "mt-eklient: WinRM from the management zone",
        "group": MANAGED_RULE_GROUP,
        "direction": "in",
        "action": "allow",
        "enabled": True,
        "protocol": "tcp",
        "local_ports": WINRM_PORTS,
        "remote_ports": [],
        "remote_addresses": zones.get(profile.network.management_zone, []),
        "program": None,
        "profiles": ALL_PROFILES,
    }


def firewall_rules(profile: Profile, host: HostContext) -> list[dict[str, Any]]:
    """The exact rule set of the managed group: the management rule plus the profile's rules."""
    zones = zone_addresses(profile, host)
    rules = [management_rule(profile, host)]
    for direction, short in (("inbound", "in"), ("outbound", "out")):
        for rule in getattr(profile.network, direction):
            ports = sorted(str(p) for p in rule.ports)
            rules.append({
                "name": f"mtk-{short}-{rule.name}",
                "display_name": f"mt-eklient: {rule.description or rule.name}",
                "group": MANAGED_RULE_GROUP,
                "direction": short,
                "action": "allow",
                "enabled": True,
                "protocol": rule.protocol,
                "local_ports": ports if short == "in" else [],
                "remote_ports": ports if short == "out" else [],
                "remote_addresses": _expand_remote(rule.remote, zones),
                "program": rule.program,
                "profiles": ALL_PROFILES,
            })
    return rules


def local_admins(profile: Profile, host: HostContext) -> list[str]:
    return sorted({BUILTIN_ADMINISTRATOR, *profile.accounts.local_admins})


def nameplate(loaded: LoadedProfile, host: HostContext) -> dict[str, Any]:
    profile = loaded.profile
    return {
        "class": profile.classification.label,
        "profile_id": profile.id,
        "profile_version": profile.profile_version,
        "profile_sha256": loaded.sha256,
        "toolkit_version": __version__,
    }


def subscription_manager(profile: Profile) -> str | None:
    """The SubscriptionManager policy string Windows Event Forwarding expects."""
    forwarding = profile.monitoring.event_forwarding
    if forwarding is None:
        return None
    return f"Server={forwarding.target},Refresh={forwarding.refresh_seconds}"


def usb_allowed_device_ids(profile: Profile) -> dict[str, str]:
    """The device installation allow list as Windows keeps it: REG_SZ values "1", "2", ... under
    ...\\DeviceInstall\\Restrictions\\AllowDeviceIDs, in the profile's order."""
    return {str(number): device_id
            for number, device_id in enumerate(profile.removable_media.allowed_device_ids, start=1)}


def blocked_kb_ids(profile: Profile) -> list[str]:
    """The blocked updates that can be on a machine of the profile: those for one of its editions
    (a blocked update for no supported edition is a validation warning, profile.profile_warnings)."""
    supported = set(profile.os.editions)
    return [b.kb for b in profile.patching.blocked() if not b.editions or supported & set(b.editions)]


def _derive(name: str, control: Control, loaded: LoadedProfile, host: HostContext) -> Any:
    profile = loaded.profile
    derivations: dict[str, Callable[[], Any]] = {
        "firewall_rules": lambda: firewall_rules(profile, host),
        "management_rule": lambda: management_rule(profile, host),
        "local_admins": lambda: local_admins(profile, host),
        "applocker_rules": lambda: sorted(applocker.rule_signatures(applocker.profile_policy(profile))),
        "nameplate": lambda: nameplate(loaded, host)[control.check["property"]],
        "subscription_manager": lambda: subscription_manager(profile),
        # 0 would mean "never lock": the idle time must be set and no longer than the profile's.
        "screen_lock_range": lambda: [1, profile.accounts.screen_lock_seconds],
        "usb_allowed_device_ids": lambda: usb_allowed_device_ids(profile),
        "au_install_day": lambda: wuschedule.install_day(profile.patching.maintenance_window),
        "au_install_hour": lambda: wuschedule.install_hour(profile.patching.maintenance_window),
        "quality_deferral_days": lambda: wuschedule.quality_deferral_days(profile.patching),
        "blocked_kb_ids": lambda: blocked_kb_ids(profile),
    }
    return derivations[name]()


def _expected(control: Control, loaded: LoadedProfile, host: HostContext) -> Any:
    spec = control.expected
    if spec is None:
        return None
    if spec.derive is not None:
        return _derive(spec.derive, control, loaded, host)
    if spec.profile is not None:
        value = profile_value(loaded.profile, spec.profile)
        if spec.map is not None:
            key = value if value in spec.map else str(value).lower()
            if key not in spec.map:
                raise ResolutionError(f"{control.id}: no map entry for profile value {value!r}")
            value = spec.map[key]
        return value
    return spec.value


def _not_applicable(control: Control, profile: Profile) -> str | None:
    cls = profile.classification
    if cls.type not in control.applies_to.types or cls.group not in control.applies_to.groups:
        return f"not required for class {cls.label}"
    for condition in control.when:
        if not condition.holds(profile_value(profile, condition.profile)):
            return f"applies only when {condition.describe()}"
    return None


def resolve(catalog: Catalog, loaded: LoadedProfile, host: HostContext, today: date) -> Baseline:
    profile = loaded.profile
    if host.wsus_target_group and profile.patching.wsus:
        wsus = profile.patching.wsus.model_copy(update={"target_group": host.wsus_target_group})
        patching = profile.patching.model_copy(update={"wsus": wsus})
        loaded = loaded.model_copy(update={"profile": profile.model_copy(update={"patching": patching})})
        profile = loaded.profile
    waivers = {w.control: w for w in profile.waivers}
    mandatory = floor.mandatory_controls(profile, lambda dotted: profile_value(profile, dotted))
    longest = floor.waiver_start(profile, today) + timedelta(days=floor.max_waiver_days())
    notes: list[str] = list(wuschedule.patching_notes(profile.patching))
    resolved = []
    for control in catalog.controls:
        reason = _not_applicable(control, profile)
        status = "not_applicable" if reason else "applicable"
        waiver = waivers.get(control.id)
        waiver_info = None
        if waiver and status == "applicable":
            if control.id in mandatory:
                notes.append(f"{control.id}: waiver ignored, the control cannot be waived ({mandatory[control.id]})")
            elif waiver.expires > longest:
                notes.append(f"{control.id}: waiver ignored, it runs past {longest.isoformat()} (the safety floor's "
                             "longest waiver)")
            elif waiver.expires >= today:
                status, reason = "waived", waiver.reason
                waiver_info = {"reason": waiver.reason, "owner": waiver.owner, "expires": waiver.expires.isoformat()}
            else:
                notes.append(f"{control.id}: waiver expired on {waiver.expires.isoformat()}, the control applies")
        resolved.append(ResolvedControl(
            id=control.id,
            title=control.title,
            area=control.area,
            severity=control.severity,
            check=dict(control.check),
            expected=_expected(control, loaded, host) if status != "not_applicable" else None,
            compare=control.compare,
            build=control.build,
            status=status,
            reason=reason,
            waiver=waiver_info,
            mandatory=control.id in mandatory,
            references=plain(control.references, exclude_defaults=True),
            rationale=control.rationale,
            build_reason=control.build_reason,
            meanings=control.value_meanings(),
        ))
    if loaded.draft:
        notes.append(f"profile {profile.id} is a DRAFT, not approved by MT engineering: results are provisional")
    return Baseline(
        host=host.name,
        declared_class=str(host.declared_class) if host.declared_class else None,
        profile_class=profile.classification.label,
        profile={"id": profile.id, "version": profile.profile_version, "sha256": loaded.sha256,
                 "source": loaded.source, **hand_over(profile)},
        catalog_version=catalog.version,
        toolkit_version=__version__,
        resolved_on=today.isoformat(),
        controls=tuple(resolved),
        notes=tuple(notes),
        exceptions=tuple(floor.active_exceptions(profile, today)),
        site=host.site.identity() if host.site else None,
    )
