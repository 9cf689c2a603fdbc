"""The facts-document schema and its loader (mt_eklient.facts)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from mt_eklient.errors import InputError
from mt_eklient.facts import FACTS_SCHEMA_PATH, facts_schema, load_facts, validate_facts

SAMPLE = Path(__file__).parent / "data" / "facts" / "wm1-sample.json"
USBSTOR = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\USBSTOR"
LOGON = "{0cce9215-69ae-11d9-bed3-505054503030}"


@pytest.fixture
def sample() -> dict[str, Any]:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


def problems_of(doc: Any) -> list[tuple[str, str]]:
    with pytest.raises(InputError) as info:
        validate_facts(doc, "host.json")
    assert all(p.file == "host.json" for p in info.value.problems)
    return [(p.field, p.message) for p in info.value.problems]


def test_schema_is_valid_draft_2020_12() -> None:
    schema = facts_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False
    assert facts_schema() is schema  # cached
    assert FACTS_SCHEMA_PATH.is_file()


def test_sample_validates(sample: dict[str, Any]) -> None:
    assert validate_facts(sample, str(SAMPLE)) is sample
    assert load_facts(SAMPLE) == sample


def test_sample_is_a_wm1_ltsc_2021_client(sample: dict[str, Any]) -> None:
    assert sample["os"]["edition_id"] == "EnterpriseS"
    assert sample["os"]["current_build"] == 19044
    assert sample["nameplate"]["class"] == "WM1"
    assert sample["errors"] == []


def _set(path: list[str | int], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        target: Any = doc
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return mutate


def _delete(path: list[str | int]) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        target: Any = doc
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return mutate


def _rename_audit_key(new: str) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        doc["audit_policy"][new] = doc["audit_policy"].pop(LOGON)

    return mutate


INVALID: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    (
        "service start mode enum",
        _set(["services", "AppIDSvc", "start_mode"], "automatic"),
        "services.AppIDSvc.start_mode",
        "'automatic' is not one of",
    ),
    (
        "service state enum",
        _set(["services", "WinRM", "state"], "Running"),
        "services.WinRM.state",
        "'Running' is not one of",
    ),
    (
        "firewall profile boolean",
        _set(["firewall", "profiles", "Domain", "enabled"], "yes"),
        "firewall.profiles.Domain.enabled",
        "'yes' is not one of",
    ),
    (
        "firewall default action",
        _set(["firewall", "profiles", "Public", "default_inbound_action"], "deny"),
        "firewall.profiles.Public.default_inbound_action",
        "'deny' is not one of",
    ),
    (
        "firewall rule action",
        _set(["firewall", "rules", 1, "action"], "Allow"),
        "firewall.rules[1].action",
        "'Allow' is not one of",
    ),
    (
        "firewall profile missing",
        _delete(["firewall", "profiles", "Private"]),
        "firewall.profiles.Private",
        "required property is missing",
    ),
    (
        "audit setting enum",
        _set(["audit_policy", LOGON], "Success and Failure"),
        f"audit_policy.{LOGON}",
        "is not one of",
    ),
    ("audit key upper case", _rename_audit_key(LOGON.upper()), "audit_policy", "does not match"),
    ("audit key by name", _rename_audit_key("Logon"), "audit_policy", "does not match"),
    ("audit key without braces", _rename_audit_key(LOGON.strip("{}")), "audit_policy", "does not match"),
    (
        "applocker mode",
        _set(["applocker", "collections", "Exe", "mode"], "Audit"),
        "applocker.collections.Exe.mode",
        "'Audit' is not one of",
    ),
    (
        "applocker collection missing",
        _delete(["applocker", "collections", "Dll"]),
        "applocker.collections.Dll",
        "required property is missing",
    ),
    (
        "registry dword as string",
        _set(["registry", USBSTOR, "Start", "value"], "4"),
        f"registry.{USBSTOR}.Start.value",
        "is not of type 'integer'",
    ),
    (
        "registry dword too large",
        _set(["registry", USBSTOR, "Start", "value"], 2**32),
        f"registry.{USBSTOR}.Start.value",
        "is greater than the maximum",
    ),
    (
        "registry type",
        _set(["registry", USBSTOR, "Start", "type"], "dword"),
        f"registry.{USBSTOR}.Start.type",
        "'dword' is not one of",
    ),
    (
        "registry binary hex",
        _set(["registry", USBSTOR, "Start"], {"type": "REG_BINARY", "value": "0A FF"}),
        f"registry.{USBSTOR}.Start.value",
        "does not match",
    ),
    (
        "registry multi-string",
        _set(["registry", USBSTOR, "Start"], {"type": "REG_MULTI_SZ", "value": "a"}),
        f"registry.{USBSTOR}.Start.value",
        "is not of type 'array'",
    ),
    (
        "local group key by name",
        _set(["local_groups", "Administrators"], {"members": []}),
        "local_groups",
        "does not match",
    ),
    (
        "member sid",
        _set(["local_groups", "S-1-5-32-544", "members", 0, "sid"], "Administrator"),
        "local_groups.S-1-5-32-544.members[0].sid",
        "does not match",
    ),
    ("hotfix id", _set(["hotfixes", 0, "id"], "5046613"), "hotfixes[0].id", "does not match"),
    ("hotfix date", _set(["hotfixes", 0, "installed_on"], "2026-13-45"), "hotfixes[0].installed_on", ""),
    ("os build type", _set(["os", "current_build"], "19044"), "os.current_build", "is not of type 'integer'"),
    (
        "missing host name",
        _delete(["host", "computer_name"]),
        "host.computer_name",
        "required property is missing",
    ),
    ("missing errors", _delete(["errors"]), "errors", "required property is missing"),
    ("unknown section", _set(["bitlocker"], {}), "", "Additional properties are not allowed"),
    ("schema version", _set(["schema_version"], 2), "schema_version", "1 was expected"),
    (
        "error section",
        _set(["errors"], [{"section": "bios", "message": "x"}]),
        "errors[0].section",
        "is not one of",
    ),
    ("null section without error", _set(["defender"], None), "errors", "section 'defender' is null"),
    (
        "null firewall rules without error",
        _set(["firewall", "rules"], None),
        "errors",
        "section 'firewall' is null",
    ),
    (
        "defender absent with preferences",
        _set(["defender", "present"], False),
        "defender.preferences",
        "an object is not of type 'null'",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "field", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_documents_name_the_field(
    sample: dict[str, Any], mutate: Callable[[dict[str, Any]], None], field: str, message: str
) -> None:
    doc = copy.deepcopy(sample)
    mutate(doc)
    problems = problems_of(doc)
    assert any(f == field and message in m for f, m in problems), problems


@pytest.mark.parametrize("section", ["os", "defender", "firewall", "hotfixes", "local_groups", "smb"])
def test_null_section_with_an_error_entry_is_valid(sample: dict[str, Any], section: str) -> None:
    doc = copy.deepcopy(sample)
    doc[section] = None
    doc["errors"] = [{"section": section, "message": "Get-Something: access denied"}]
    assert validate_facts(doc, "host.json") is doc


@pytest.mark.parametrize(
    "section", ["os", "registry", "defender", "applocker", "wdac", "programs", "nameplate"]
)
def test_absent_section_is_valid(sample: dict[str, Any], section: str) -> None:
    doc = copy.deepcopy(sample)
    del doc[section]
    validate_facts(doc, "host.json")


def test_absent_nameplate_may_be_null_without_error(sample: dict[str, Any]) -> None:
    doc = copy.deepcopy(sample)
    doc["nameplate"] = None
    validate_facts(doc, "host.json")


def test_registry_value_kinds(sample: dict[str, Any]) -> None:
    doc = copy.deepcopy(sample)
    doc["registry"]["HKLM\\SOFTWARE\\X"] = {
        "Dword": {"type": "REG_DWORD", "value": 4294967295},
        "Qword": {"type": "REG_QWORD", "value": 2**64 - 1},
        "Expand": {"type": "REG_EXPAND_SZ", "value": "%ProgramFiles%\\Acme"},
        "Multi": {"type": "REG_MULTI_SZ", "value": ["a", "b"]},
        "Binary": {"type": "REG_BINARY", "value": "00ff10"},
        "None": {"type": "REG_NONE", "value": ""},
    }
    doc["registry"]["HKLM\\SOFTWARE\\Unreadable"] = None
    doc["errors"] = [{"section": "registry", "message": "HKLM\\SOFTWARE\\Unreadable: access denied"}]
    validate_facts(doc, "host.json")


def test_several_problems_are_all_reported(sample: dict[str, Any]) -> None:
    doc = copy.deepcopy(sample)
    doc["services"]["AppIDSvc"]["start_mode"] = "automatic"
    doc["hotfixes"][1]["id"] = "Update"
    fields = [f for f, _ in problems_of(doc)]
    assert fields == ["hotfixes[1].id", "services.AppIDSvc.start_mode"]


def test_not_an_object() -> None:
    assert problems_of([]) == [("", "an array is not of type 'object'")]


# ------------------------------------------------------------------------------------------------
# load_facts


def test_load_facts_reports_file_field_message(tmp_path: Path, sample: dict[str, Any]) -> None:
    sample["firewall"]["profiles"]["Domain"]["enabled"] = "yes"
    path = tmp_path / "wm1-sono-01.json"
    path.write_text(json.dumps(sample), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_facts(path)
    assert (
        str(info.value)
        == f"{path}: firewall.profiles.Domain.enabled: 'yes' is not one of [True, False, 'not_configured']"
    )


def test_load_facts_truncated_json(tmp_path: Path) -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    path = tmp_path / "truncated.json"
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_facts(path)
    (problem,) = info.value.problems
    assert problem.file == str(path)
    assert problem.message.startswith("not valid JSON: ")
    assert f"at line {problem.line} column" in problem.message
    assert problem.line is not None and problem.line > 100
    assert str(info.value).startswith(f"{path}:{problem.line}: not valid JSON: ")


@pytest.mark.parametrize("content", [b"", b"\x00\x01garbage\xff", b"WARNING: something\r\n{}", b'{"a": 1,}'])
def test_load_facts_garbage(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "garbage.json"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        load_facts(path)
    (problem,) = info.value.problems
    assert problem.message.startswith(("not valid JSON", "not valid UTF-8"))


def test_load_facts_accepts_powershell_encodings(tmp_path: Path) -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    utf16 = tmp_path / "redirected.json"  # Windows PowerShell 5.1: `collect.ps1 > file`
    utf16.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    bom = tmp_path / "outfile.json"  # Out-File -Encoding utf8
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert load_facts(utf16) == load_facts(bom) == load_facts(SAMPLE)


def test_load_facts_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_facts(tmp_path / "nope.json")
    assert str(info.value).startswith(f"{tmp_path / 'nope.json'}: cannot read")
