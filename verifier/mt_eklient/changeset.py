"""Collected facts + resolved baseline -> the change set a build would make on one host.

One reader, one decider: the verifier's evaluation (evaluate.py, compare.py) says which controls
fail, the build planner (buildplan.control_targets) says what the build writes for each control it
owns, and this module turns every failing owned control into typed changes with before -> after.
`mtk plan`, the build's check mode and the appliers all use this one change set.

A failing control the build does not own is listed under `not_built`: the build's verification will
fail on it, and the technician sees that before anything is touched.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .adminguard import admin_removal_refusal
from .buildplan import NAMEPLATE_KEY, BuildPlanError, class_refusal, control_targets
from .drafts import draft_refusal
from .evaluate import ControlResult, HostResult, evaluate, normalise_rule, rule_identity
from .plaindata import plain
from .profile import LoadedProfile
from .resolve import Baseline, HostContext, ResolvedControl

CHANGESET_VERSION = 1
FAILING = ("fail", "error")
# Firewall rule properties shown in a rule's before -> after (the normalised form, evaluate.normalise_rule).
RULE_FIELDS = ("direction", "action", "enabled", "protocol", "local_ports", "remote_ports", "remote_addresses",
               "program", "profiles")
FEATURE_STATES = {"absent": "disabled", "present": "enabled"}


@dataclass
class HostPlan:
    """One host's plan: status ok (planned), refused (preflight), unreachable or error."""

    host: str
    status: str = "ok"
    error: str | None = None
    profile: dict[str, Any] | None = None
    declared_class: str | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)
    not_built: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # the host's notes (e.g. the WSUS approval rule)

    @property
    def needs_reboot(self) -> bool:
        return any(c["needs_reboot"] for c in self.changes)

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "status": self.status, "error": self.error, "profile": self.profile,
                "declared_class": self.declared_class, "needs_reboot": self.needs_reboot,
                "changes": self.changes, "not_built": self.not_built, "notes": self.notes}


def refusal(baseline: Baseline, loaded: LoadedProfile, host: HostContext | None = None) -> str | None:
    """Why the build refuses this host before any remote call (M, W, class mismatch, an unsafe plan)."""
    refused = class_refusal(baseline)
    if refused:
        return refused.reason
    draft = draft_refusal(loaded.profile.id, loaded.source, loaded.draft, len(loaded.fill_ins))
    if draft:
        return draft
    try:
        control_targets(baseline, loaded, host)
    except BuildPlanError as err:
        return str(err)
    return None


def plan_for_hostvars(name: str, hostvars: dict[str, Any], facts: dict[str, Any], today: date,
                      profiles_dir: str | None = None, sites_dir: str | None = None,
                      connected_as: str | None = None) -> HostPlan:
    """plan_host for an inventory host (the build's preflight, which resolved the same hostvars)."""
    from .hosts import HostResolver

    resolver = HostResolver(today, profiles_dir, sites_dir=sites_dir)
    loaded, baseline = resolver(name, hostvars)
    return plan_host(baseline, loaded, facts, today, resolver.context(name, hostvars), connected_as=connected_as)


def plan_host(baseline: Baseline, loaded: LoadedProfile, facts: dict[str, Any], today: date,
              host: HostContext | None = None, result: HostResult | None = None,
              connected_as: str | None = None) -> HostPlan:
    """The change set for one host from its collected facts (`result`: the evaluation, if done).
    Refused (status `refused`, the changes kept for review) when it would remove `connected_as`
    (ansible_user) or the site's protected accounts from local Administrators (adminguard)."""
    targets, _ = control_targets(baseline, loaded, host)
    if result is None:
        apps = plain(loaded.profile.applications)
        result = evaluate(baseline, facts, today, apps)
    # The manufacturer's procedures and the notes go with the plan: the technician reads them there.
    profile = {k: baseline.profile.get(k) for k in ("id", "version", "sha256")}
    if baseline.profile.get("procedures"):
        profile["procedures"] = baseline.profile["procedures"]
    plan = HostPlan(baseline.host, profile=profile, declared_class=baseline.declared_class, notes=list(result.notes))
    controls = {c.id: c for c in baseline.controls}
    for outcome in result.controls:
        if outcome.status not in FAILING:
            continue
        target = targets.get(outcome.id)
        if target is None:
            plan.not_built.append(_not_built(outcome, controls.get(outcome.id)))
            continue
        plan.changes.extend(_change(outcome, target, facts, controls[outcome.id]))
    refused = admin_removal_refusal(plan.changes, facts, host.site if host else None, connected_as)
    if refused:
        plan.status, plan.error = "refused", refused
    return plan


def _not_built(outcome: ControlResult, control: Any) -> dict[str, Any]:
    # Some of these follow from owned changes (Defender's real-time status from its preference):
    # the build's verification decides, and names every one still failing.
    if control is None:
        why = "checked by the verifier only"
    elif not control.build:
        why = f"the build does not set this control: {control.build_reason}"
    else:
        why = "the build plan skips it for this profile"
    return {"control": outcome.id, "title": outcome.title, "area": outcome.area, "status": outcome.status,
            "message": outcome.message, "references": outcome.references, "reason": why}


def _base(outcome: ControlResult, kind: str, item: str, before: Any, after: Any,
          needs_reboot: bool = False, **detail: Any) -> dict[str, Any]:
    change = {"control": outcome.id, "title": outcome.title, "area": outcome.area, "kind": kind, "item": item,
              "before": before, "after": after, "needs_reboot": needs_reboot, "references": outcome.references}
    if outcome.status == "error":
        change["note"] = f"the current value could not be read: {outcome.message}"
    change.update(detail)
    return change


def _fold(items: list[Any]) -> dict[str, Any]:
    return {str(i).casefold(): i for i in items}


def _change(outcome: ControlResult, target: dict[str, Any], facts: dict[str, Any],
            control: ResolvedControl) -> list[dict[str, Any]]:
    kind = target["kind"]
    expected = control.expected
    before = outcome.actual if outcome.status == "fail" else None
    if kind == "registry_value":
        after = None if target.get("remove") else target["data"]
        return [_base(outcome, kind, f"{target['key']}\\{target['name']}", before, after, key=target["key"],
                      name=target["name"], value_type=target.get("value_type"), remove=bool(target.get("remove")))]
    if kind == "registry_key_values":
        have = {str(k).casefold(): (k, v) for k, v in (before or {}).items()}
        want = target["values"]
        set_values = {n: d for n, d in want.items() if str(n).casefold() not in have
                      or str(have[str(n).casefold()][1]) != str(d)}
        remove = sorted(k for f, (k, _) in have.items() if f not in {str(n).casefold() for n in want})
        return [_base(outcome, kind, target["key"], before, want, value_type=target["value_type"],
                      set=set_values, remove=remove)]
    if kind == "audit_subcategory":
        return [_base(outcome, kind, "{" + target["guid"].strip("{}") + "}", before, target["setting"])]
    if kind == "security_policy":
        return [_base(outcome, kind, f"[{target['section']}] {target['key']}", before, target["value"],
                      section=target["section"], key=target["key"])]
    if kind == "service":
        return [_base(outcome, kind, f"{target['name']} {target['property']}", before, target["value"],
                      name=target["name"], property=target["property"])]
    if kind == "firewall_profile":
        return [_base(outcome, kind, target["property"], before, target["value"], property=target["property"],
                      profiles=sorted(p for p, v in (before or {}).items() if str(v).casefold() != str(target["value"]).casefold())
                      or ["Domain", "Private", "Public"])]
    if kind == "firewall_rule_group":
        return _rule_changes(outcome, target["group"], target["rules"], facts)
    if kind == "firewall_open_rules":
        return _open_rule_changes(outcome, facts)
    if kind == "firewall_management":
        return [_management_change(outcome, expected, facts)]
    if kind == "defender_exclusion":
        have, want = _fold(before or []), _fold(target["items"])
        return [_base(outcome, kind, target["property"], sorted(have.values()), sorted(want.values()),
                      property=target["property"],
                      added=sorted(v for k, v in want.items() if k not in have),
                      removed=sorted(v for k, v in have.items() if k not in want))]
    if kind == "defender_preference":
        return [_base(outcome, kind, target["property"], before, target["value"], property=target["property"])]
    if kind == "group_membership":
        return [_membership(outcome, target, before)]
    if kind == "optional_feature":
        return [_base(outcome, kind, target["name"], before, FEATURE_STATES[target["state"]], needs_reboot=True,
                      name=target["name"], state=target["state"])]
    if kind == "applocker":
        return [_applocker(outcome, before, f"{control.check['collection']} {control.check['property']}")]
    # nameplate: the verifier's expected value is what the build writes (all its values, last).
    return [_base(outcome, kind, f"{NAMEPLATE_KEY}\\{control.check.get('property')}", before, outcome.expected)]


def _rule_view(rule: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if rule is None else {k: rule[k] for k in RULE_FIELDS}


def _rule_changes(outcome: ControlResult, group: str, rules: list[dict[str, Any]],
                  facts: dict[str, Any]) -> list[dict[str, Any]]:
    """One change per rule of the managed group that is created, updated or removed (by name)."""
    raw = [r for r in (facts.get("firewall") or {}).get("rules") or [] if isinstance(r, dict)]
    have = {n["name"]: (n, r) for n, r in ((normalise_rule(r), r) for r in raw) if n["group"] == group.casefold()}
    want = {n["name"]: (n, r) for n, r in ((normalise_rule(r), r) for r in rules)}
    changes = []
    for name in sorted(set(have) | set(want)):
        old, new = have.get(name, (None, None)), want.get(name, (None, None))
        if old[0] and new[0] and rule_identity(old[0]) == rule_identity(new[0]):
            continue
        changes.append(_rule_change(outcome, group, old, new))
    return changes


def _rule_change(outcome: ControlResult, group: str, old: tuple[Any, Any], new: tuple[Any, Any]) -> dict[str, Any]:
    """Create (no rule of that name), update or remove one rule of the managed group. `rule` is
    the rule the applier writes; `clear_ports`/`clear_program` say that the old rule's filters
    must be reset to Any (Set-NetFirewallRule changes only what it is given)."""
    (old_n, old_raw), (new_n, new_raw) = old, new
    action = "update" if old_n and new_n else "create" if new_n else "remove"
    name = str((new_raw or old_raw).get("name")).strip()
    changed = [k for k in RULE_FIELDS if old_n and new_n and old_n[k] != new_n[k]]
    detail: dict[str, Any] = {"group": group, "changed": changed, "action": action, "name": name}
    if new_raw is not None:
        detail["rule"] = {k: new_raw.get(k) for k in (*RULE_FIELDS, "name", "display_name")}
    if action == "update":
        detail["clear_ports"] = bool(old_n["local_ports"] or old_n["remote_ports"])
        detail["clear_program"] = old_n["program"] is not None
    return _base(outcome, "firewall_rule", old_n["name"] if old_n else new_n["name"], _rule_view(old_n),
                 _rule_view(new_n), **detail)


def _management_change(outcome: ControlResult, expected: Any, facts: dict[str, Any]) -> dict[str, Any]:
    """The management rule, by its name: created, or corrected where a rule of that name is not it."""
    if not isinstance(expected, dict):
        return _base(outcome, "firewall_rule", "management rule", outcome.actual, outcome.expected)
    want = normalise_rule(expected)
    raw = next((r for r in (facts.get("firewall") or {}).get("rules") or []
                if isinstance(r, dict) and normalise_rule(r)["name"] == want["name"]), None)
    have = normalise_rule(raw) if raw is not None else None
    return _rule_change(outcome, str(expected.get("group") or ""), (have, raw), (want, expected))


def _open_rule_changes(outcome: ControlResult, facts: dict[str, Any]) -> list[dict[str, Any]]:
    """Each allow-any rule the verifier found is disabled, under its name as the host reports it."""
    names = {str(n).casefold() for n in outcome.actual or []}
    changes = []
    for raw in (facts.get("firewall") or {}).get("rules") or []:
        rule = normalise_rule(raw) if isinstance(raw, dict) else None
        if rule is None or rule["name"] not in names or not rule["enabled"]:
            continue
        names.discard(rule["name"])
        changes.append(_base(outcome, "firewall_rule", str(raw.get("name")).strip(), _rule_view(rule),
                             _rule_view({**rule, "enabled": False}), group=rule["group"] or None, changed=["enabled"],
                             action="disable", name=str(raw.get("name")).strip()))
    return changes


def _membership(outcome: ControlResult, target: dict[str, Any], before: Any) -> dict[str, Any]:
    actual = [str(s) for s in before or []]
    wanted = [str(s) for s in (outcome.expected if isinstance(outcome.expected, list) else target["members"])]

    def matches(sid: str, pattern: str) -> bool:
        return fnmatch.fnmatchcase(sid.upper(), pattern.upper())

    added = sorted(w for w in wanted if not any(matches(a, w) for a in actual))
    removed = sorted(a for a in actual if not any(matches(a, w) for w in wanted)) if target["state"] == "pure" else []
    return _base(outcome, "group_membership", target["sid"], sorted(actual), sorted(wanted),
                 added=added, removed=removed)


def _applocker(outcome: ControlResult, before: Any, item: str) -> dict[str, Any]:
    if isinstance(outcome.expected, list) and isinstance(before, list):
        have, want = set(map(str, before)), set(map(str, outcome.expected))
        return _base(outcome, "applocker", item, sorted(have), sorted(want),
                     added=sorted(want - have), removed=sorted(have - want))
    return _base(outcome, "applocker", item, before, outcome.expected)
