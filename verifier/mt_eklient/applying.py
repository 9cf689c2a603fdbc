"""The change set -> the parameters of the build's appliers and modules.

The appliers (`roles/*/files/*.ps1`) read nothing and compare nothing: each receives the changes
that concern it, already decided here from one collection (changeset.plan_host), and carries them
out. Every change keeps its `item`, `before` and `after`, which the applier hands back as its diff,
so `--check --diff` shows the plan's change set. An applier with no change is not called: a build
of a compliant host makes no remote call between the two collections.

What the change set cannot know, the finalized build plan (buildplan.finalize_plan) gives: group
names and expanded SIDs, the AppLocker policy, the firewall's profile settings, Defender
preferences tamper protection would ignore, and whether the nameplate is current.
"""

from __future__ import annotations

from typing import Any

from .resolve import MANAGEMENT_RULE_NAME

# Firewall rule changes in the order the applier makes them: the management rule first, then every
# other wanted rule, removals last - so the group never lacks the WinRM rule.
_RULE_ORDER = {"create": 1, "update": 1, "remove": 2}


def _diff_entry(change: dict[str, Any]) -> dict[str, Any]:
    return {"item": change["item"], "before": change["before"], "after": change["after"]}


def _unique(entries: list[dict[str, Any]], key: Any) -> list[dict[str, Any]]:
    """One entry per setting: controls that share a setting share its change (the planner refused
    any disagreement)."""
    seen: dict[Any, dict[str, Any]] = {}
    for entry in entries:
        seen.setdefault(key(entry), entry)
    return list(seen.values())


def _registry(changes: list[dict[str, Any]], plan: dict[str, Any], facts: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for c in changes:
        if c["kind"] == "registry_value":
            entry = _diff_entry(c) | {"key": c["key"], "name": c["name"]}
            out.append(entry | {"remove": True} if c.get("remove") else
                       entry | {"type": c["value_type"], "data": c["after"]})
        elif c["kind"] == "registry_key_values":
            have = {str(k).casefold(): v for k, v in (c["before"] or {}).items()}
            for name, data in c["set"].items():
                out.append({"item": f"{c['item']}\\{name}", "before": have.get(str(name).casefold()), "after": data,
                            "key": c["item"], "name": name, "type": c["value_type"], "data": data})
            for name in c["remove"]:
                out.append({"item": f"{c['item']}\\{name}", "before": have.get(str(name).casefold()), "after": None,
                            "key": c["item"], "name": name, "remove": True})
    # A nameplate from another build goes in the first call, so a failed rebuild leaves none.
    plate = {str(k): v for k, v in (facts.get("nameplate") or {}).items()}
    for value in plan["registry"]["RemoveValues"]:
        if value["key"] == plan["nameplate"]["key"]:
            out.append({"item": f"{value['key']}\\{value['name']}", "before": plate.get(value["name"]), "after": None,
                        "key": value["key"], "name": value["name"], "remove": True})
    return _unique(out, lambda e: (e["key"].casefold(), str(e["name"]).casefold()))


def _firewall_rules(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rules = [c for c in changes if c["kind"] == "firewall_rule" and c.get("action") in _RULE_ORDER]
    groups: dict[str, list[dict[str, Any]]] = {}
    for c in _unique(rules, lambda c: (str(c["group"]).casefold(), c["name"].casefold())):
        entry = _diff_entry(c) | {"action": c["action"], "name": c["name"]}
        if c["action"] != "remove":
            entry["rule"] = c["rule"]
        if c["action"] == "update":
            entry |= {"clear_ports": c["clear_ports"], "clear_program": c["clear_program"]}
        groups.setdefault(str(c["group"]), []).append(entry)
    out = []
    for group, entries in sorted(groups.items()):
        entries.sort(key=lambda e: (0 if e["name"].casefold() == MANAGEMENT_RULE_NAME else _RULE_ORDER[e["action"]],
                                    e["name"]))
        out.append({"Group": group, "Changes": entries})
    return out


def _firewall(changes: list[dict[str, Any]], plan: dict[str, Any]) -> dict[str, Any] | None:
    profile_changes = [c for c in changes if c["kind"] == "firewall_profile"]
    if not profile_changes or not plan.get("firewall"):
        return None
    profiles = sorted({p for c in profile_changes for p in c["profiles"]})
    return dict(plan["firewall"], profiles=profiles, items=sorted({c["item"] for c in profile_changes}))


def _services(changes: list[dict[str, Any]], plan: dict[str, Any]) -> list[dict[str, Any]]:
    areas = {s["name"].casefold(): s["area"] for s in plan["services"]}
    out: dict[str, dict[str, Any]] = {}
    for c in changes:
        if c["kind"] != "service":
            continue
        entry = out.setdefault(c["name"].casefold(), {"name": c["name"], "area": areas.get(c["name"].casefold(), c["area"]),
                                                      "items": []})
        entry[c["property"]] = c["after"]
        if c["item"] not in entry["items"]:
            entry["items"].append(c["item"])
    return [out[k] for k in sorted(out)]


def _local_groups(changes: list[dict[str, Any]], plan: dict[str, Any]) -> list[dict[str, Any]]:
    changed = {c["item"].upper(): c["item"] for c in changes if c["kind"] == "group_membership"}
    return [dict(g, items=[changed[g["sid"].upper()]]) for g in plan["local_groups"] if g["sid"].upper() in changed]


def _defender(changes: list[dict[str, Any]], plan: dict[str, Any]) -> list[dict[str, Any]]:
    # finalize_plan drops the preferences tamper protection would silently ignore (and says so).
    allowed = set((plan.get("defender") or {}).get("Preferences") or {})
    out = []
    for c in changes:
        if c["kind"] == "defender_preference" and c["property"] in allowed:
            out.append(_diff_entry(c) | {"name": c["property"], "value": c["after"]})
        elif c["kind"] == "defender_exclusion":
            out.append(_diff_entry(c) | {"name": c["property"], "add": c["added"], "remove": c["removed"]})
    return _unique(out, lambda e: e["name"])


def _nameplate(plan: dict[str, Any], facts: dict[str, Any]) -> list[dict[str, Any]]:
    if plan["nameplate"]["current"]:
        return []
    plate = {str(k): v for k, v in (facts.get("nameplate") or {}).items()}
    return [{"item": f"{v['key']}\\{v['name']}", "before": plate.get(v["name"]), "after": v["data"], "key": v["key"],
             "name": v["name"], "type": v["type"], "data": v["data"]} for v in plan["nameplate"]["values"]]


def applier_inputs(plan: dict[str, Any], changes: list[dict[str, Any]], facts: dict[str, Any]) -> dict[str, Any]:
    """{applier or module: its parameters} for one host; empty lists / None where nothing changes."""
    features: dict[str, list[str]] = {"absent": [], "present": []}
    for c in changes:
        if c["kind"] == "optional_feature" and c["name"] not in features[c["state"]]:
            features[c["state"]].append(c["name"])
    applocker = [_diff_entry(c) for c in changes if c["kind"] == "applocker"]
    return {
        "firewall_rules": _firewall_rules(changes),
        "firewall": _firewall(changes, plan),
        "disable_rules": sorted({c["name"] for c in changes if c.get("action") == "disable"}),
        "registry": {"Changes": _registry(changes, plan, facts)},
        "security_policy": {"Changes": _unique(
            [_diff_entry(c) | {"section": c["section"], "key": c["key"], "value": c["after"]}
             for c in changes if c["kind"] == "security_policy"], lambda e: e["item"])},
        "features": features,
        "local_groups": _local_groups(changes, plan),
        "services": _services(changes, plan),
        "applocker": {"PolicyXml": plan["applocker"]["PolicyXml"], "Changes": applocker}
        if applocker and plan.get("applocker") else None,
        "defender": {"Changes": _defender(changes, plan)},
        "audit_policy": {"Changes": _unique(
            [_diff_entry(c) | {"setting": c["after"]} for c in changes if c["kind"] == "audit_subcategory"],
            lambda e: e["item"].casefold())},
        "nameplate": {"Changes": _nameplate(plan, facts)},
    }
