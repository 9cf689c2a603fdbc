"""The shipped data: the control catalog and the example device profiles.

These tests check the data, not the code: every area has controls, every control says why and
cites a source, profile paths exist, audit GUIDs are real, no setting is checked twice, and every
example profile resolves for its own class.
"""

from __future__ import annotations

import re
import types
from datetime import date
from itertools import combinations
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
import yaml
from mt_eklient.catalog import Area, Condition, Control, load_catalog
from mt_eklient.hosts import resolve_host
from mt_eklient.profile import Profile, load_profile
from mt_eklient.resolve import ResolutionError, profile_value
from pydantic import BaseModel

TODAY = date(2026, 11, 25)
PROFILES_DIR = Path(__file__).resolve().parents[1] / "profiles"
SITE = "region-vastland"  # sites/region-vastland.yml: the example profiles leave their site facts to it
# The lab inventory refers to these ids; renaming one breaks it.
EXAMPLE_PROFILES = {
    "sonora-review-4": "WM1",
    "labflow-report-2": "WM0",
    "radiant-dicom-viewer-7": "WM0",
    "anaesthesia-kiosk-3": "WM2",
    "standard-client": "W0",
    "modality-ct-vendor": "M1",
}
# Advanced audit policy subcategories (Windows SDK ntsecapi.h, Audit_* GUIDs).
AUDIT_SUBCATEGORIES = {
    "{0cce9210-69ae-11d9-bed3-505054503030}": "Security State Change",
    "{0cce9211-69ae-11d9-bed3-505054503030}": "Security System Extension",
    "{0cce9212-69ae-11d9-bed3-505054503030}": "System Integrity",
    "{0cce9213-69ae-11d9-bed3-505054503030}": "IPsec Driver",
    "{0cce9214-69ae-11d9-bed3-505054503030}": "Other System Events",
    "{0cce9215-69ae-11d9-bed3-505054503030}": "Logon",
    "{0cce9216-69ae-11d9-bed3-505054503030}": "Logoff",
    "{0cce9217-69ae-11d9-bed3-505054503030}": "Account Lockout",
    "{0cce921b-69ae-11d9-bed3-505054503030}": "Special Logon",
    "{0cce921c-69ae-11d9-bed3-505054503030}": "Other Logon/Logoff Events",
    "{0cce921d-69ae-11d9-bed3-505054503030}": "File System",
    "{0cce921e-69ae-11d9-bed3-505054503030}": "Registry",
    "{0cce9224-69ae-11d9-bed3-505054503030}": "File Share",
    "{0cce9226-69ae-11d9-bed3-505054503030}": "Filtering Platform Connection",
    "{0cce9227-69ae-11d9-bed3-505054503030}": "Other Object Access Events",
    "{0cce9228-69ae-11d9-bed3-505054503030}": "Sensitive Privilege Use",
    "{0cce922b-69ae-11d9-bed3-505054503030}": "Process Creation",
    "{0cce922c-69ae-11d9-bed3-505054503030}": "Process Termination",
    "{0cce922f-69ae-11d9-bed3-505054503030}": "Audit Policy Change",
    "{0cce9230-69ae-11d9-bed3-505054503030}": "Authentication Policy Change",
    "{0cce9231-69ae-11d9-bed3-505054503030}": "Authorization Policy Change",
    "{0cce9232-69ae-11d9-bed3-505054503030}": "MPSSVC Rule-Level Policy Change",
    "{0cce9234-69ae-11d9-bed3-505054503030}": "Other Policy Change Events",
    "{0cce9235-69ae-11d9-bed3-505054503030}": "User Account Management",
    "{0cce9237-69ae-11d9-bed3-505054503030}": "Security Group Management",
    "{0cce923a-69ae-11d9-bed3-505054503030}": "Other Account Management Events",
    "{0cce923f-69ae-11d9-bed3-505054503030}": "Credential Validation",
    "{0cce9244-69ae-11d9-bed3-505054503030}": "Detailed File Share",
    "{0cce9245-69ae-11d9-bed3-505054503030}": "Removable Storage",
    "{0cce9248-69ae-11d9-bed3-505054503030}": "Plug and Play Events",
    "{0cce9249-69ae-11d9-bed3-505054503030}": "Group Membership",
}
GUID_RE = re.compile(r"^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$")
AUDIT_VALUES = {"success", "failure", "success_and_failure", "no_auditing"}
CATALOG = load_catalog()


def example_profiles() -> list[Profile]:
    return [load_profile(PROFILES_DIR / f"{pid}.yml").profile for pid in EXAMPLE_PROFILES]


def profile_paths(control: Control) -> list[str]:
    paths = [c.profile for c in control.when]
    if control.expected is not None and control.expected.profile is not None:
        paths.append(control.expected.profile)
    return paths


# --- walking the Profile model by dotted path -------------------------------------------------

def _unwrap(tp: Any) -> Any:
    origin = get_origin(tp)
    if origin is Annotated:
        return _unwrap(get_args(tp)[0])
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else tp
    return tp


def model_leaf(dotted: str) -> Any:
    """The type at a dotted path of the Profile model; KeyError when the path does not exist."""
    node: Any = Profile
    for part in dotted.split("."):
        node = _unwrap(node)
        if get_origin(node) is dict:
            key_type, value_type = get_args(node)
            if get_origin(key_type) is Literal and part not in get_args(key_type):
                raise KeyError(f"{dotted}: {part!r} is not one of {get_args(key_type)}")
            node = value_type
        elif isinstance(node, type) and issubclass(node, BaseModel):
            if part not in node.model_fields:
                raise KeyError(f"{dotted}: {node.__name__} has no field {part!r}")
            node = node.model_fields[part].annotation
        else:
            raise KeyError(f"{dotted}: cannot descend into {node!r} at {part!r}")
    return _unwrap(node)


def possible_values(leaf: Any) -> set[Any] | None:
    if get_origin(leaf) is Literal:
        return set(get_args(leaf))
    if leaf is bool:
        return {True, False}
    return None


def allowed_by(conditions: list[Condition], values: set[Any]) -> set[Any]:
    for cond in conditions:
        values = {v for v in values if cond.holds(v)}
    return values


# --- the catalog ------------------------------------------------------------------------------

def test_catalog_loads_with_enough_controls():
    assert len(CATALOG.controls) >= 60
    assert re.fullmatch(r"\d{4}\.\d{1,2}", CATALOG.version)


@pytest.mark.parametrize("area", get_args(Area))
def test_every_area_has_a_control(area):
    assert any(c.area == area for c in CATALOG.controls), f"no control in area {area}"


@pytest.mark.parametrize("control", CATALOG.controls, ids=lambda c: c.id)
def test_control_has_rationale_and_reference(control):
    assert len(control.rationale.split()) >= 8, "rationale too short to say why"
    refs = control.references
    assert refs.normen or refs.mdcg or refs.nsm or refs.mds2 or refs.cis or refs.other
    for mds2 in refs.mds2:
        assert re.fullmatch(r"[A-Z]{3,4}-\d+(\.\d+)*", mds2), mds2
    if refs.normen:
        assert re.fullmatch(r"\d\.\d+", refs.normen)


@pytest.mark.parametrize("control", CATALOG.controls, ids=lambda c: c.id)
def test_profile_paths_exist_on_the_model(control):
    for path in profile_paths(control):
        model_leaf(path)  # raises KeyError with the reason


@pytest.mark.parametrize("control", CATALOG.controls, ids=lambda c: c.id)
def test_map_covers_every_value_the_field_can_take(control):
    spec = control.expected
    if spec is None or spec.profile is None or spec.map is None:
        return
    values = possible_values(model_leaf(spec.profile))
    assert values is not None, f"map on {spec.profile}, which is not an enumerated field"
    same_field = [c for c in control.when if c.profile == spec.profile]
    allowed = allowed_by(same_field, values)
    missing = {v for v in allowed if v not in spec.map and str(v).lower() not in spec.map}
    assert not missing, f"map has no entry for {sorted(map(str, missing))}"


def test_profile_paths_resolve_on_every_example_profile():
    for profile in example_profiles():
        for control in CATALOG.controls:
            for path in profile_paths(control):
                try:
                    profile_value(profile, path)
                except ResolutionError:
                    # Only allowed when an optional section on the way is absent (e.g. no antivirus.scan).
                    parts = path.split(".")
                    prefixes = [".".join(parts[:i]) for i in range(1, len(parts))]
                    absent_section = any(profile_value(profile, p) is None for p in prefixes)
                    assert absent_section, (profile.id, control.id, path)


def test_audit_guids_are_well_formed_unique_and_real():
    audit = [c for c in CATALOG.controls if c.method == "audit_policy"]
    assert len(audit) >= 8
    guids = [c.check["guid"] for c in audit]
    assert len(guids) == len(set(guids)), "an audit subcategory is set by two controls"
    for control in audit:
        guid = control.check["guid"]
        assert GUID_RE.fullmatch(guid), f"{control.id}: {guid} is not a lower-case braced GUID"
        assert guid in AUDIT_SUBCATEGORIES, f"{control.id}: {guid} is not a known audit subcategory"
        assert control.expected is not None and control.expected.value in AUDIT_VALUES
        assert control.build


def test_registry_keys_are_hklm_paths():
    for control in CATALOG.controls:
        if control.method == "registry":
            key = control.check["key"]
            assert key.startswith(("HKLM\\SOFTWARE\\", "HKLM\\SYSTEM\\")), f"{control.id}: {key}"
            assert "/" not in key and not key.endswith("\\")


def test_build_only_where_something_can_be_applied():
    for control in CATALOG.controls:
        if control.method == "defender" and control.check["source"] == "status":
            assert not control.build, f"{control.id}: Defender status is read-only"
        if control.applies_to.types == ["M"]:
            assert not control.build, f"{control.id}: M computers are never built"


def test_every_control_the_build_does_not_set_says_why():
    """build: false is a decision recorded in the catalog (build_reason), never a silent gap."""
    not_built = [c for c in CATALOG.controls if not c.build]
    assert not_built and all(c.build_reason and len(c.build_reason.split()) >= 6 for c in not_built)
    base = {"id": "TEST-ONE", "title": "A test control", "area": "antivirus", "severity": "high",
            "check": {"method": "defender", "source": "preferences", "property": "PUAProtection"},
            "expected": {"value": 1}, "rationale": "Because tests need one.", "references": {"normen": "4.6"}}
    with pytest.raises(ValueError, match="build: false needs build_reason"):
        Control.model_validate(base)
    with pytest.raises(ValueError, match="build_reason is for controls the build does not set"):
        Control.model_validate({**base, "build": True, "build_reason": "it says why, but it is built"})
    assert Control.model_validate({**base, "build_reason": "a status, not a setting"}).build is False


# --- one control per setting ------------------------------------------------------------------

def setting_of(control: Control) -> tuple[Any, ...]:
    params = []
    for key, value in sorted(control.check.items()):
        if control.method == "registry" and key in ("key", "name"):
            value = str(value).lower()
        params.append((key, value))
    if control.method == "hotfix" and control.expected is not None:
        # The installed-update list is one fact checked against different profile lists (blocked, approved).
        params.append(("expected", control.expected.profile))
    return tuple(params)


def conditions_exclusive(a: Condition, b: Condition) -> bool:
    """True when no value of the shared profile field can satisfy both conditions."""
    for cond in (a, b):
        if cond.one_of is None and "not_equals" not in cond.model_fields_set:
            candidates = [cond.equals]
            break
        if cond.one_of is not None:
            candidates = list(cond.one_of)
            break
    else:
        return False  # two not_equals can always both hold
    return not any(a.holds(v) and b.holds(v) for v in candidates)


def mutually_exclusive(a: Control, b: Control) -> bool:
    if not set(a.applies_to.types) & set(b.applies_to.types):
        return True
    if not set(a.applies_to.groups) & set(b.applies_to.groups):
        return True
    return any(
        ca.profile == cb.profile and conditions_exclusive(ca, cb)
        for ca in a.when for cb in b.when
    )


def test_no_setting_is_checked_by_two_controls():
    clashes = [
        (a.id, b.id) for a, b in combinations(CATALOG.controls, 2)
        if setting_of(a) == setting_of(b) and not mutually_exclusive(a, b)
    ]
    assert not clashes, f"controls checking the same setting for the same machines: {clashes}"


# --- the example profiles ---------------------------------------------------------------------

def test_profiles_folder_holds_exactly_the_example_profiles():
    assert {p.stem for p in PROFILES_DIR.glob("*.yml")} == set(EXAMPLE_PROFILES)


@pytest.mark.parametrize(("profile_id", "label"), EXAMPLE_PROFILES.items())
def test_example_profile_resolves_for_its_own_class(profile_id, label):
    loaded, baseline = resolve_host("h1", {"mt_class": label, "mt_profile": profile_id, "mt_site": SITE}, TODAY)
    assert loaded.profile.classification.label == label
    assert len(baseline.controls) == len(CATALOG.controls)
    applicable = [c for c in baseline.controls if c.status != "not_applicable"]
    assert applicable
    for control in applicable:
        if control.compare not in ("absent", "present"):
            assert control.expected is not None, f"{control.id}: applicable but nothing to compare with"
    seen: dict[tuple[Any, ...], str] = {}
    for control in applicable:
        setting = setting_of(CATALOG.get(control.id))
        assert setting not in seen, f"{control.id} and {seen[setting]} both check {setting}"
        seen[setting] = control.id


@pytest.mark.parametrize("profile_id", EXAMPLE_PROFILES)
def test_compensating_controls_apply_to_their_profile(profile_id):
    hostvars = {"mt_class": EXAMPLE_PROFILES[profile_id], "mt_profile": profile_id, "mt_site": SITE}
    loaded, baseline = resolve_host("h1", hostvars, TODAY)
    by_id = {c.id: c for c in baseline.controls}
    for control_id in loaded.profile.antivirus.compensating_controls:
        assert by_id[control_id].status == "applicable", f"{control_id} compensates but does not apply"
        assert by_id[control_id].mandatory


def test_m_profile_is_verified_only_against_manufacturer_guarantees():
    _, baseline = resolve_host("h1", {"mt_class": "M1", "mt_profile": "modality-ct-vendor"}, TODAY)
    applicable = {c.id for c in baseline.controls if c.status == "applicable"}
    assert {"OS-LIFECYCLE", "CLASS-EVIDENCE", "NP-ABSENT-ON-M"} <= applicable
    assert not any(i.startswith(("WL-", "AV-", "FW-", "ACC-")) for i in applicable)


def test_example_waivers_show_a_valid_and_an_expired_waiver():
    _, sonora = resolve_host("h1", {"mt_class": "WM1", "mt_profile": "sonora-review-4", "mt_site": SITE}, TODAY)
    assert [c.id for c in sonora.controls if c.status == "waived"] == ["LOCK-INACTIVITY"]
    _, labflow = resolve_host("h1", {"mt_class": "WM0", "mt_profile": "labflow-report-2", "mt_site": SITE}, TODAY)
    assert next(c for c in labflow.controls if c.id == "SMB-SIGNING-CLIENT").status == "applicable"
    assert any("SMB-SIGNING-CLIENT: waiver expired" in note for note in labflow.notes)


def test_annotated_example_in_docs_matches_the_profile():
    text = (PROFILES_DIR.parent / "docs" / "profiles.md").read_text(encoding="utf-8")
    block = re.search(r"## An annotated example.*?```yaml\n(.*?)```", text, re.DOTALL)
    assert block, "docs/profiles.md lost its annotated example"
    profile = yaml.safe_load((PROFILES_DIR / "sonora-review-4.yml").read_text())
    assert yaml.safe_load(block.group(1)) == profile
