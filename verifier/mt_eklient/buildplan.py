"""Resolved baseline -> the inputs of the build's generic appliers.

The Ansible roles write no control value themselves: every value they pass to a module or an
applier script comes from here, and everything here comes from the resolved baseline (catalog +
profile + host variables). The number of module calls therefore does not grow with the catalog:
all registry values go to one `registry` applier call, all audit settings to one `audit_policy`
call, and so on.

Two steps:

- `build_plan(baseline, loaded)` runs on the controller before anything touches the host. It is
  pure (no clock, no host access) and raises `BuildPlanError` when the plan would be unsafe
  (WinRM unreachable after the build, contradictory values).
- `finalize_plan(plan, host, now)` completes the plan with what only the host can tell (its
  machine SID for the built-in Administrator, the local names of groups, its local clock for the
  maintenance window, the nameplate already there) and decides whether the operating system is
  one the profile may be built on.
"""

from __future__ import annotations

import copy
import fnmatch
import ipaddress
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from . import sids
from .catalog import BUILDABLE_METHODS, METHOD_PARAMS
from .classification import MtClass, build_refusal
from .lifecycle import Support, editions, os_support
from .plaindata import plain
from .profile import LoadedProfile
from .resolve import (
    BUILTIN_ADMINISTRATOR,
    MANAGEMENT_RULE_NAME,
    Baseline,
    HostContext,
    ResolvedControl,
    management_rule,
    nameplate,
)

PLAN_VERSION = 1
NAMEPLATE_KEY = r"HKLM\SOFTWARE\mt-eklient\Nameplate"
# The nameplate value that records when the build ran; it changes only with the other values.
NAMEPLATE_BUILT_AT = "built_at"
# AppLocker enforces nothing while the Application Identity service is stopped.
APPLOCKER_SERVICE = "AppIDSvc"
ADMINISTRATORS_SID = "S-1-5-32-544"

REGISTRY_TYPES = {"dword": int, "qword": int, "string": str, "expandstring": str, "multistring": list, "binary": str}
AUDIT_SETTINGS = frozenset({"no_auditing", "success", "failure", "success_and_failure"})
SERVICE_START_MODES = {"auto": "auto", "automatic": "auto", "delayed": "delayed", "auto_delayed": "delayed",
                       "manual": "manual", "disabled": "disabled"}
SERVICE_STATES = {"running": "started", "started": "started", "stopped": "stopped"}
FIREWALL_ACTIONS = frozenset({"allow", "block"})
FEATURE_STATES = {"disabled": "absent", "absent": "absent", "enabled": "present", "present": "present"}
DEFENDER_EXCLUSIONS = ("ExclusionPath", "ExclusionProcess", "ExclusionExtension")
# Protection features Windows will not let a local script turn off while tamper protection is on.
TAMPER_GUARDED = ("DisableRealtimeMonitoring", "DisableBehaviorMonitoring", "DisableIOAVProtection",
                  "DisableOnAccessProtection", "DisableScriptScanning")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# Which compare operators the build can turn into one value to write. `at_most`/`at_least` write
# the bound itself, `between` its upper bound, `one_of` its first choice, the list compares the expected list itself;
# `absent` removes. Anything else (`present`, `contains`, `not_contains`) is verified only.
_WRITE_COMPARES = frozenset({
    "equals", "at_most", "at_least", "between", "one_of", "set_equals", "subset_of", "superset_of",
})


class BuildPlanError(Exception):
    """The plan cannot be built safely; the message says which control or profile field and why."""


@dataclass(frozen=True)
class Refusal:
    reason: str
    overridable: bool = False


def _target(control: ResolvedControl) -> tuple[str, Any]:
    """('set', value) | ('remove', None) | ('skip', why) for one applicable build control."""
    if control.compare == "absent":
        return "remove", None
    if control.compare not in _WRITE_COMPARES:
        return "skip", f"compare {control.compare} has no single value to write (verified only)"
    value = control.expected
    if control.compare == "between":
        if not isinstance(value, list) or len(value) != 2:
            return "skip", "between without [low, high]"
        value = value[1]
    if control.compare == "one_of":
        if not isinstance(value, list) or not value:
            return "skip", "one_of without choices"
        value = value[0]
    return "set", value


def _registry_data(control: ResolvedControl, value: Any) -> Any:
    kind = control.check["type"]
    if kind in ("dword", "qword"):
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise BuildPlanError(f"{control.id}: {kind} value {value!r} is not a number")
    if kind == "multistring":
        return [str(v) for v in (value if isinstance(value, list) else [value])]
    if kind == "binary":
        text = value.hex() if isinstance(value, bytes) else str(value)
        return text.replace(" ", "").replace(",", "").lower()
    if isinstance(value, bool):
        raise BuildPlanError(f"{control.id}: {kind} value {value!r} is a boolean, not text")
    return str(value)


def _conflict(kind: str, where: str, old: tuple[str, Any], new: tuple[str, Any]) -> None:
    if old[1] != new[1]:
        raise BuildPlanError(f"{new[0]}: {kind} {where} is also set by {old[0]} to {old[1]!r}, not {new[1]!r}")


class _Planner:
    def __init__(self, baseline: Baseline, loaded: LoadedProfile, host: HostContext | None):
        self.baseline = baseline
        self.loaded = loaded
        self.profile = loaded.profile
        self.host = host or HostContext(name=baseline.host)
        self.skipped: list[dict[str, str]] = []
        self.applied: dict[str, list[str]] = {}
        self.registry: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        self.registry_remove: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        self.registry_exact: dict[str, tuple[str, dict[str, Any]]] = {}  # folded key -> (id, ExactKeys entry)
        self.audit: dict[str, tuple[str, str]] = {}
        self.secpol: dict[tuple[str, str], tuple[str, Any]] = {}
        self.services: dict[str, dict[str, Any]] = {}
        self.firewall: dict[str, tuple[str, Any]] = {}
        self.rule_groups: dict[str, tuple[str, list[dict[str, Any]]]] = {}
        self.management: dict[str, Any] | None = None
        self.defender_prefs: dict[str, tuple[str, Any]] = {}
        self.defender_exclusions: dict[str, tuple[str, list[str]]] = {}
        self.applocker = False
        self.groups: dict[str, tuple[str, dict[str, Any]]] = {}
        self.features: dict[str, tuple[str, str]] = {}

    def skip(self, control: ResolvedControl, why: str) -> None:
        self.skipped.append({"id": control.id, "reason": why})

    def run(self) -> dict[str, Any]:
        if self.profile.whitelisting.engine != "applocker":
            # Building without the whitelisting the profile asks for would leave the client open.
            raise BuildPlanError(f"whitelisting.engine {self.profile.whitelisting.engine!r}: the build applies "
                                 "AppLocker only; deploy the manufacturer's WDAC policy and verify it with mtk scan")
        for control in self.baseline.controls:
            method = control.check["method"]
            if not control.build or method not in BUILDABLE_METHODS:
                continue
            if control.status != "applicable":
                self.skip(control, f"{control.status}: {control.reason}")
                continue
            action, value = _target(control)
            if action == "skip":
                self.skip(control, value)
                continue
            handler = getattr(self, f"_m_{method}")
            if handler(control, action, value) is not False:
                self.applied.setdefault(method, []).append(control.id)
        return self.assemble()

    # -- one handler per buildable method (catalog.METHOD_PARAMS) ---------------------------

    def _m_registry(self, c: ResolvedControl, action: str, value: Any) -> bool:
        where = (c.check["key"], c.check["name"])
        if action == "remove":
            if where in self.registry:
                raise BuildPlanError(f"{c.id}: registry {where[0]}\\{where[1]} must be absent but "
                                     f"{self.registry[where][0]} sets it")
            self.registry_remove[where] = (c.id, {"key": where[0], "name": where[1]})
            return True
        if where in self.registry_remove:
            raise BuildPlanError(f"{c.id}: registry {where[0]}\\{where[1]} is set but "
                                 f"{self.registry_remove[where][0]} requires it absent")
        entry = {"key": where[0], "name": where[1], "type": c.check["type"], "data": _registry_data(c, value)}
        if where in self.registry:
            old_id, old = self.registry[where]
            _conflict("registry value", f"{where[0]}\\{where[1]}", (old_id, (old["type"], old["data"])),
                      (c.id, (entry["type"], entry["data"])))
        self.registry[where] = (c.id, entry)
        return True

    def _m_registry_policy(self, c: ResolvedControl, action: str, value: Any) -> bool:
        """The build writes the policy value, which wins over the local one."""
        return self._m_registry(c, action, value)

    def _m_registry_values(self, c: ResolvedControl, action: str, value: Any) -> bool:
        """The key ends up with exactly these values (the applier removes every other one)."""
        key = str(c.check["key"])
        if action != "set" or c.compare != "equals":
            self.skip(c, f"compare {c.compare}: only equals gives the exact values of {key} (verified only)")
            return False
        if not isinstance(value, dict):
            raise BuildPlanError(f"{c.id}: the values of {key} must be a mapping of value names to data, "
                                 f"not {type(value).__name__}")
        folded = [str(n).casefold() for n in value]
        if len(set(folded)) != len(folded):
            raise BuildPlanError(f"{c.id}: value names of {key} differ only in case: {sorted(map(str, value))}")
        entry = {"key": key, "type": c.check["type"],
                 "values": {str(n): _registry_data(c, d) for n, d in value.items()}}
        if key.casefold() in self.registry_exact:
            old_id, old = self.registry_exact[key.casefold()]
            _conflict("registry key", key, (old_id, (old["type"], old["values"])),
                      (c.id, (entry["type"], entry["values"])))
        self.registry_exact[key.casefold()] = (c.id, entry)
        return True

    def _exact_key_conflicts(self) -> None:
        """A registry (or removal) control inside a key whose values are exact must agree with them,
        or the applier would write and remove the same value in every run."""
        for exact_id, exact in self.registry_exact.values():
            names = {n.casefold(): (n, d) for n, d in exact["values"].items()}
            for (key, name), (control_id, entry) in self.registry.items():
                if key.casefold() != exact["key"].casefold():
                    continue
                listed = names.get(name.casefold())
                if listed is None or listed[1] != entry["data"] or entry["type"] != exact["type"]:
                    raise BuildPlanError(f"{control_id}: registry {key}\\{name} is set, but {exact_id} makes the values "
                                         f"of {exact['key']} exactly {sorted(exact['values'])} ({exact['type']})")
            for (key, name), (control_id, _) in self.registry_remove.items():
                if key.casefold() == exact["key"].casefold() and name.casefold() in names:
                    raise BuildPlanError(f"{control_id}: registry {key}\\{name} must be absent, but {exact_id} "
                                         f"writes it")

    def _m_audit_policy(self, c: ResolvedControl, action: str, value: Any) -> bool:
        if action == "remove":
            value = "no_auditing"
        guid = str(c.check["guid"]).lower()
        setting = str(value).lower()
        if setting not in AUDIT_SETTINGS:
            raise BuildPlanError(f"{c.id}: audit setting {value!r} unknown; known: {', '.join(sorted(AUDIT_SETTINGS))}")
        if guid in self.audit:
            _conflict("audit subcategory", guid, self.audit[guid], (c.id, setting))
        self.audit[guid] = (c.id, setting)
        return True

    def _m_security_policy(self, c: ResolvedControl, action: str, value: Any) -> bool:
        if action == "remove":
            self.skip(c, "security policy entries cannot be removed by the build (verified only)")
            return False
        where = (c.check["section"], c.check["key"])
        if where in self.secpol:
            _conflict("security policy", f"[{where[0]}] {where[1]}", self.secpol[where], (c.id, value))
        self.secpol[where] = (c.id, value)
        return True

    def _m_service(self, c: ResolvedControl, action: str, value: Any) -> bool:
        name, prop = c.check["name"], c.check["property"]
        if action == "remove":
            self.skip(c, "the build does not delete services (verified only)")
            return False
        table = SERVICE_START_MODES if prop == "start_mode" else SERVICE_STATES if prop == "state" else None
        if table is None:
            self.skip(c, f"service property {prop!r} is not set by the build")
            return False
        key = str(value).lower()
        if key not in table:
            raise BuildPlanError(f"{c.id}: service {prop} {value!r} unknown; known: {', '.join(sorted(table))}")
        entry = self.services.setdefault(name.lower(), {"name": name, "area": c.area, "controls": []})
        if prop in entry and entry[prop] != table[key]:
            raise BuildPlanError(f"{c.id}: service {name} {prop} is also set to {entry[prop]!r}")
        entry[prop] = table[key]
        entry["controls"].append(c.id)
        return True

    def _m_firewall_profile(self, c: ResolvedControl, action: str, value: Any) -> bool:
        prop = c.check["property"]
        if prop == "enabled":
            value = "enabled" if value in (True, "true", "enabled") else "disabled"
        elif prop in ("default_inbound_action", "default_outbound_action"):
            value = str(value).lower()
            if value not in FIREWALL_ACTIONS:
                raise BuildPlanError(f"{c.id}: firewall action {value!r} unknown; known: allow, block")
        elif prop == "allow_local_firewall_rules":
            # The build's rules (the WinRM management rule first of all) live in the local store:
            # turning local rule merge off without delivering them by Group Policy locks the build
            # out. Verified only; a site that wants merge off delivers the rule group by GPO.
            self.skip(c, "local rule merge is not switched by the build: the managed rules are local "
                         "(merge off would drop the WinRM management rule); deliver them by GPO (verified only)")
            return False
        else:
            self.skip(c, f"firewall profile property {prop!r} is not set by the build")
            return False
        if prop in self.firewall:
            _conflict("firewall profile", prop, self.firewall[prop], (c.id, value))
        self.firewall[prop] = (c.id, value)
        return True

    def _m_firewall_rules(self, c: ResolvedControl, action: str, value: Any) -> bool:
        group = c.check["group"]
        rules = [] if action == "remove" else value
        if not isinstance(rules, list):
            raise BuildPlanError(f"{c.id}: firewall rules of group {group} must be a list")
        if group in self.rule_groups:
            _conflict("firewall rule group", group, self.rule_groups[group], (c.id, rules))
        self.rule_groups[group] = (c.id, copy.deepcopy(rules))
        return True

    def _m_firewall_management(self, c: ResolvedControl, action: str, value: Any) -> bool:
        if isinstance(value, dict):
            self.management = copy.deepcopy(value)
        return True

    def _m_firewall_open_rules(self, c: ResolvedControl, action: str, value: Any) -> bool:
        """Allow-any rules outside the managed group are disabled (not deleted: reversible, and a
        Windows rule stays where it was); which rules is known only from the host's facts."""
        if action != "set" or value != []:
            self.skip(c, f"firewall_open_rules expects no open rule, not {value!r} (verified only)")
            return False
        return True

    def _m_defender(self, c: ResolvedControl, action: str, value: Any) -> bool:
        if c.check["source"] != "preferences":
            self.skip(c, "Defender status is a result, not a setting (verified only)")
            return False
        prop = c.check["property"]
        if prop in DEFENDER_EXCLUSIONS:
            items = [] if action == "remove" else value
            if not isinstance(items, list):
                raise BuildPlanError(f"{c.id}: {prop} must be a list")
            if prop in self.defender_exclusions:
                _conflict("Defender", prop, self.defender_exclusions[prop], (c.id, items))
            self.defender_exclusions[prop] = (c.id, [str(i) for i in items])
            return True
        if action == "remove":
            self.skip(c, f"Defender preference {prop} cannot be removed (verified only)")
            return False
        if prop in self.defender_prefs:
            _conflict("Defender preference", prop, self.defender_prefs[prop], (c.id, value))
        self.defender_prefs[prop] = (c.id, value)
        return True

    def _m_applocker(self, c: ResolvedControl, action: str, value: Any) -> bool:
        if self.profile.whitelisting.engine != "applocker":
            self.skip(c, f"whitelisting engine is {self.profile.whitelisting.engine} (AppLocker not built)")
            return False
        self.applocker = True
        return True

    def _m_local_group(self, c: ResolvedControl, action: str, value: Any) -> bool:
        sid = c.check["sid"]
        members = value if isinstance(value, list) else [value]
        state = {"set_equals": "pure", "subset_of": "pure", "equals": "pure"}.get(c.compare, "present")
        if action == "remove":
            self.skip(c, "removing a whole group is not part of the build (verified only)")
            return False
        if not members:
            # win_group_membership cannot empty a group; the verifier still reports stray members.
            self.skip(c, f"group {sid} must be empty: not enforced by the build (verified only)")
            return False
        entry = {"sid": sid, "members": sorted(str(m) for m in members), "state": state}
        if sid in self.groups:
            _conflict("local group", sid, self.groups[sid], (c.id, entry))
        self.groups[sid] = (c.id, entry)
        return True

    def _m_optional_feature(self, c: ResolvedControl, action: str, value: Any) -> bool:
        state = "absent" if action == "remove" else FEATURE_STATES.get(str(value).lower())
        if state is None:
            raise BuildPlanError(f"{c.id}: optional feature state {value!r} unknown; known: disabled, enabled")
        name = c.check["name"]
        if name in self.features:
            _conflict("optional feature", name, self.features[name], (c.id, state))
        self.features[name] = (c.id, state)
        return True

    def _m_nameplate(self, c: ResolvedControl, action: str, value: Any) -> bool:
        return True  # the nameplate is always written, last

    # -- what each control makes the build write (the change set's "after") -------------------

    def targets(self) -> dict[str, dict[str, Any]]:
        """{control id: what the build writes for it}, for every control the build owns; the
        change set (changeset.py) compares these with the collected facts. Controls that share a
        setting share its target (the planner refused any disagreement)."""
        out: dict[str, dict[str, Any]] = {}
        by_id = {c.id: c for c in self.baseline.controls}
        for method, ids in self.applied.items():
            for cid in ids:
                out[cid] = self._target_of(method, by_id[cid].check)
        return out

    def _target_of(self, method: str, check: dict[str, Any]) -> dict[str, Any]:
        if method in ("registry", "registry_policy"):
            where = (check["key"], check["name"])
            if where in self.registry_remove:
                return {"kind": "registry_value", "key": where[0], "name": where[1], "remove": True}
            entry = self.registry[where][1]
            return {"kind": "registry_value", "key": where[0], "name": where[1], "value_type": entry["type"],
                    "data": entry["data"]}
        if method == "registry_values":
            entry = self.registry_exact[str(check["key"]).casefold()][1]
            return {"kind": "registry_key_values", "key": entry["key"], "value_type": entry["type"],
                    "values": dict(entry["values"])}
        if method == "audit_policy":
            guid = str(check["guid"]).lower()
            return {"kind": "audit_subcategory", "guid": guid, "setting": self.audit[guid][1]}
        if method == "security_policy":
            where = (check["section"], check["key"])
            return {"kind": "security_policy", "section": where[0], "key": where[1], "value": self.secpol[where][1]}
        if method == "service":
            entry = self.services[str(check["name"]).lower()]
            return {"kind": "service", "name": entry["name"], "property": check["property"],
                    "value": entry[check["property"]]}
        if method == "firewall_profile":
            return {"kind": "firewall_profile", "property": check["property"],
                    "value": self.firewall[check["property"]][1]}
        if method == "firewall_rules":
            return {"kind": "firewall_rule_group", "group": check["group"],
                    "rules": copy.deepcopy(self.rule_groups[check["group"]][1])}
        if method == "defender":
            prop = check["property"]
            if prop in self.defender_exclusions:
                return {"kind": "defender_exclusion", "property": prop, "items": list(self.defender_exclusions[prop][1])}
            return {"kind": "defender_preference", "property": prop, "value": self.defender_prefs[prop][1]}
        if method == "local_group":
            entry = self.groups[check["sid"]][1]
            return {"kind": "group_membership", "sid": entry["sid"], "members": list(entry["members"]),
                    "state": entry["state"]}
        if method == "optional_feature":
            return {"kind": "optional_feature", "name": check["name"], "state": self.features[check["name"]][1]}
        if method == "firewall_open_rules":
            return {"kind": method, "direction": check["direction"]}
        return {"kind": method}  # applocker, firewall_management, nameplate: targets come from the baseline

    # -- assembly ---------------------------------------------------------------------------

    def _management_rule(self) -> dict[str, Any]:
        rule = self.management
        if rule is None:
            for _, rules in self.rule_groups.values():
                rule = next((r for r in rules if r.get("name") == MANAGEMENT_RULE_NAME), None)
                if rule:
                    break
        if rule is None:
            rule = management_rule(self.profile, self.host)
        if not rule.get("remote_addresses"):
            raise BuildPlanError(
                f"{self.loaded.source}: network.management_zone: zone {self.profile.network.management_zone!r} has no "
                "addresses: WinRM would be unreachable after the build (set mt_zones or network.zones)")
        return copy.deepcopy(rule)

    def assemble(self) -> dict[str, Any]:
        profile = self.profile
        self._exact_key_conflicts()
        mgmt = self._management_rule()
        fw = {prop: value for prop, (_, value) in self.firewall.items()}
        firewall = None
        if any(p in fw for p in ("enabled", "default_inbound_action", "default_outbound_action")):
            firewall = {"profiles": ["Domain", "Private", "Public"], "state": fw.get("enabled", "enabled")}
            if "default_inbound_action" in fw:
                firewall["inbound_action"] = fw["default_inbound_action"]
            if "default_outbound_action" in fw:
                firewall["outbound_action"] = fw["default_outbound_action"]
            if firewall["state"] == "disabled":
                raise BuildPlanError(f"{self.firewall['enabled'][0]}: the build never turns the firewall off")
        rule_groups = []
        for group, (_, rules) in sorted(self.rule_groups.items()):
            rules = sorted(rules, key=lambda r: str(r.get("name")))
            if group == mgmt.get("group") and not any(r.get("name") == mgmt["name"] for r in rules):
                rules.insert(0, mgmt)  # the applier removes what it is not given: keep WinRM
            rule_groups.append({"Group": group, "Rules": rules})

        services = []
        for entry in sorted(self.services.values(), key=lambda e: e["name"].lower()):
            services.append({k: entry[k] for k in ("name", "area", "start_mode", "state") if k in entry}
                            | {"controls": entry["controls"]})
        applocker_policy = None
        if self.applocker:
            from .applocker import profile_policy

            applocker_policy = {"PolicyXml": profile_policy(profile)}
            if APPLOCKER_SERVICE.lower() not in self.services:
                services.append({"name": APPLOCKER_SERVICE, "area": "whitelisting", "start_mode": "auto",
                                 "state": "started",
                                 "controls": ["(AppLocker needs the Application Identity service)"]})

        defender = None
        if self.defender_prefs or self.defender_exclusions:
            defender = {
                "Preferences": {k: v for k, (_, v) in sorted(self.defender_prefs.items())},
                "Exclusions": {k: sorted(v) for k, (_, v) in sorted(self.defender_exclusions.items())},
            }

        features = {"absent": [], "present": []}
        for name, (_, state) in sorted(self.features.items()):
            features[state].append(name)

        np_values = self._nameplate_values()
        patching = profile.patching
        window = plain(patching.maintenance_window) if patching.maintenance_window else None
        updates = {
            "allowed": patching.policy not in ("vendor_managed",),
            "policy": patching.policy,
            "server_selection": "managed_server" if patching.wsus else "default",
            "accept_list": list(patching.approved_kbs) if patching.policy == "vendor_approved" else [],
            "reject_list": [b.kb for b in patching.blocked()],
        }
        compensating = []
        if not profile.antivirus.permitted:
            by_id = {c.id: c for c in self.baseline.controls}
            for control_id in profile.antivirus.compensating_controls:
                control = by_id.get(control_id)
                compensating.append({
                    "id": control_id,
                    "status": control.status if control else "unknown",
                    "built": bool(control and any(control_id in ids for ids in self.applied.values())),
                })

        plan: dict[str, Any] = {
            "plan_version": PLAN_VERSION,
            "host": self.baseline.host,
            "declared_class": self.baseline.declared_class,
            "class": self.baseline.profile_class,
            "group": profile.classification.group,
            "profile": {k: self.baseline.profile[k] for k in ("id", "version", "sha256", "source")},
            "catalog_version": self.baseline.catalog_version,
            "toolkit_version": self.baseline.toolkit_version,
            "os_editions": list(profile.os.editions),
            "registry": {
                "Values": [e for _, e in sorted(self.registry.values(), key=lambda x: (x[1]["key"].lower(), x[1]["name"]))],
                "RemoveValues": [e for _, e in sorted(self.registry_remove.values(),
                                                      key=lambda x: (x[1]["key"].lower(), x[1]["name"]))],
                "ExactKeys": [e for _, (_, e) in sorted(self.registry_exact.items())],
            },
            "audit_policy": {"Settings": [{"guid": g, "setting": s} for g, (_, s) in sorted(self.audit.items())]},
            "security_policy": {"Settings": _nest(self.secpol)},
            "defender": defender,
            "antivirus_permitted": profile.antivirus.permitted,
            "compensating_controls": compensating,
            "applocker": applocker_policy,
            "services": services,
            "firewall": firewall,
            "management_rule": mgmt,
            "firewall_rules": rule_groups,
            "features": features,
            "local_groups": [e for _, e in sorted(self.groups.values(), key=lambda x: x[1]["sid"])],
            "nameplate": {"key": NAMEPLATE_KEY, "values": np_values},
            "updates": updates,
            "maintenance_window": window,
            "reboot_automatic": patching.reboot.automatic,
            "applied_controls": {m: sorted(ids) for m, ids in sorted(self.applied.items())},
            "skipped_controls": self.skipped,
            "notes": list(self.baseline.notes),
        }
        plan["summary"] = summary(plan)
        return plan

    def _nameplate_values(self) -> list[dict[str, Any]]:
        plate = nameplate(self.loaded, self.host)
        values = {"class": ("string", plate["class"]),
                  "group": ("dword", self.profile.classification.group),
                  "profile_id": ("string", plate["profile_id"]),
                  "profile_version": ("dword", plate["profile_version"]),
                  "profile_sha256": ("string", plate["profile_sha256"]),
                  "catalog_version": ("string", self.baseline.catalog_version),
                  "toolkit_version": ("string", plate["toolkit_version"])}
        return [{"key": NAMEPLATE_KEY, "name": name, "type": kind, "data": data} for name, (kind, data) in values.items()]


def _nest(flat: dict[tuple[str, str], tuple[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for (section, key), (_, value) in sorted(flat.items()):
        out.setdefault(section, {})[key] = value
    return out


def build_plan(baseline: Baseline, loaded: LoadedProfile, host: HostContext | None = None) -> dict[str, Any]:
    """The applier inputs for one host. `host` gives site zone overrides for the management rule
    when the catalog has no firewall control that carries it (resolve_host's HostContext)."""
    if baseline.profile.get("id") != loaded.profile.id:
        raise BuildPlanError(f"baseline is for profile {baseline.profile.get('id')!r}, not {loaded.profile.id!r}")
    return _Planner(baseline, loaded, host).run()


def control_targets(baseline: Baseline, loaded: LoadedProfile,
                    host: HostContext | None = None) -> tuple[dict[str, dict[str, Any]], list[dict[str, str]]]:
    """({control id: what the build writes for it}, [{id, reason} the build skips]) for one host:
    the same planner as build_plan, so the change set and the appliers agree on every value."""
    planner = _Planner(baseline, loaded, host)
    planner.run()
    return planner.targets(), planner.skipped


def class_refusal(plan_or_baseline: dict[str, Any] | Baseline) -> Refusal | None:
    """Why the host's declared class forbids a build (M, W, or not the profile's class)."""
    if isinstance(plan_or_baseline, Baseline):
        declared, profile_class = plan_or_baseline.declared_class, plan_or_baseline.profile_class
    else:
        declared, profile_class = plan_or_baseline.get("declared_class"), plan_or_baseline["class"]
    if not declared:
        return Refusal("the inventory gives no mt_class for this host")
    reason = build_refusal(MtClass.parse(declared), MtClass.parse(profile_class))
    return Refusal(reason) if reason else None


def summary(plan: dict[str, Any]) -> list[str]:
    """What the build will apply, one line per applier, for the technician's log."""
    reg = plan["registry"]
    lines = [
        (f"host {plan['host']}: class {plan['class']}, profile {plan['profile']['id']} v{plan['profile']['version']} "
        f"(sha256 {plan['profile']['sha256'][:12]}), catalog {plan['catalog_version']}, toolkit {plan['toolkit_version']}"),
        (f"management rule: WinRM tcp/{','.join(plan['management_rule']['local_ports'])} from "
        f"{', '.join(plan['management_rule']['remote_addresses'])} (created first)"),
    ]
    if plan["firewall"]:
        fw = plan["firewall"]
        lines.append(f"firewall: all profiles {fw['state']}, inbound {fw.get('inbound_action', 'unchanged')}, "
                     f"outbound {fw.get('outbound_action', 'unchanged')}")
    for group in plan["firewall_rules"]:
        lines.append(f"firewall group {group['Group']!r}: exactly {len(group['Rules'])} rule(s): "
                     + ", ".join(r["name"] for r in group["Rules"]))
    exact = "".join(f", {e['key']} exactly {len(e['values'])} value(s)" for e in reg["ExactKeys"])
    lines.append(f"registry: {len(reg['Values'])} value(s) set, {len(reg['RemoveValues'])} removed{exact} (one call)")
    if plan["audit_policy"]["Settings"]:
        lines.append(f"audit policy: {len(plan['audit_policy']['Settings'])} subcategories by GUID")
    if plan["security_policy"]["Settings"]:
        count = sum(len(v) for v in plan["security_policy"]["Settings"].values())
        lines.append(f"security policy: {count} setting(s)")
    if plan["applocker"]:
        lines.append("AppLocker: policy generated from the profile")
    for svc in plan["services"]:
        lines.append(f"service {svc['name']}: start {svc.get('start_mode', 'unchanged')}, {svc.get('state', 'unchanged')}")
    if plan["defender"]:
        excl = plan["defender"]["Exclusions"]
        lines.append(f"Defender: {', '.join(f'{k}={v}' for k, v in plan['defender']['Preferences'].items()) or 'no preference'}"
                     + ("; exclusions exactly " + "; ".join(f"{k}={v}" for k, v in excl.items()) if excl else ""))
    if not plan["antivirus_permitted"]:
        lines.append("antivirus not permitted by the manufacturer: Defender left as required; mandatory compensating "
                     "controls " + ", ".join(f"{c['id']} ({c['status']})" for c in plan["compensating_controls"]))
    for state, names in plan["features"].items():
        if names:
            lines.append(f"optional features {state}: {', '.join(names)}")
    for group in plan["local_groups"]:
        lines.append(f"local group {group['sid']} {group['state']}: {', '.join(group['members'])}")
    lines.append(f"nameplate {NAMEPLATE_KEY} (written last)")
    not_applicable = [s["id"] for s in plan["skipped_controls"] if s["reason"].startswith("not_applicable")]
    for skipped in plan["skipped_controls"]:
        if skipped["id"] not in not_applicable:
            lines.append(f"not built: {skipped['id']}: {skipped['reason']}")
    if not_applicable:
        lines.append(f"not applicable here: {', '.join(not_applicable)}")
    lines.extend(f"note: {n}" for n in plan["notes"])
    return lines


# -- second step: what the host says ---------------------------------------------------------


def os_refusal(plan: dict[str, Any], os_facts: dict[str, Any], today: date) -> tuple[Refusal | None, Support]:
    """(refusal or None, support) for the host's operating system: LTSC only, supported, and an
    edition the profile's manufacturer validated (`os.editions`)."""
    edition_id = str(os_facts.get("edition_id") or "")
    try:
        build = int(os_facts.get("current_build") or 0)
    except (TypeError, ValueError):
        build = 0
    support = os_support(edition_id, build, today)
    if support.edition is None:
        return Refusal(f"{support.message}: mt-eklient builds LTSC editions only", overridable=True), support
    if support.status == "ended":
        return Refusal(f"{support.message}: no security updates, not buildable", overridable=True), support
    allowed = plan.get("os_editions") or []
    if support.edition.id not in allowed:
        names = ", ".join(editions()[e].name for e in allowed if e in editions())
        return (Refusal(f"{support.edition.name} is not validated by the manufacturer "
                        f"({plan['profile']['source']}: os.editions lists {names})", overridable=True), support)
    return None, support


def in_window(window: dict[str, Any] | None, local_now: datetime) -> bool:
    """Whether the host's local time lies in the maintenance window (windows may pass midnight)."""
    if not window:
        return False
    hour, minute = (int(p) for p in window["start"].split(":"))
    for back in (0, 1):
        day = local_now.date() - timedelta(days=back)
        if WEEKDAYS[day.weekday()] not in window["days"]:
            continue
        start = datetime(day.year, day.month, day.day, hour, minute, tzinfo=local_now.tzinfo)
        if start <= local_now < start + timedelta(hours=int(window["duration_hours"])):
            return True
    return False


def _parse_local(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text)).replace(tzinfo=None)
    except ValueError:
        return None


def _in_network(address: str, networks: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped:
        ip = mapped
    for net in networks:
        try:
            if ip in ipaddress.ip_network(net, strict=False):
                return True
        except ValueError:
            continue
    return False


def finalize_plan(plan: dict[str, Any], host: dict[str, Any], now: datetime, os_override: bool = False,
                  override_hint: str = "os_override") -> dict[str, Any]:
    """Complete the plan with the host's identity (from the read-only preflight script).

    `host` keys: os {edition_id, current_build, ubr, ...}, machine_sid, group_names {sid: name},
    local_time (ISO, the host's clock), winrm_peers [addresses], nameplate {name: value} or {}.
    Returns a new plan with `refusals`, `warnings`, `os`, `in_maintenance_window`, group names,
    expanded SIDs and the nameplate's built_at.
    """
    plan = copy.deepcopy(plan)
    refusals: list[str] = []
    warnings: list[str] = []
    refusal = class_refusal(plan)
    if refusal:
        refusals.append(refusal.reason)
    os_facts = host.get("os") or {}
    os_refused, support = os_refusal(plan, os_facts, now.date())
    if not os_facts:
        os_refused = Refusal("the host's operating system could not be read: " + "; ".join(
            str(e.get("message")) for e in host.get("errors") or [] if e.get("section") == "os"))
    elif support.status == "ending_soon":
        warnings.append(f"{support.message}: plan the move to a newer LTSC edition")
    plan["os"] = {**{k: os_facts.get(k) for k in ("edition_id", "current_build", "ubr", "product_name")},
                  "edition": support.edition.id if support.edition else None, "support": support.message}
    if os_refused:
        if os_override and os_refused.overridable:
            warnings.append(f"OS check overridden ({override_hint}): {os_refused.reason}")
        elif os_refused.overridable:
            refusals.append(f"{os_refused.reason} (lab use only: {override_hint}=true)")
        else:
            refusals.append(os_refused.reason)

    machine_sid = str(host.get("machine_sid") or "")
    names = {str(k).upper(): v for k, v in (host.get("group_names") or {}).items()}
    missing_groups = []
    for group in plan["local_groups"]:
        group["name"] = names.get(group["sid"].upper())
        if not group["name"]:
            missing_groups.append(group)
            if group["sid"] == ADMINISTRATORS_SID:
                refusals.append(f"local group {group['sid']} (Administrators) not found on the host")
            else:
                warnings.append(f"local group {group['sid']} not found on the host: its members are not set")
            continue
        expanded = []
        for member in group["members"]:
            if member == BUILTIN_ADMINISTRATOR or ("*" in member and fnmatch.fnmatch(f"{machine_sid}-500", member)):
                if not machine_sid:
                    refusals.append(f"local group {group['sid']}: the host did not report its machine SID, "
                                    f"cannot expand {member}")
                    continue
                expanded.append(f"{machine_sid}-500")
            elif "*" in member:
                refusals.append(f"local group {group['sid']}: member pattern {member} cannot be expanded")
            else:
                expanded.append(member)
        group["members"] = sorted(set(expanded))
    plan["local_groups"] = [g for g in plan["local_groups"] if g not in missing_groups]

    peers = [str(p) for p in host.get("winrm_peers") or []]
    mgmt = plan["management_rule"]["remote_addresses"]
    if peers and not any(_in_network(p, mgmt) for p in peers):
        refusals.append(f"this WinRM connection comes from {', '.join(sorted(set(peers)))}, outside the management zone "
                        f"({', '.join(mgmt)}): the firewall would lock the build out")
    elif not peers:
        # The controller's own route to ansible_host is the address the firewall will see; without a
        # winrm/psrp connection or a resolvable ansible_host there is none to check.
        warnings.append("the controller's address towards the host is unknown (not a winrm/psrp connection, or "
                        "ansible_host does not resolve): the preflight cannot check that the management zone admits "
                        "this controller; check it before the default-deny firewall applies")

    local_now = _parse_local(host.get("local_time"))
    if local_now is None:
        warnings.append("the host did not report its local time: no reboot or update install in this run")
    plan["in_maintenance_window"] = bool(local_now and in_window(plan.get("maintenance_window"), local_now))

    # Tamper protection silently ignores "turn protection off": asking anyway would report a change
    # on every run and leave Defender on. Say so once, plainly, and let the verifier report it.
    defender = host.get("defender") or {}
    if plan.get("defender") and (defender.get("status") or {}).get("IsTamperProtected"):
        current = defender.get("preferences") or {}
        for name in TAMPER_GUARDED:
            prefs = plan["defender"]["Preferences"]
            if prefs.get(name) is True and current.get(name) is not True:
                del prefs[name]
                warnings.append(f"Defender tamper protection is on: {name} cannot be set locally, Defender stays on "
                                f"against {plan['profile']['source']}; turn tamper protection off (Security Center "
                                "or Intune) and rerun")

    # built_at changes only together with the other nameplate values, so a rebuild reports no change.
    existing = {str(k): v for k, v in (host.get("nameplate") or {}).items()}
    target = {v["name"]: v["data"] for v in plan["nameplate"]["values"]}
    same = all(str(existing.get(k)) == str(v) for k, v in target.items())
    built_at = existing.get(NAMEPLATE_BUILT_AT) if same and existing.get(NAMEPLATE_BUILT_AT) else \
        now.strftime("%Y-%m-%dT%H:%M:%SZ")
    plan["nameplate"]["values"].append({"key": NAMEPLATE_KEY, "name": NAMEPLATE_BUILT_AT, "type": "string",
                                        "data": str(built_at)})
    plan["nameplate"]["current"] = same
    # A nameplate from another build must not survive a failed rebuild: the first registry call
    # removes it, the last one writes the new one.
    if existing and not same:
        plan["registry"]["RemoveValues"].extend(
            {"key": NAMEPLATE_KEY, "name": name} for name in sorted(existing))
    plan["refusals"] = refusals
    plan["warnings"] = warnings
    return plan


def host_local_time(facts: dict[str, Any], now: datetime, timezone: str | None = None,
                    trust_host_clock: bool = True) -> datetime:
    """The host's wall-clock time, which maintenance windows are written in: the host's own clock as
    the collector read it, else `now` in the site's time zone (or the controller's)."""
    host_clock = (facts.get("host") or {}).get("local_time")
    if host_clock and trust_host_clock:
        try:
            return datetime.fromisoformat(str(host_clock))
        except ValueError:
            pass
    if timezone:
        from zoneinfo import ZoneInfo

        return now.astimezone(ZoneInfo(timezone))
    return now.astimezone()


def host_identity(facts: dict[str, Any], local_time: str | None = None,
                  winrm_peers: list[str] | None = None) -> dict[str, Any]:
    """The `host` argument of `finalize_plan` from a facts document (the collector's output).

    The machine SID is the collector's (host.machine_sid), else read off a local account
    (COMPUTER\\user) in the requested groups: never off a RID-500 member, which may be a domain's.
    """
    groups = facts.get("local_groups") or {}
    machine_sid = sids.machine_sid(facts)
    return {
        "os": facts.get("os") or {},
        "machine_sid": machine_sid,
        "group_names": {sid: (group or {}).get("name") for sid, group in groups.items() if group},
        "local_time": local_time,
        "winrm_peers": winrm_peers or [],
        "nameplate": facts.get("nameplate") or {},
        "defender": facts.get("defender") or {},
        "errors": facts.get("errors") or [],
    }


def method_coverage() -> dict[str, str]:
    """Every catalog method and what the build does with it (documentation and tests)."""
    out = {}
    for method in METHOD_PARAMS:
        if method in BUILDABLE_METHODS:
            out[method] = f"_m_{method}" if hasattr(_Planner, f"_m_{method}") else "MISSING"
        else:
            out[method] = "verified only"
    return out
