"""The generated AppLocker policy: what the build writes and the verifier compares against."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from mt_eklient.applocker import collection_modes, policy_xml, rule_signatures
from mt_eklient.profile import load_profile

PROFILES = sorted((Path(__file__).resolve().parents[1] / "profiles").glob("*.yml"))


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_policy_is_stable_with_unique_rule_ids(path):
    profile = load_profile(path).profile
    xml = policy_xml(profile)
    assert xml == policy_xml(profile), "a rebuild must produce the same policy"
    ids = [el.get("Id") for el in ET.fromstring(xml).iter() if el.get("Id")]
    assert len(ids) == len(set(ids)), "AppLocker rejects a policy with duplicate rule Ids"


def test_mode_follows_profile_and_dll_stays_unconfigured(sonora, write_profile):
    sonora["whitelisting"]["mode"] = "audit"
    modes = collection_modes(policy_xml(load_profile(write_profile(sonora)).profile))
    assert modes == {"Exe": "AuditOnly", "Msi": "AuditOnly", "Script": "AuditOnly", "Appx": "AuditOnly",
                     "Dll": "NotConfigured"}
    assert set(collection_modes(None).values()) == {"NotConfigured"}


def test_application_rules_and_no_user_writable_windows_paths(sonora, write_profile):
    signatures = rule_signatures(policy_xml(load_profile(write_profile(sonora)).profile))
    publisher = sonora["applications"][0]["publisher"].lower()
    assert f"Exe:Allow:S-1-1-0:FilePublisherCondition:{publisher}" in signatures
    assert "Exe:Allow:S-1-1-0:FilePathCondition:%programfiles%\\sonora\\sonorev\\*" in signatures
    windows_rule = next(s for s in signatures if s.startswith("Exe:Allow:S-1-1-0:FilePathCondition:%windir%\\*"))
    assert "%windir%\\temp\\*" in windows_rule and "%system32%\\tasks\\*" in windows_rule


def test_two_applications_of_one_publisher_share_one_rule(sonora, write_profile):
    second = dict(sonora["applications"][0], name="SonoRev Export", install_paths=[], uninstall_display_name="x")
    sonora["applications"].append(second)
    xml = policy_xml(load_profile(write_profile(sonora)).profile)
    publishers = [el for el in ET.fromstring(xml).iter("FilePublisherRule")
                  if el.find("Conditions/FilePublisherCondition").get("PublisherName") != "*"]
    assert len(publishers) == 1
