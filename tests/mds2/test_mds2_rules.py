"""Every MDS2 derivation rule, in both directions, on the WM-like workbook with answers changed;
contradictions and unanswered questions become findings, never silent defaults."""

from __future__ import annotations

from typing import Any

import pytest
from mds2_workbooks import wm_like
from mt_eklient.classification import MtClass
from mt_eklient.drafts import is_placeholder
from mt_eklient.mds2 import read_mds2
from mt_eklient.mds2draft import draft_profile
from mt_eklient.mds2rules import COMPENSATING_CONTROLS, CONTRADICTIONS, RULES

FILL = object()     # the field is a TO FILL IN placeholder
ABSENT = object()   # the draft does not write the field


def draft_of(tmp_path, changes: dict[str, Any] | None = None, declared: str | None = None):
    changes = dict(changes or {})
    note_refs = changes.pop("note_refs", None)
    book = read_mds2(wm_like(tmp_path / "mds2.xlsx", changes, note_refs))
    draft = draft_profile(book, "infuview-5", MtClass.parse(declared) if declared else None)
    data, _ = draft.plain()
    return draft, data


def value_at(data: Any, dotted: str) -> Any:
    node = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return ABSENT
        node = node[part]
    return node


# (rule, answers changed from the WM-like workbook, field, expected value, finding that must appear)
CASES: list[tuple[str, dict[str, Any], str | None, Any, str | None]] = [
    ("classification.type", {}, "classification.type", "WM", None),
    ("classification.type", {"DOC-11.1": "Yes", "DOC-11.2": "No"}, "classification.type", "M", "its own operating system"),
    ("classification.type", {"DOC-11": "No", "DOC-11.2": "N/A", "CSUP-2": "Yes"}, "classification.type", "M",
     "own hardware and operating system"),
    ("classification.type", {"DOC-11": "No", "DOC-11.2": "N/A", "CSUP-2": "N/A"}, "classification.type", FILL,
     "not a Windows client profile"),
    ("classification.type", {"DOC-11": None}, "classification.type", FILL, "classification.type: the MDS2 does not"),
    ("antivirus.permitted", {}, "antivirus.permitted", True, None),
    ("antivirus.permitted", {"MLDP-2": "No", "MLDP-2.3": "No", "MLDP-3": "Yes"}, "antivirus.permitted", False, None),
    ("antivirus.permitted", {"MLDP-2": "See Note"}, "antivirus.permitted", FILL, "antivirus.permitted: the MDS2"),
    ("antivirus.realtime", {"MLDP-2.8": "No"}, "antivirus.realtime", True, None),
    ("antivirus.realtime", {"MLDP-2.8": "Yes"}, "antivirus.realtime", FILL, None),
    ("antivirus.realtime", {"MLDP-2": "No", "MLDP-2.3": "No", "MLDP-3": "Yes"}, "antivirus.realtime", ABSENT, None),
    ("antivirus.signatures", {}, "antivirus.signatures", {"source": "wsus"}, None),
    ("antivirus.signatures", {"MLDP-2.3": "No"}, "antivirus.signatures", {"source": "vendor"},
     "signatures come from the manufacturer"),
    ("antivirus.exclusions.paths", {}, "antivirus.exclusions.paths",
     ["D:\\InfuView\\Data", "%PROGRAMDATA%\\Acme\\InfuView"], "paths taken from the note of MLDP-2.8"),
    # no note: the paths are to fill in
    ("antivirus.exclusions.paths", {"MLDP-2.8": "Yes", "note_refs": {}}, "antivirus.exclusions.paths", [FILL], None),
    ("antivirus.exclusions.paths", {"MLDP-2": "No", "MLDP-2.3": "No", "MLDP-3": "Yes"}, "antivirus.exclusions",
     ABSENT, None),
    (("MLDP-2", "MLDP-2.4"), {"MLDP-2.4": "No"}, None, None, "may not (re-)configure anti-malware"),
    ("antivirus.compensating_controls", {"MLDP-2": "No", "MLDP-2.3": "No", "MLDP-3": "Yes"},
     "antivirus.compensating_controls", list(COMPENSATING_CONTROLS), None),
    ("antivirus.compensating_controls", {"MLDP-2": "No", "MLDP-2.3": "No", "MLDP-3": "No"},
     "antivirus.compensating_controls", FILL, "offers no compensating controls"),
    ("antivirus.compensating_controls", {}, "antivirus.compensating_controls", ABSENT, None),
    ("whitelisting.mode", {}, "whitelisting.mode", "enforce", None),
    ("whitelisting.mode", {"MLDP-4": "No"}, "whitelisting.mode", "audit", None),
    ("whitelisting.mode", {"MLDP-4": "No", "MLDP-2": "No", "MLDP-2.3": "No", "MLDP-3": "Yes"}, "whitelisting.mode",
     FILL, "application whitelisting is not supported"),
    ("whitelisting.extra_rules", {}, "whitelisting.extra_rules", FILL, None),
    ("whitelisting.extra_rules", {"CSUP-9": "No", "CSUP-10": "No"}, "whitelisting.extra_rules", [], None),
    (("CSUP-9", "CSUP-10"), {"CSUP-9": "No", "CSUP-10": "Yes"}, None, None, "there is no approved list"),
    ("patching.policy", {}, "patching.policy", "deferred", None),
    ("patching.policy", {"CSUP-8": "Yes"}, "patching.policy", "automatic", None),
    ("patching.policy", {"CSUP-2.4": "No"}, "patching.policy", "vendor_approved", None),
    ("patching.policy", {"CSUP-2.2": "Yes", "CSUP-2.4": "No"}, "patching.policy", "vendor_managed",
     "only the manufacturer or its service installs patches"),
    ("patching.policy", {"CSUP-2.4": "N/A"}, "patching.policy", FILL, "patching.policy: the MDS2 does not decide"),
    ("patching.defer_days", {}, "patching.defer_days", FILL, None),
    ("patching.defer_days", {"CSUP-8": "Yes"}, "patching.defer_days", ABSENT, None),
    ("patching.approved_kbs", {"CSUP-2.4": "No"}, "patching.approved_kbs", [FILL], None),
    ("patching.approved_kbs", {}, "patching.approved_kbs", ABSENT, None),
    (("CSUP-2.4", "CSUP-7"), {"CSUP-2.4": "No", "CSUP-7": "No"}, None, None, "does not notify the hospital"),
    ("accounts.local_admins", {}, "accounts.local_admins", [], None),
    ("accounts.local_admins", {"AUTH-3": "No"}, "accounts.local_admins", [FILL], "cannot obtain administrator"),
    ("accounts.kiosk", {}, "accounts.kiosk", {"enabled": False}, None),
    ("accounts.kiosk", {"AUTH-5": "Yes"}, "accounts.kiosk.enabled", True, None),
    (("AUTH-1.2",), {"AUTH-1.2": "No"}, None, None, "does not allow customer group policies"),
    (("AUTH-1.3",), {"AUTH-1.3": "Yes"}, None, None, "special groups, OUs or group policies"),
    ("removable_media.policy", {}, "removable_media.policy", "block", None),
    ("removable_media.policy", {"CONN-1.2.3": "Yes"}, "removable_media.policy", "allow_listed", None),
    ("removable_media.policy", {"CONN-1.2.3": "N/A", "CONN-1.2.2": "No"}, "removable_media.policy", "block", None),
    ("removable_media.policy", {"CONN-1.2.3": "N/A", "CONN-1.2.2": "Yes"}, "removable_media.policy", FILL,
     "removable_media.policy: the MDS2 does not decide"),
    ("removable_media.allowed_device_ids", {"CONN-1.2.3": "Yes"}, "removable_media.allowed_device_ids", [FILL], None),
    ("removable_media.allowed_device_ids", {}, "removable_media.allowed_device_ids", ABSENT, None),
    ("network.internet", {}, "network.internet", "deny", None),
    ("network.internet", {"CONN-6": "Yes", "CONN-4": "Yes"}, "network.internet", "allow",
     "requires an internet connection"),
    ("network.inbound", {}, "network.inbound", FILL, None),
    ("network.inbound", {"CONN-2": "No"}, "network.inbound", FILL, "provides no list of ports"),
    ("network.outbound", {}, "network.outbound", FILL, None),
    ("network.outbound", {"CONN-2": "N/A"}, "network.outbound", FILL, "network.outbound: the MDS2 does not decide"),
    ("remote_access.method", {}, "remote_access.method", "customer_initiated_vpn", None),
    ("remote_access.method", {"RMOT-1": "No", "RMOT-1.1": "N/A"}, "remote_access.method", "none", None),
    ("remote_access.method", {"RMOT-1.1": "No"}, "remote_access.method", "vendor_portal",
     "starts remote service sessions itself"),
    (("RMOT-1", "RMOT-1.2"), {"RMOT-1.2": "No"}, None, None, "no indicator shows an active remote session"),
    (("STCF-1", "STCF-1.2"), {"STCF-1": "No"}, None, None, "cannot encrypt data at rest"),
    (("STCF-1", "STCF-1.2"), {}, None, None, "off by default"),
    (("RDMP-3",), {}, None, None, "publishes support dates (RDMP-3 = Yes)"),
    (("RDMP-3",), {"RDMP-3": "No"}, None, None, "publishes no support dates"),
    (("RDMP-4",), {"RDMP-4": "No"}, None, None, "third-party components' end of life"),
]


def _rule_key(rule) -> str | tuple[str, ...]:
    return rule.field or rule.questions


def _matches(actual: Any, expected: Any) -> bool:
    if expected is FILL:
        return is_placeholder(actual)
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(
            _matches(a, e) for a, e in zip(actual, expected, strict=True))
    return actual == expected


@pytest.mark.parametrize(("rule", "changes", "path", "expected", "finding"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule(tmp_path, rule, changes, path, expected, finding):
    draft, data = draft_of(tmp_path, changes)
    messages = [str(f) for f in draft.findings]
    if path is not None:
        assert _matches(value_at(data, path), expected), value_at(data, path)
    if finding is not None:
        assert any(finding in m for m in messages), messages


def test_every_rule_is_tested_in_both_directions():
    """Each rule has cases with two different outcomes (values, or a finding and its absence)."""
    for rule in RULES:
        cases = [c for c in CASES if c[0] == _rule_key(rule)]
        outcomes = {repr(c[3]) + repr(c[4]) for c in cases}
        if rule.field is None:
            # a finding-only rule: its other direction is the WM-like workbook without that finding
            assert cases, f"no test for the rule on {rule.questions}"
            continue
        assert len(cases) >= 2 and len(outcomes) >= 2, f"{_rule_key(rule)} needs a test in each direction"


@pytest.mark.parametrize("rule", [r for r in RULES if r.field is None], ids=lambda r: ",".join(r.questions))
def test_finding_only_rules_are_quiet_when_the_answer_is_harmless(tmp_path, rule):
    """The other direction of the finding-only rules: a harmless answer raises no finding."""
    harmless = {"MLDP-2.4": "Yes", "CSUP-10": "No", "CSUP-7": "Yes", "AUTH-1.2": "Yes", "AUTH-1.3": "No",
                "RMOT-1.2": "Yes", "STCF-1.2": "Yes", "RDMP-3": "N/A", "RDMP-4": "Yes"}
    draft, _ = draft_of(tmp_path, harmless)
    triggered = [f for f in draft.findings if f.questions and set(f.questions) <= set(rule.questions)]
    assert triggered == []


@pytest.mark.parametrize("contradiction", CONTRADICTIONS, ids=lambda c: " & ".join(q for q, _ in c.when))
def test_contradictions_become_findings(tmp_path, contradiction):
    draft, _ = draft_of(tmp_path, dict(contradiction.when))
    assert any(f.kind == "contradiction" and f.message == contradiction.message for f in draft.findings)


def test_consistent_workbook_has_no_contradiction(tmp_path):
    draft, _ = draft_of(tmp_path)
    assert [f for f in draft.findings if f.kind in ("contradiction", "unanswered", "invalid")] == []


def test_compensating_controls_are_catalog_controls():
    from mt_eklient.catalog import load_catalog

    assert set(COMPENSATING_CONTROLS) <= load_catalog().ids()


def test_declared_class_wins_but_a_different_candidate_is_a_finding(tmp_path):
    draft, data = draft_of(tmp_path, {"DOC-11.1": "Yes", "DOC-11.2": "No"}, declared="WM2")
    assert data["classification"] == {"type": "WM", "group": 2}
    assert any(f.kind == "contradiction" and "--class WM2" in f.message for f in draft.findings)
    draft, data = draft_of(tmp_path, declared="WM2")
    assert not [f for f in draft.findings if f.kind == "contradiction"]


def test_group_is_never_guessed(tmp_path):
    _, data = draft_of(tmp_path)
    assert is_placeholder(data["classification"]["group"])


def test_a_missing_section_leaves_placeholders_and_findings(tmp_path):
    csup = {q: None for q in ("CSUP-2", "CSUP-2.1", "CSUP-2.2", "CSUP-2.3", "CSUP-2.4", "CSUP-7", "CSUP-8",
                              "CSUP-9", "CSUP-10", "CSUP-10.1", "CSUP-11")}
    draft, data = draft_of(tmp_path, csup)
    assert is_placeholder(data["patching"]["policy"])
    assert is_placeholder(data["whitelisting"]["extra_rules"])
    unanswered = [f.message for f in draft.findings if f.kind == "unanswered"]
    assert any("patching.policy" in m and "CSUP-2.4 missing" in m for m in unanswered), unanswered
