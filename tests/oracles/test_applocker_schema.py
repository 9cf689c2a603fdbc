"""Oracle 2: the AppLocker policy the build writes validates against the schema Microsoft publishes
in the AppLocker CSP documentation (applocker-policy.xsd), for every shipped profile and for
generated ones, with a real XSD validator."""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import pytest
import xmlschema
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mt_eklient.applocker import policy_xml
from mt_eklient.profile import Profile, load_profile
from oracle_paths import REPO, reference_file

PROFILES = sorted((REPO / "profiles").glob("*.yml"))
BASE = yaml.safe_load((REPO / "profiles" / "sonora-review-4.yml").read_text(encoding="utf-8"))


@functools.cache
def load_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(reference_file("applocker-policy.xsd")))


@pytest.fixture
def schema() -> xmlschema.XMLSchema:
    return load_schema()


def schema_errors(schema: xmlschema.XMLSchema, xml: str) -> list[str]:
    return [f"{error.path}: {error.reason}" for error in schema.iter_errors(xml)]


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_every_profiles_policy_is_valid(path: Path, schema: xmlschema.XMLSchema) -> None:
    assert schema_errors(schema, policy_xml(load_profile(path).profile)) == []


def test_the_schema_rejects_what_windows_rejects(schema: xmlschema.XMLSchema) -> None:
    """Guard against a validator that accepts anything: braces around an Id, a bare hex hash."""
    good = policy_xml(Profile.model_validate(BASE))
    assert schema_errors(schema, good) == []
    first_id = good.split('Id="', 1)[1].split('"', 1)[0]
    assert schema_errors(schema, good.replace(first_id, "{" + first_id + "}", 1))
    hashed = ('<AppLockerPolicy Version="1"><RuleCollection Type="Exe" EnforcementMode="AuditOnly">'
              '<FileHashRule Id="0b0f2c55-7ad7-4a84-9d0c-22b6e8e0f001" Name="x" Description="" UserOrGroupSid="S-1-1-0" '
              'Action="Allow"><Conditions><FileHashCondition><FileHash Type="SHA256" Data="{data}" '
              'SourceFileName="x.exe" SourceFileLength="1"/></FileHashCondition></Conditions></FileHashRule>'
              '</RuleCollection></AppLockerPolicy>')
    assert schema_errors(schema, hashed.format(data="0x" + "ab" * 32)) == []
    assert schema_errors(schema, hashed.format(data="ab" * 32))


names = st.text(st.characters(codec="utf-8", categories=("L", "N", "Zs", "P")), min_size=1, max_size=30).filter(
    lambda s: s.strip())
folders = st.builds(lambda drive, parts: drive + "\\".join(parts), st.sampled_from(["C:\\", "D:\\", "%PROGRAMFILES%\\"]),
                    st.lists(st.from_regex(r"[A-Za-z0-9 ._-]{1,12}", fullmatch=True).filter(str.strip),
                             min_size=1, max_size=3))
publishers = st.builds(lambda o, c: f"O={o}, C={c}", st.from_regex(r"[A-Z][A-Z &.]{2,20}", fullmatch=True),
                       st.sampled_from(["SE", "NO", "DE", "US"]))
hashes = st.from_regex(r"0x[0-9A-Fa-f]{64}", fullmatch=True)


@st.composite
def extra_rules(draw):
    kind = draw(st.sampled_from(["publisher", "path", "hash"]))
    rule = {"name": draw(names), "collection": draw(st.sampled_from(["Exe", "Msi", "Script", "Dll", "Appx"])),
            "kind": kind, "action": draw(st.sampled_from(["allow", "deny"]))}
    if kind == "publisher":
        rule["value"] = draw(publishers)
    elif kind == "path":
        rule["value"] = draw(folders) + "\\*"
    else:
        rule["value"] = draw(hashes)
        rule["hash_type"] = draw(st.sampled_from(["SHA256", "SHA256Flat"]))
    return rule


@st.composite
def profiles(draw):
    data = copy.deepcopy(BASE)
    data["whitelisting"]["mode"] = draw(st.sampled_from(["audit", "enforce"]))
    apps = []
    for index in range(draw(st.integers(0, 3))):
        apps.append({"name": draw(names), "publisher": draw(st.none() | publishers),
                     "install_paths": draw(st.lists(folders, max_size=3)),
                     "uninstall_display_name": f"App {index}*"})
    data["applications"] = apps or data["applications"]
    data["whitelisting"]["extra_rules"] = draw(st.lists(extra_rules(), max_size=6))
    return Profile.model_validate(data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profile=profiles())
def test_generated_profiles_policies_are_valid(profile: Profile) -> None:
    assert schema_errors(load_schema(), policy_xml(profile)) == []
