"""Resolved baseline + facts document -> one host's result: a status and evidence per control.

Every control of the baseline gets exactly one status:

- `pass` / `fail`: compared, with expected and actual values as evidence;
- `error`: the fact could not be read (the collector reported a failure for its section, or the
  section is missing from the document); the message says why;
- `waived`: an unexpired waiver applies (reason, owner and expiry shown); the control is still
  evaluated so the report shows what the machine has and whether it would pass;
- `not_applicable`: the control does not apply to this class or profile (reason shown).

One small extractor per check method reads the fact; one comparator per compare operator
(`compare.py`) decides. Facts are indexed once per host (case-insensitive registry keys, services,
firewall rules normalised once), so a host takes milliseconds.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

from . import applocker, lifecycle
from . import sids as sids_of
from .baseline import (
    ALL_PROFILES,
    BUILTIN_ADMINISTRATOR,
    MANAGED_RULE_GROUP,
    Baseline,
    ResolvedControl,
    normalise_address,
)
from .classification import Evidence, MtClass, observe_class
from .compare import as_list, as_number, compare

STATUSES = ("pass", "fail", "error", "waived", "not_applicable")
HOST_STATUSES = ("ok", "unreachable", "error")

# Text values whose name says they are secret are compared but never shown (Winlogon DefaultPassword).
# Only names that END in a secret word, and only text: MinimumPasswordLength, ClearTextPassword (0/1)
# and PasswordComplexity stay visible.
SECRET_NAME = re.compile(r"(password|passwd|passphrase|pwd|secret|token|private.?key|api.?key)$", re.IGNORECASE)
REDACTED = "<redacted>"
# A registry value the collector reported as present without reading its data (a secret).
PRESENT_NOT_READ = "<present; value not collected>"
# The longest message taken from a facts document into a report.
MAX_MESSAGE = 300
# Facts older than this get a note: the report describes the machine as it was then.
STALE_FACTS_DAYS = 7

WINDOWS_UPDATE_KEY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate"
REGISTRY_TYPES = {
    "dword": "REG_DWORD", "qword": "REG_QWORD", "string": "REG_SZ", "expandstring": "REG_EXPAND_SZ",
    "multistring": "REG_MULTI_SZ", "binary": "REG_BINARY",
}
WINRM_PORTS = (5985, 5986)
# Service states that a missing service satisfies (a service that is not installed cannot run).
SATISFIED_BY_ABSENCE = {"disabled", "stopped"}
# optional feature states that count as "disabled".
DISABLED_FEATURE_STATES = {"disabled", "disabledwithpayloadremoved", "disabled_with_payload_removed",
                           "absent", "not_present"}


# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class ControlResult:
    id: str
    title: str
    area: str
    severity: str
    method: str
    status: str  # pass | fail | error | waived | not_applicable
    compare: str
    expected: Any = None
    actual: Any = None
    message: str | None = None  # why it failed / errored / is not applicable
    notes: list[str] = field(default_factory=list)  # warnings that do not change the status
    waiver: dict[str, Any] | None = None
    mandatory: bool = False
    references: dict[str, Any] = field(default_factory=dict)
    rationale: str = ""
    meanings: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "area": self.area, "severity": self.severity,
            "method": self.method, "status": self.status, "compare": self.compare,
            "expected": self.expected, "actual": self.actual, "message": self.message,
            "notes": list(self.notes), "waiver": self.waiver, "mandatory": self.mandatory,
            "references": self.references, "rationale": self.rationale,
            **({"meanings": dict(self.meanings)} if self.meanings else {}),
        }


@dataclass
class HostResult:
    host: str
    status: str = "ok"  # ok | unreachable | error
    error: str | None = None
    declared_class: str | None = None  # the inventory's (or --class)
    profile_class: str | None = None  # the profile's
    nameplate_class: str | None = None  # written on the machine by the build
    observed_type: str | None = None  # W | WM | M as the evidence on the machine suggests
    class_evidence: list[str] = field(default_factory=list)
    profile: dict[str, Any] | None = None  # id, version, sha256
    catalog_version: str | None = None
    collected_at: str | None = None
    system: dict[str, Any] = field(default_factory=dict)  # a short summary, never the raw facts
    controls: list[ControlResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    duration_ms: float | None = None
    # The safety floor's exceptions in force for this host's profile (floor.active_exceptions).
    exceptions: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in STATUSES}
        for c in self.controls:
            out[c.status] += 1
        return out

    @property
    def verdict(self) -> str:
        """unreachable | error (host level) | fail (a control failed or errored) | pass."""
        if self.status != "ok":
            return self.status
        counts = self.counts()
        return "fail" if counts["fail"] or counts["error"] else "pass"

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host, "status": self.status, "error": self.error, "verdict": self.verdict,
            "declared_class": self.declared_class, "profile_class": self.profile_class,
            "nameplate_class": self.nameplate_class, "observed_type": self.observed_type,
            "class_evidence": list(self.class_evidence), "profile": self.profile,
            "catalog_version": self.catalog_version, "collected_at": self.collected_at,
            "system": self.system, "summary": self.counts(), "notes": list(self.notes),
            "duration_ms": self.duration_ms, "controls": [c.to_dict() for c in self.controls],
            "exceptions": [dict(e) for e in self.exceptions],
        }


# ---------------------------------------------------------------------------------------------
# Facts index


def norm_registry_key(text: str) -> str:
    text = str(text).strip().rstrip("\\")
    for long, short in (("HKEY_LOCAL_MACHINE", "HKLM"), ("HKEY_CURRENT_USER", "HKCU"), ("HKEY_USERS", "HKU")):
        if text.upper().startswith(long):
            text = short + text[len(long):]
    text = re.sub(r"^(HK[A-Z]+):\\?", r"\1\\", text)
    return text.casefold()


def _fold_map(value: Any) -> dict[str, Any]:
    return {str(k).casefold(): v for k, v in value.items()} if isinstance(value, dict) else {}


def _clip(text: Any) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


class FactsIndex:
    """One facts document, indexed once for every control of the host."""

    def __init__(self, facts: dict[str, Any]):
        self.raw = facts if isinstance(facts, dict) else {}
        self.errors = [e for e in (self.raw.get("errors") or []) if isinstance(e, dict)]
        # key -> {value name -> entry}; None for a key the collector could not read.
        self.registry: dict[str, dict[str, Any] | None] = {}
        # key -> {value name as the collector reported it -> entry} (registry_values shows the names).
        self.registry_named: dict[str, dict[str, Any]] = {}
        registry = self.raw.get("registry")
        if isinstance(registry, dict):
            for k, values in registry.items():
                self.registry[norm_registry_key(k)] = _fold_map(values) if isinstance(values, dict) else None
                if isinstance(values, dict):
                    self.registry_named[norm_registry_key(k)] = {str(n): v for n, v in values.items()}

    def has(self, section: str) -> bool:
        return self.raw.get(section) is not None

    def section_error(self, section: str, item: str | None = None) -> str | None:
        """The collector's error for a section; with `item`, preferably the entry naming that item
        (the collector prefixes per-item messages with the registry key or group SID)."""
        entries = [e for e in self.errors if str(e.get("section", "")).casefold() == section.casefold()]
        if item:
            entries.sort(key=lambda e: item.casefold() not in str(e.get("message", "")).casefold())
        if not entries:
            return None
        return f"collector could not read {section}: {_clip(entries[0].get('message') or 'no message')}"

    def not_requested(self, section: str, what: str) -> Obs:
        return Obs(error=f"fact missing: {what} is not in the facts document ({section} collected without it; "
                   "collect with the request of this profile, see `mtk request`)")

    def missing(self, section: str, what: str | None = None, item: str | None = None) -> Obs:
        err = self.section_error(section, item)
        if err:
            return Obs(error=err)
        return Obs(error=f"fact missing: {what or section} is not in the facts document")

    def registry_key(self, key: str) -> tuple[bool, dict[str, Any] | None]:
        """(collected, values): values None when the collector could not read the key."""
        folded = norm_registry_key(key)
        return folded in self.registry, self.registry.get(folded)

    @cached_property
    def services(self) -> dict[str, Any]:
        return _fold_map(self.raw.get("services"))

    @cached_property
    def audit_policy(self) -> dict[str, Any]:
        return {_guid(k): v for k, v in (self.raw.get("audit_policy") or {}).items()}

    @cached_property
    def security_policy(self) -> dict[str, dict[str, Any]]:
        return {str(k).casefold(): _fold_map(v) for k, v in (self.raw.get("security_policy") or {}).items()}

    @cached_property
    def rules(self) -> list[dict[str, Any]]:
        firewall = self.raw.get("firewall") or {}
        return [normalise_rule(r) for r in (firewall.get("rules") or []) if isinstance(r, dict)]

    @cached_property
    def applocker_modes(self) -> dict[str, str] | None:
        section = self.raw.get("applocker") or {}
        if self.policy_xml:
            return {k.casefold(): v for k, v in applocker.collection_modes(self.policy_xml).items()}
        collections = section.get("collections")
        if isinstance(collections, dict):
            modes = {c.casefold(): "NotConfigured" for c in (*applocker.MANAGED_COLLECTIONS, "Dll")}
            for name, info in collections.items():
                mode = info.get("mode") if isinstance(info, dict) else info
                modes[str(name).casefold()] = mode or "NotConfigured"
            return modes
        return None

    @cached_property
    def policy_xml(self) -> str | None:
        text = (self.raw.get("applocker") or {}).get("policy_xml")
        return text.strip() or None if isinstance(text, str) else None

    @cached_property
    def applocker_signatures(self) -> set[str]:
        return applocker.rule_signatures(self.policy_xml)

    @cached_property
    def local_groups(self) -> dict[str, Any]:
        return {str(k).upper(): v for k, v in (self.raw.get("local_groups") or {}).items()}

    @cached_property
    def optional_features(self) -> dict[str, Any]:
        return _fold_map(self.raw.get("optional_features"))


def _guid(text: str) -> str:
    return str(text).strip().strip("{}").casefold()


# ---------------------------------------------------------------------------------------------
# Firewall rule normalisation (shared by firewall_rules and firewall_management)

_PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmpv4", "58": "icmpv6"}
_ANY = {"any", "*", ""}


def _norm_ports(value: Any) -> list[str]:
    ports = [str(p).strip().casefold() for p in as_list(value)]
    if any(p in _ANY for p in ports):
        return []
    return sorted(set(ports), key=lambda p: (int(p.split("-")[0]) if p.split("-")[0].isdigit() else 1 << 20, p))


def _norm_remote(value: Any) -> list[str]:
    out = set()
    for entry in as_list(value):
        text = str(entry).strip()
        if text.casefold() in _ANY:
            return []
        try:
            out.add(normalise_address(str(ipaddress.ip_network(text, strict=False))))
        except ValueError:
            out.add(text.casefold())  # keywords (LocalSubnet, DNS) and ranges (a-b)
    return sorted(out)


def _norm_profiles(value: Any) -> list[str]:
    names = {str(p).strip().casefold() for p in as_list(value)}
    if not names or names & _ANY:
        return sorted(p.casefold() for p in ALL_PROFILES)
    return sorted(names)


def normalise_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A firewall rule in a comparable form: lists sorted, case and spelling variants folded."""
    direction = str(rule.get("direction", "")).casefold()
    protocol = str(rule.get("protocol", "any")).casefold()
    program = rule.get("program")
    program = None if program is None or str(program).strip().casefold() in _ANY else str(program).strip().casefold()
    enabled = rule.get("enabled")
    if isinstance(enabled, str):
        enabled = enabled.strip().casefold() in ("true", "1", "yes")
    return {
        "name": str(rule.get("name", "")).strip().casefold(),
        "group": str(rule.get("group") or "").strip().casefold(),
        "direction": {"inbound": "in", "outbound": "out"}.get(direction, direction),
        "action": str(rule.get("action", "")).casefold(),
        "enabled": bool(enabled),
        "protocol": _PROTOCOLS.get(protocol, protocol),
        "local_ports": _norm_ports(rule.get("local_ports")),
        "remote_ports": _norm_ports(rule.get("remote_ports")),
        "remote_addresses": _norm_remote(rule.get("remote_addresses")),
        "program": program,
        "profiles": _norm_profiles(rule.get("profiles")),
    }


def rule_identity(rule: dict[str, Any]) -> str:
    """One readable string per normalised rule; two rules are the same when their strings are."""
    def joined(items: list[str]) -> str:
        return ",".join(items) or "any"
    return (f"{rule['name']}: {rule['direction']} {rule['action']} {rule['protocol']}"
            f" local_ports={joined(rule['local_ports'])} remote_ports={joined(rule['remote_ports'])}"
            f" remote={joined(rule['remote_addresses'])} program={rule['program'] or 'any'}"
            f" profiles={joined(rule['profiles'])} {'enabled' if rule['enabled'] else 'disabled'}")


def _port_covers(ports: list[str], wanted: int) -> bool:
    if not ports:
        return True
    for port in ports:
        low, _, high = port.partition("-")
        if low.isdigit() and int(low) <= wanted <= int(high or low):
            return True
    return False


def _address_range(text: str) -> tuple[Any, Any] | None:
    try:
        if "-" in text:
            low, high = (ipaddress.ip_address(p.strip()) for p in text.split("-", 1))
            return low, high
        network = ipaddress.ip_network(text, strict=False)
        return network.network_address, network.broadcast_address
    except ValueError:
        return None


def _remote_covers(remote: list[str], address: str) -> bool:
    if not remote:
        return True  # any address
    wanted = _address_range(address)
    if wanted is None:
        return False
    for entry in remote:
        have = _address_range(entry)
        if have and type(have[0]) is type(wanted[0]) and have[0] <= wanted[0] and wanted[1] <= have[1]:
            return True
    return False


# ---------------------------------------------------------------------------------------------
# Extractors: one per check method


_UNSET: Any = object()


@dataclass
class Obs:
    """What an extractor found. Without `verdict` the control's comparator decides."""

    actual: Any = None
    error: str | None = None
    verdict: str | None = None  # pass | fail | not_applicable
    message: str | None = None
    notes: list[str] = field(default_factory=list)
    expected: Any = _UNSET  # replaces the baseline's expected value (comparison and evidence)
    compare: str | None = None  # replaces the compare operator
    patterns: bool = False  # expected items may be fnmatch patterns (SIDs such as S-1-5-21-*-500)


@dataclass
class Context:
    baseline: Baseline
    facts: FactsIndex
    today: date
    warn_days: int
    applications: list[dict[str, Any]]

    @cached_property
    def evidence(self) -> Evidence:
        view = dict(self.facts.raw)
        if isinstance(view.get("services"), dict):
            # The collector lists every requested service, null when it is not installed: only the
            # installed ones are evidence.
            view["services"] = {k: v for k, v in view["services"].items() if v}
        try:
            return observe_class(view, self.applications)
        except Exception as err:  # noqa: BLE001 - malformed programs/services/registry sections
            return Evidence(None, (f"class evidence unreadable ({type(err).__name__}: {_clip(err)})",))


Extractor = Callable[[ResolvedControl, Context], Obs]


def _key_values(facts: FactsIndex, key: str) -> dict[str, Any] | Obs:
    """The collected values of one registry key, or the observation saying why there are none."""
    if not facts.has("registry"):
        return facts.missing("registry")
    collected, values = facts.registry_key(key)
    if not collected:
        return facts.not_requested("registry", f"registry key {key}")
    if values is None:
        err = facts.section_error("registry", key)
        return Obs(error=err or f"collector could not read registry key {key}")
    return values


def _registry(control: ResolvedControl, ctx: Context, key_param: str = "key") -> Obs:
    check = control.check
    values = _key_values(ctx.facts, check[key_param])
    if isinstance(values, Obs):
        return values
    name = "" if check["name"] in ("(default)", "(Default)") else str(check["name"])
    entry = values.get(name.casefold())
    if entry is None:
        return Obs(actual=None)  # the value does not exist: not set
    if isinstance(entry, dict) and entry.get("present") is True and "value" not in entry:
        return Obs(actual=PRESENT_NOT_READ)  # collected as presence only (collection.py)
    if isinstance(entry, dict) and "value" in entry:
        value, kind = entry.get("value"), entry.get("type")
    else:
        value, kind = entry, None
    notes = []
    wanted = REGISTRY_TYPES.get(str(check.get("type", "")).casefold())
    if kind and wanted and str(kind).upper() != wanted:
        notes.append(f"stored as {kind}, the catalog expects {wanted}")
    return Obs(actual=value, notes=notes)


def _registry_policy(control: ResolvedControl, ctx: Context) -> Obs:
    """The effective value: the Group Policy value where it exists, else the local one."""
    policy = _registry(control, ctx)
    if policy.error or policy.actual is not None:
        return policy
    local = _registry(control, ctx, "fallback_key")
    if not local.error:
        local.notes.append(f"no policy value under {control.check['key']}: the local value counts")
    return local


def _registry_values(control: ResolvedControl, ctx: Context) -> Obs:
    """Every value of one key as {name: data}: {} when the key does not exist. Value names are
    compared without regard to case (equals on mappings), as Windows treats them."""
    facts, check = ctx.facts, control.check
    values = _key_values(facts, check["key"])
    if isinstance(values, Obs):
        return values
    actual: dict[str, Any] = {}
    stray_kinds: list[str] = []
    wanted = REGISTRY_TYPES.get(str(check.get("type", "")).casefold())
    for name, entry in sorted(facts.registry_named[norm_registry_key(check["key"])].items()):
        if isinstance(entry, dict) and "value" in entry:
            actual[name] = entry.get("value")
            kind = entry.get("type")
            if kind and wanted and str(kind).upper() != wanted:
                stray_kinds.append(f"{name} ({kind})")
        else:
            actual[name] = entry
    notes = [f"stored as another type than {wanted}: {', '.join(stray_kinds)}"] if stray_kinds else []
    message = None
    expected = control.expected
    if isinstance(expected, dict) and control.compare == "equals":
        message = _mapping_difference(actual, expected)
    return Obs(actual=actual, notes=notes, message=message)


def _mapping_difference(actual: dict[str, Any], expected: dict[str, Any]) -> str | None:
    """Which value names are missing, unexpected or different (names without regard to case)."""
    have = {str(k).casefold(): (k, v) for k, v in actual.items()}
    want = {str(k).casefold(): (k, v) for k, v in expected.items()}
    missing = [want[n][0] for n in want if n not in have]
    unexpected = [have[n][0] for n in have if n not in want]
    different = [want[n][0] for n in want if n in have and not compare("equals", have[n][1], want[n][1]).ok]
    parts = [f"{label}: {', '.join(str(n) for n in names)}" for label, names in
             (("missing", missing), ("unexpected", unexpected), ("different", different)) if names]
    return "; ".join(parts) or None


def _audit_policy(control: ResolvedControl, ctx: Context) -> Obs:
    if not ctx.facts.has("audit_policy"):
        return ctx.facts.missing("audit_policy")
    guid = _guid(control.check["guid"])
    if guid not in ctx.facts.audit_policy:
        return ctx.facts.missing("audit_policy", f"audit subcategory {control.check['guid']}", guid)
    return Obs(actual=ctx.facts.audit_policy[guid])


def _strip_star(value: Any) -> Any:
    if isinstance(value, list):
        return [_strip_star(v) for v in value]
    if isinstance(value, str) and value.startswith("*S-"):
        return value[1:]
    return value


def _security_policy(control: ResolvedControl, ctx: Context) -> Obs:
    facts, check = ctx.facts, control.check
    if not facts.has("security_policy"):
        return facts.missing("security_policy")
    section = facts.security_policy.get(str(check["section"]).casefold())
    if section is None:
        return facts.missing("security_policy", f"security policy section [{check['section']}]", check["section"])
    value = section.get(str(check["key"]).casefold())
    expected = control.expected
    if isinstance(expected, (list, str)):
        expected = _strip_star(expected)
    # secedit leaves out settings nobody defined (a privilege right with no holders): not set.
    return Obs(actual=_strip_star(value), expected=expected)


def _service(control: ResolvedControl, ctx: Context) -> Obs:
    facts, check = ctx.facts, control.check
    if not facts.has("services"):
        return facts.missing("services")
    name = str(check["name"])
    if name.casefold() not in facts.services:
        return facts.not_requested("services", f"service {name}")
    info = facts.services[name.casefold()]
    if not isinstance(info, dict):  # requested, not installed
        message = f"service {name} is not installed"
        if isinstance(control.expected, str) and control.expected.casefold() in SATISFIED_BY_ABSENCE \
                and control.compare in ("equals", "one_of"):
            return Obs(actual=None, verdict="pass", message=message)
        return Obs(actual=None, message=message)
    return Obs(actual=info.get(check["property"]))


def _firewall_profile(control: ResolvedControl, ctx: Context) -> Obs:
    firewall = ctx.facts.raw.get("firewall") or {}
    profiles = firewall.get("profiles")
    if not isinstance(profiles, dict):
        return ctx.facts.missing("firewall", "firewall.profiles")
    folded = _fold_map(profiles)
    prop = control.check["property"]
    actual, missing, failed = {}, [], []
    for name in ALL_PROFILES:
        profile = folded.get(name.casefold())
        if not isinstance(profile, dict) or prop not in profile:
            missing.append(name)
            continue
        actual[name] = profile[prop]
        if not compare(control.compare, profile[prop], control.expected).ok:
            failed.append(name)
    if missing:
        err = ctx.facts.section_error("firewall")
        return Obs(actual=actual or None,
                   error=err or f"fact missing: firewall profile(s) {', '.join(missing)} without {prop}")
    if failed:
        return Obs(actual=actual, verdict="fail", message=f"not as expected in: {', '.join(failed)}")
    return Obs(actual=actual, verdict="pass")


def _firewall_rules(control: ResolvedControl, ctx: Context) -> Obs:
    firewall = ctx.facts.raw.get("firewall") or {}
    if not isinstance(firewall.get("rules"), list):
        return ctx.facts.missing("firewall", "firewall.rules")
    group = str(control.check["group"]).casefold()
    actual = sorted(rule_identity(r) for r in ctx.facts.rules if r["group"] == group)
    expected = sorted(rule_identity(normalise_rule(r)) for r in as_list(control.expected) if isinstance(r, dict))
    op = "set_equals" if control.compare == "equals" else None
    return Obs(actual=actual, expected=expected, compare=op)


def _management_addresses(expected: Any) -> list[str] | None:
    if isinstance(expected, dict):
        return _norm_remote(expected.get("remote_addresses"))
    if isinstance(expected, list) and all(isinstance(e, str) for e in expected):
        return _norm_remote(expected)
    return None


def _firewall_management(control: ResolvedControl, ctx: Context) -> Obs:
    firewall = ctx.facts.raw.get("firewall") or {}
    if not isinstance(firewall.get("rules"), list):
        return ctx.facts.missing("firewall", "firewall.rules")
    zone = _management_addresses(control.expected)
    candidates = [
        r for r in ctx.facts.rules
        if r["enabled"] and r["direction"] == "in" and r["action"] == "allow" and r["protocol"] in ("tcp", "any")
        and any(_port_covers(r["local_ports"], p) for p in WINRM_PORTS)
    ]
    notes = []
    if zone is None:
        notes.append("no management zone in the baseline: any source address accepted")
        matching = candidates
    else:
        matching = [r for r in candidates if all(_remote_covers(r["remote_addresses"], a) for a in zone)]
    shown_expected = {"direction": "in", "action": "allow", "protocol": "tcp", "local_ports": "5985 or 5986",
                      "remote_addresses": zone if zone is not None else "any", "enabled": True}
    if matching:
        return Obs(actual=sorted(rule_identity(r) for r in matching), verdict="pass", expected=shown_expected,
                   notes=notes)
    message = "no enabled inbound allow rule for WinRM (TCP 5985/5986)"
    if zone is not None:
        message += f" from the management zone ({', '.join(zone) or 'empty'})"
    return Obs(actual=sorted(rule_identity(r) for r in candidates), verdict="fail", message=message,
               expected=shown_expected, notes=notes)


def _firewall_open_rules(control: ResolvedControl, ctx: Context) -> Obs:
    """Enabled allow rules outside the managed group that admit any traffic in one direction:
    no protocol, port, address or program restriction (what `allow any` drift looks like)."""
    firewall = ctx.facts.raw.get("firewall") or {}
    if not isinstance(firewall.get("rules"), list):
        return ctx.facts.missing("firewall", "firewall.rules")
    direction = str(control.check["direction"])
    open_rules = sorted(
        r["name"] for r in ctx.facts.rules
        if r["enabled"] and r["action"] == "allow" and r["direction"] == direction
        and r["group"] != MANAGED_RULE_GROUP and r["protocol"] == "any" and not r["local_ports"]
        and not r["remote_ports"] and not r["remote_addresses"] and r["program"] is None
    )
    return Obs(actual=open_rules)


def _defender(control: ResolvedControl, ctx: Context) -> Obs:
    section = ctx.facts.raw.get("defender")
    if not isinstance(section, dict):
        return ctx.facts.missing("defender")
    if section.get("present") is False:
        return Obs(actual=None, message="Microsoft Defender is not present")
    source, prop = control.check["source"], control.check["property"]
    values = section.get(source)
    if not isinstance(values, dict):
        return ctx.facts.missing("defender", f"defender.{source}", source)
    folded = _fold_map(values)
    if prop.casefold() not in folded:
        return ctx.facts.missing("defender", f"defender.{source}.{prop}", prop)
    value = folded[prop.casefold()]
    if value is None and isinstance(control.expected, list):
        value = []  # Get-MpPreference returns null for an empty exclusion list
    return Obs(actual=value)


def _applocker(control: ResolvedControl, ctx: Context) -> Obs:
    section = ctx.facts.raw.get("applocker")
    if not isinstance(section, dict):
        return ctx.facts.missing("applocker")
    collection, prop = control.check["collection"], control.check["property"]
    if prop == "mode":
        try:
            modes = ctx.facts.applocker_modes
        except Exception as err:  # noqa: BLE001 - ElementTree.ParseError and friends: the machine's XML
            return Obs(error=f"AppLocker policy XML unreadable: {_clip(err)}")
        if modes is None:
            return ctx.facts.missing("applocker", "applocker.policy_xml / applocker.collections")
        return Obs(actual=modes.get(collection.casefold(), "NotConfigured"))
    if prop == "rules":
        if ctx.facts.policy_xml is None:
            info = _fold_map(section.get("collections")).get(collection.casefold())
            if not isinstance(info, dict) or (as_number(info.get("rule_count")) or 0) > 0:
                return ctx.facts.missing("applocker", "applocker.policy_xml (the rules themselves)")
        try:
            signatures = ctx.facts.applocker_signatures
        except Exception as err:  # noqa: BLE001
            return Obs(error=f"AppLocker policy XML unreadable: {_clip(err)}")
        prefix = f"{collection}:".casefold()
        actual = sorted(s for s in signatures if s.casefold().startswith(prefix))
        expected = sorted(s for s in as_list(control.expected) if str(s).casefold().startswith(prefix))
        return Obs(actual=actual, expected=expected, compare="set_equals" if control.compare == "equals" else None)
    collections = _fold_map(section.get("collections"))
    info = collections.get(collection.casefold())
    if not isinstance(info, dict) or prop not in info:
        return ctx.facts.missing("applocker", f"applocker.collections.{collection}.{prop}", collection)
    return Obs(actual=info[prop])


def _wdac(control: ResolvedControl, ctx: Context) -> Obs:
    section = ctx.facts.raw.get("wdac")
    if not isinstance(section, dict):
        return ctx.facts.missing("wdac")
    prop = control.check["property"]
    if prop not in section:
        return ctx.facts.missing("wdac", f"wdac.{prop}", prop)
    return Obs(actual=section[prop])


def _parse_day(text: Any) -> date | None:
    if not text:
        return None
    text = str(text).strip()
    for parse in (lambda t: date.fromisoformat(t[:10]), lambda t: datetime.strptime(t.split()[0], "%m/%d/%Y").date()):
        try:
            return parse(text)
        except ValueError:
            continue
    return None


def _hotfix(control: ResolvedControl, ctx: Context) -> Obs:
    hotfixes = ctx.facts.raw.get("hotfixes")
    if not isinstance(hotfixes, list):
        return ctx.facts.missing("hotfixes")
    prop = control.check["property"]
    installed = sorted({str(h.get("id", "")).upper() for h in hotfixes if isinstance(h, dict) and h.get("id")})
    op = control.compare
    if prop == "max_age_days":
        if not installed:
            return Obs(actual=None, verdict="fail", message="no hotfix installed")
        dates = [(d, str(h.get("id"))) for h in hotfixes if isinstance(h, dict) and (d := _parse_day(h.get("installed_on")))]
        if not dates:
            return Obs(error="no hotfix carries an install date (Get-HotFix InstalledOn empty)")
        newest, kb = max(dates)
        age = (ctx.today - newest).days
        return Obs(actual=age, compare="at_most" if op == "equals" else None,
                   notes=[f"newest hotfix {kb} installed {newest.isoformat()}"])
    if prop == "installed":
        return Obs(actual=installed)
    return Obs(error=f"the evaluator knows no hotfix property {prop!r}")


def _programs(control: ResolvedControl, ctx: Context) -> Obs:
    programs = ctx.facts.raw.get("programs")
    if not isinstance(programs, list):
        return ctx.facts.missing("programs")
    prop = control.check["property"]
    if prop != "profile_applications_present":
        return Obs(error=f"the evaluator knows no programs property {prop!r}")
    names = [str(p.get("name", "")) for p in programs if isinstance(p, dict)]
    actual: dict[str, str | None] = {}
    for app in ctx.applications:
        pattern = str(app.get("uninstall_display_name", "")).casefold()
        actual[app["name"]] = next((n for n in names if fnmatch.fnmatchcase(n.casefold(), pattern)), None)
    missing = [name for name, hit in actual.items() if hit is None]
    expected = {app["name"]: app.get("uninstall_display_name") for app in ctx.applications}
    if not ctx.applications:
        return Obs(actual={}, expected={}, verdict="pass", notes=["the profile lists no applications"])
    if missing:
        return Obs(actual=actual, expected=expected, verdict="fail", message=f"not installed: {', '.join(missing)}")
    return Obs(actual=actual, expected=expected, verdict="pass")


def _local_group(control: ResolvedControl, ctx: Context) -> Obs:
    if not ctx.facts.has("local_groups"):
        return ctx.facts.missing("local_groups")
    sid = str(control.check["sid"]).upper()
    if sid not in ctx.facts.local_groups:
        return ctx.facts.not_requested("local_groups", f"local group {sid}")
    group = ctx.facts.local_groups[sid]
    if not isinstance(group, dict) or not isinstance(group.get("members"), list):
        return Obs(error=ctx.facts.section_error("local_groups", sid) or f"collector could not read local group {sid}")
    sids = sorted(str(m.get("sid")) if isinstance(m, dict) else str(m) for m in group["members"])
    compare_as = "set_equals" if control.compare == "equals" else None
    if isinstance(control.expected, list) and BUILTIN_ADMINISTRATOR in control.expected:
        machine = sids_of.machine_sid(ctx.facts.raw)
        if machine:
            return Obs(actual=sids, expected=sids_of.expand_builtin_administrator(control.expected, machine),
                       patterns=True, compare=compare_as)
        if any(sids_of.is_any_administrator(s) for s in sids):
            return Obs(error="the machine SID is unknown (host.machine_sid): a RID-500 member cannot be told "
                             "from a domain's Administrator")
    return Obs(actual=sids, patterns=True, compare=compare_as)


def _smb(control: ResolvedControl, ctx: Context) -> Obs:
    section = ctx.facts.raw.get("smb")
    if not isinstance(section, dict):
        return ctx.facts.missing("smb")
    prop = str(control.check["property"])
    if prop not in section:
        return ctx.facts.missing("smb", f"smb.{prop}", prop)
    return Obs(actual=section[prop])


def _optional_feature(control: ResolvedControl, ctx: Context) -> Obs:
    if not ctx.facts.has("optional_features"):
        return ctx.facts.missing("optional_features")
    name = str(control.check["name"])
    if name.casefold() not in ctx.facts.optional_features:
        return ctx.facts.not_requested("optional_features", f"optional feature {name}")
    state = ctx.facts.optional_features[name.casefold()]
    expected = control.expected
    if isinstance(expected, str) and expected.casefold() == "disabled" and control.compare == "equals":
        # A feature this build does not have (SMB1 on recent LTSC) or whose payload is removed is off.
        raw = None if state is None else str(state).casefold()
        if raw is None or raw in DISABLED_FEATURE_STATES:
            return Obs(actual=state, verdict="pass")
        return Obs(actual=state, verdict="fail")
    return Obs(actual=state)


def _os(control: ResolvedControl, ctx: Context) -> Obs:
    os_facts = ctx.facts.raw.get("os")
    if not isinstance(os_facts, dict):
        return ctx.facts.missing("os")
    prop = control.check["property"]
    edition_id, build = os_facts.get("edition_id"), as_number(os_facts.get("current_build"))
    if prop in ("supported_edition", "lifecycle", "min_patch_level") and (not edition_id or build is None):
        return ctx.facts.missing("os", "os.edition_id / os.current_build")
    build = int(build) if build is not None else None
    if prop == "supported_edition":
        edition = lifecycle.identify(str(edition_id), build)
        actual = edition.id if edition else f"unknown ({edition_id} build {build})"
        op = "one_of" if control.compare == "equals" and isinstance(control.expected, list) else None
        notes = [edition.name] if edition else []
        return Obs(actual=actual, compare=op, notes=notes)
    if prop == "lifecycle":
        # supported | ending_soon (within warn_days) | ended | unknown. The catalog's expected list
        # decides when it gives one; otherwise supported and ending_soon pass. Ending soon is always
        # a warning note (and a host note), whatever the status.
        support = lifecycle.os_support(str(edition_id), build, ctx.today, ctx.warn_days)
        actual = {"status": support.status,
                  "edition": support.edition.id if support.edition else None,
                  "end_of_support": support.edition.end_of_support.isoformat() if support.edition else None,
                  "days_left": support.days_left}
        expected = control.expected if control.expected is not None else ["supported", "ending_soon"]
        ok = compare("one_of" if isinstance(expected, list) else "equals", support.status, expected).ok
        notes = [support.message] if support.status == "ending_soon" else []
        return Obs(actual=actual, expected=expected, verdict="pass" if ok else "fail",
                   message=None if ok else support.message,
                   notes=notes if ok else [], compare="one_of" if isinstance(expected, list) else None)
    if prop == "min_patch_level":
        ubr = as_number(os_facts.get("ubr"))
        if ubr is None:
            return ctx.facts.missing("os", "os.ubr")
        minimum = _min_ubr(control.expected, build)
        actual = f"{build}.{int(ubr)}"
        if minimum is None:
            return Obs(actual=actual, verdict="not_applicable", expected=None,
                       message=f"the profile sets no minimum patch level for build {build}")
        return Obs(actual=actual, expected=f"{build}.{minimum} or later",
                   verdict="pass" if ubr >= minimum else "fail")
    if prop not in os_facts:
        return ctx.facts.missing("os", f"os.{prop}", prop)
    return Obs(actual=os_facts[prop])


def _min_ubr(expected: Any, build: int) -> int | None:
    if isinstance(expected, dict):
        value = expected.get(build, expected.get(str(build)))
        return None if value is None else int(as_number(value) or 0)
    number = as_number(expected)
    return None if number is None else int(number)


def _nameplate(control: ResolvedControl, ctx: Context) -> Obs:
    plate = ctx.facts.raw.get("nameplate")
    if plate is None:
        err = ctx.facts.section_error("nameplate")
        return Obs(error=err) if err else Obs(actual=None, message="no nameplate on the machine")
    if not isinstance(plate, dict):
        return Obs(error="nameplate in the facts document is not a mapping")
    return Obs(actual=plate.get(control.check["property"]))


def _class_evidence(control: ResolvedControl, ctx: Context) -> Obs:
    check = class_check(ctx)
    actual = {"declared": check["declared"], "profile": check["profile"], "nameplate": check["nameplate"],
              "observed_type": check["observed_type"], "evidence": check["evidence"]}
    notes = list(check["notes"])
    if check["findings"]:
        return Obs(actual=actual, expected=check["declared"], verdict="fail",
                   message="; ".join(check["findings"]), notes=notes)
    return Obs(actual=actual, expected=check["declared"], verdict="pass", notes=notes)


def class_check(ctx: Context) -> dict[str, Any]:
    """Declared class (inventory) vs the profile's vs the nameplate's vs what the machine shows."""
    baseline = ctx.baseline
    notes: list[str] = []
    declared = baseline.declared_class
    if declared is None:
        declared = baseline.profile_class
        notes.append(f"no declared class given: the profile's class {declared} is assumed")
    plate = ctx.facts.raw.get("nameplate")
    nameplate = str(plate.get("class")) if isinstance(plate, dict) and plate.get("class") else None
    evidence = ctx.evidence
    findings = []
    if declared != baseline.profile_class:
        findings.append(f"declared class {declared} but profile {baseline.profile.get('id')} is for "
                        f"{baseline.profile_class}")
    if nameplate and nameplate.upper() != declared.upper():
        findings.append(f"nameplate says {nameplate}, declared {declared}")
    declared_type = _class_type(declared)
    if evidence.observed_type is None:
        findings.append(f"the machine does not look like {declared_type} ({'; '.join(evidence.reasons)})")
    elif declared_type and evidence.observed_type != declared_type:
        findings.append(f"the machine looks like {evidence.observed_type}, declared {declared} "
                        f"({'; '.join(evidence.reasons)})")
    return {"declared": declared, "profile": baseline.profile_class, "nameplate": nameplate,
            "observed_type": evidence.observed_type, "evidence": list(evidence.reasons),
            "findings": findings, "notes": notes}


def _class_type(label: str | None) -> str | None:
    try:
        return MtClass.parse(label).type if label else None
    except ValueError:
        return None


EXTRACTORS: dict[str, Extractor] = {
    "registry": _registry,
    "registry_policy": _registry_policy,
    "registry_values": _registry_values,
    "audit_policy": _audit_policy,
    "security_policy": _security_policy,
    "service": _service,
    "firewall_profile": _firewall_profile,
    "firewall_rules": _firewall_rules,
    "firewall_management": _firewall_management,
    "firewall_open_rules": _firewall_open_rules,
    "defender": _defender,
    "applocker": _applocker,
    "wdac": _wdac,
    "hotfix": _hotfix,
    "programs": _programs,
    "local_group": _local_group,
    "optional_feature": _optional_feature,
    "smb": _smb,
    "os": _os,
    "nameplate": _nameplate,
    "class_evidence": _class_evidence,
}

# The synthetic control that reports a class mismatch when the catalog has no class_evidence control.
CLASS_CONTROL_ID = "CLASS-EVIDENCE"


# ---------------------------------------------------------------------------------------------
# Evaluation


def _is_secret(control: ResolvedControl) -> bool:
    check = control.check
    names = [check.get("name"), check.get("property")]
    if check.get("method") == "security_policy":
        names.append(check.get("key"))  # for registry, `key` is the path
    return any(SECRET_NAME.search(str(n).strip()) for n in names if n)


def _redact(value: Any) -> Any:
    """Text (or lists holding text) becomes REDACTED; numbers and booleans stay."""
    if isinstance(value, str) or (isinstance(value, list) and any(isinstance(v, str) for v in value)):
        return REDACTED
    return value


def _base_result(control: ResolvedControl, status: str) -> ControlResult:
    return ControlResult(
        id=control.id, title=control.title, area=control.area, severity=control.severity,
        method=str(control.check.get("method")), status=status, compare=control.compare,
        expected=control.expected, waiver=control.waiver, mandatory=control.mandatory,
        references=dict(control.references), rationale=control.rationale, meanings=dict(control.meanings),
    )


def evaluate_control(control: ResolvedControl, ctx: Context) -> ControlResult:
    if control.status == "not_applicable":
        result = _base_result(control, "not_applicable")
        result.message = control.reason
        return result
    waived = control.status == "waived"
    notes: list[str] = []
    if waived and control.waiver:
        expires = _parse_day(control.waiver.get("expires"))
        if expires and expires < ctx.today:
            waived = False
            notes.append(f"waiver expired on {expires.isoformat()}: the control applies")
        elif expires and (expires - ctx.today).days <= 30:
            notes.append(f"waiver expires on {expires.isoformat()} ({(expires - ctx.today).days} days)")
    result = _base_result(control, "error")
    extractor = EXTRACTORS.get(result.method)
    if extractor is None:
        result.message = f"the evaluator has no extractor for method {result.method!r}"
        return result
    try:
        obs = extractor(control, ctx)
        expected = control.expected if obs.expected is _UNSET else obs.expected
        if obs.error:
            status, message = "error", obs.error
        elif obs.verdict:
            status, message = obs.verdict, obs.message
        else:
            outcome = compare(obs.compare or control.compare, obs.actual, expected, obs.patterns)
            status = "pass" if outcome.ok else "fail"
            message = outcome.message if not outcome.ok else None
            if obs.message and not outcome.ok:
                message = obs.message if message in (None, "not set") else f"{obs.message}; {message}"
            elif obs.message:
                notes.append(obs.message)
        result.compare = obs.compare or control.compare
        result.expected = expected
        result.actual = obs.actual
        notes.extend(obs.notes)
    except Exception as err:  # noqa: BLE001 - a malformed facts document must not stop the other controls
        status, message = "error", f"unexpected facts shape for this check ({type(err).__name__}: {_clip(err)})"
    if _is_secret(control) and _redact(result.actual) is REDACTED:
        result.actual = REDACTED
        if message and message not in ("not set", "is set"):
            message = "the value differs (not shown: secret)"
    if waived:
        result.message = f"waived: {control.waiver['reason'] if control.waiver else control.reason}"
        if status in ("pass", "fail"):
            notes.insert(0, f"would {status}" + (f": {message}" if message and status == "fail" else ""))
        elif status == "error":
            notes.insert(0, f"could not be evaluated: {message}")
        result.status = "waived"
    else:
        result.status, result.message = status, message
    result.notes = notes
    return result


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _system_summary(facts: FactsIndex) -> dict[str, Any]:
    host = _mapping(facts.raw.get("host"))
    os_facts = _mapping(facts.raw.get("os"))
    collector = _mapping(facts.raw.get("collector"))
    summary = {
        "computer_name": host.get("computer_name"), "domain": host.get("domain"),
        "part_of_domain": host.get("part_of_domain"), "edition_id": os_facts.get("edition_id"),
        "build": os_facts.get("current_build"), "ubr": os_facts.get("ubr"),
        "display_version": os_facts.get("display_version"),
        "collector_version": collector.get("version"),
    }
    if os_facts.get("edition_id") and as_number(os_facts.get("current_build")):
        edition = lifecycle.identify(str(os_facts["edition_id"]), int(as_number(os_facts["current_build"]) or 0))
        summary["os"] = edition.name if edition else None
    return {k: v for k, v in summary.items() if isinstance(v, (str, int, float, bool)) or v is None}


def evaluate(baseline: Baseline, facts: dict[str, Any], today: date,
             profile_applications: list[dict[str, Any]] | None = None, warn_days: int = 180) -> HostResult:
    """Evaluate every control of a host's baseline against its facts document.

    `profile_applications`: the profile's applications as dicts (`Application.model_dump()`), the
    class evidence and the programs check look for them. `warn_days`: how long before the end of
    OS support the lifecycle control warns (status stays pass, with a note).
    """
    started = datetime.now()
    index = FactsIndex(facts)
    apps = [dict(a) for a in (profile_applications or [])]
    ctx = Context(baseline, index, today, warn_days, apps)
    result = HostResult(
        host=baseline.host, declared_class=baseline.declared_class, profile_class=baseline.profile_class,
        profile=report_profile(baseline),
        catalog_version=baseline.catalog_version, collected_at=_text_or_none(index.raw.get("collected_at")),
        system=_system_summary(index), notes=list(baseline.notes), exceptions=list(baseline.exceptions),
    )
    result.controls = [evaluate_control(control, ctx) for control in baseline.controls]
    check = class_check(ctx)
    result.nameplate_class, result.observed_type = check["nameplate"], check["observed_type"]
    result.class_evidence = check["evidence"]
    if not any(c.check.get("method") == "class_evidence" for c in baseline.controls):
        result.controls.append(_synthetic_class_result(check))
    if index.errors:
        sections = sorted({str(e.get("section")) for e in index.errors})
        result.notes.append(f"the collector reported errors for: {', '.join(sections)}")
    collected = _parse_day(index.raw.get("collected_at"))
    if collected and (today - collected).days > STALE_FACTS_DAYS:
        result.notes.append(f"facts collected {collected.isoformat()}, {(today - collected).days} days before "
                            "this evaluation")
    for control, outcome in zip(baseline.controls, result.controls):
        if control.check.get("property") == "lifecycle" and outcome.status == "pass":
            result.notes.extend(outcome.notes)  # support ending soon: a warning for the whole host
    result.duration_ms = round((datetime.now() - started).total_seconds() * 1000, 3)
    return result


# The profile as a report shows it: identity and hash, and what the hand-over needs (profile.hand_over).
REPORT_PROFILE_KEYS = ("id", "version", "sha256", "application", "manufacturer", "approved_by", "approved_date",
                       "sources", "procedures")


def report_profile(baseline: Baseline) -> dict[str, Any]:
    return {k: baseline.profile[k] for k in REPORT_PROFILE_KEYS if k in baseline.profile}


def _synthetic_class_result(check: dict[str, Any]) -> ControlResult:
    return ControlResult(
        id=CLASS_CONTROL_ID, title="The machine's class matches the declared class",
        area="classification", severity="high", method="class_evidence",
        status="fail" if check["findings"] else "pass", compare="equals", expected=check["declared"],
        actual={k: check[k] for k in ("declared", "profile", "nameplate", "observed_type", "evidence")},
        message="; ".join(check["findings"]) or None, notes=list(check["notes"]),
        rationale="The class decides which controls apply; a machine classed wrongly is verified against "
        "the wrong baseline (added by the evaluator: the catalog has no class_evidence control).",
    )


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def failed_host(name: str, status: str, reason: str, baseline: Baseline | None = None,
                declared_class: str | None = None) -> HostResult:
    """A host that could not be evaluated (unreachable, collection or resolution failed)."""
    if status not in ("unreachable", "error"):
        raise ValueError(f"host status must be unreachable or error, not {status!r}")
    result = HostResult(host=name, status=status, error=_clip(reason), declared_class=declared_class)
    if baseline is not None:
        result.declared_class = baseline.declared_class or declared_class
        result.profile_class = baseline.profile_class
        result.profile = report_profile(baseline)
        result.catalog_version = baseline.catalog_version
        result.notes = list(baseline.notes)
        result.exceptions = list(baseline.exceptions)
    return result
