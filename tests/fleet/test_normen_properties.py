"""Normen properties in device profiles: optional, validated, derived where the profile says it."""

from __future__ import annotations

import pytest
from fleet_helpers import PROFILES
from mt_eklient.cli import main
from mt_eklient.fleet.normen import integration_rules, normen_properties, use_scenario
from mt_eklient.profile import load_profile


def props(profile_id: str) -> dict:
    profile = load_profile(PROFILES / f"{profile_id}.yml").profile
    return {k: (v.value, v.source) for k, v in normen_properties(profile).items()}


def test_derived_from_what_the_profile_already_says():
    sono = props("sonora-review-4")
    assert sono["vendor_remote_access"] == (True, "derived")  # remote_access.method: customer_initiated_vpn
    assert sono["integrations"] == (True, "derived")  # DICOM rules
    assert sono["networked"] == (True, "derived")
    assert sono["health_data"] == (None, "unknown")  # nothing in the profile says it: the exposure model assumes
    assert sono["manufacturer_configuration_control"] == (False, "derived")
    standard = props("standard-client")
    assert standard["vendor_remote_access"] == (False, "derived")
    kiosk = props("anaesthesia-kiosk-3")
    assert kiosk["manufacturer_configuration_control"] == (True, "derived")  # antivirus.permitted: false
    ct = props("modality-ct-vendor")
    assert ct["print_or_storage"] == (True, "derived")  # removable_media.policy: allow
    assert ct["networked"] == (True, "derived")  # vendor portal, although no firewall rule


def test_integrations_are_rules_beyond_windows_infrastructure():
    profile = load_profile(PROFILES / "sonora-review-4.yml").profile
    assert integration_rules(profile) == ["dicom-store-scp", "dicom-to-pacs"]


def test_declared_beats_derived(sonora, write_profile):
    sonora["normen"] = {"use_scenario": 4, "health_data": True, "integrations": False, "cloud": True}
    profile = load_profile(write_profile(sonora)).profile
    found = normen_properties(profile)
    assert (found["integrations"].value, found["integrations"].source) == (False, "declared")
    assert found["integrations"].basis == "normen.integrations: false"
    assert (found["cloud"].value, found["health_data"].value) == (True, True)
    assert use_scenario(profile) == (4, "declared")


@pytest.mark.parametrize(("normen", "field", "message"), [
    ({"vendor_remote_access": False}, "normen.vendor_remote_access", "remote_access.method is customer_initiated_vpn"),
    ({"use_scenario": 2}, "normen.use_scenario", "a WM client is managed over the network"),
    ({"use_scenario": 1, "health_data": True}, "normen.health_data", "use_scenario 1"),
    ({"use_scenario": 6}, "normen.use_scenario", "Input should be 1, 2, 3, 4 or 5"),
    ({"health_data": "maybe"}, "normen.health_data", "valid boolean"),
    ({"vpn": True}, "normen.vpn", "unknown key"),
])
def test_contradictions_and_bad_values_are_one_line_each(sonora, write_profile, capsys, normen, field, message):
    sonora["normen"] = normen
    path = write_profile(sonora)
    assert main(["profile", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if field in x)
    assert line.startswith(f"{path}:") and message in line, err


def test_docs_state_the_shipped_exposure_points():
    """docs/fleet.md's property table gives the points of catalog/risk/exposure.yml."""
    from fleet_helpers import REPO
    from mt_eklient.fleet.exposure import load_exposure

    text = (REPO / "docs" / "fleet.md").read_text(encoding="utf-8")
    model = load_exposure()
    for name, rule in model.properties.items():
        assumed = "assumed **yes**" if rule.assume else "assumed no"
        assert f"| `{name}`: {rule.title} | {rule.points} | {assumed} |" in text, name
    severity = model.findings.failed_control.severity_points
    assert (f"critical {severity['critical']}, high {severity['high']}, medium {severity['medium']}, "
            f"low {severity['low']}") in text
