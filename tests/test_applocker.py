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


HASH = "0x" + "3F" * 32


@pytest.mark.parametrize(("rule", "message"), [
    ({"kind": "hash", "value": "3f" * 32, "hash_type": "SHA256Flat"}, "0x followed by 64 hex digits (prefix 0x)"),
    ({"kind": "hash", "value": "0x" + "3f" * 20, "hash_type": "SHA256"}, "0x followed by 64 hex digits"),
    ({"kind": "hash", "value": HASH}, "hash_type: required for kind hash"),
    ({"kind": "path", "value": "D:\\App\\*", "hash_type": "SHA256"}, "hash_type: only for kind hash"),
])
def test_hash_rules_are_checked_at_profile_load(sonora, write_profile, rule, message):
    from mt_eklient.errors import InputError

    sonora["whitelisting"]["extra_rules"] = [{"name": "x", "collection": "Exe", **rule}]
    with pytest.raises(InputError) as caught:
        load_profile(write_profile(sonora))
    text = str(caught.value)
    assert "whitelisting.extra_rules" in text and message in text, text


@pytest.mark.parametrize("kind", ["SHA256", "SHA256Flat"])
def test_hash_rule_carries_the_profiles_hash_type(sonora, write_profile, kind):
    sonora["whitelisting"]["extra_rules"] = [{"name": "tool.exe", "collection": "Exe", "kind": "hash",
                                              "value": HASH, "hash_type": kind}]
    xml = policy_xml(load_profile(write_profile(sonora)).profile)
    (file_hash,) = ET.fromstring(xml).iter("FileHash")
    assert (file_hash.get("Type"), file_hash.get("Data")) == (kind, HASH)
    assert f"Exe:Allow:S-1-1-0:FileHashCondition:{kind.lower()}:{HASH.lower()}" in rule_signatures(xml)


def test_rule_ids_are_bare_guids(sonora, write_profile):
    xml = policy_xml(load_profile(write_profile(sonora)).profile)
    ids = [el.get("Id") for el in ET.fromstring(xml).iter() if el.get("Id")]
    assert ids and all(not i.startswith("{") and len(i) == 36 for i in ids)


def test_dll_extra_rules_build_the_dll_collection_with_its_default_rules(sonora, write_profile):
    sonora["whitelisting"]["extra_rules"] = [{"name": "Codec", "collection": "Dll", "kind": "path",
                                              "value": "D:\\Codecs\\*"}]
    xml = policy_xml(load_profile(write_profile(sonora)).profile)
    assert collection_modes(xml)["Dll"] == collection_modes(xml)["Exe"] != "NotConfigured"
    signatures = rule_signatures(xml)
    assert "Dll:Allow:S-1-1-0:FilePathCondition:d:\\codecs\\*" in signatures
    assert any(s.startswith("Dll:Allow:S-1-1-0:FilePathCondition:%windir%\\*") for s in signatures)
    assert "Dll:Allow:S-1-5-32-544:FilePathCondition:*" in signatures
