"""argspec.py and pslit.py: Ansible.Basic's argument checks, pure Python."""

from __future__ import annotations

import pytest
from mt_eklient.lab.argspec import (
    NO_LOG_MASK,
    ArgSpecError,
    from_documentation,
    mask,
    merge_powershell_spec,
    validate,
)
from mt_eklient.lab.pslit import VarRef, legacy_required, parse_spec

DOC = {
    "path": {"type": "str", "required": True, "aliases": ["key"]},
    "name": {"type": "str", "aliases": ["entry", "value"]},
    "data": {"type": "raw"},
    "type": {"type": "str", "choices": ["none", "binary", "dword", "string"], "default": "string",
             "aliases": ["datatype"]},
    "delete_key": {"type": "bool", "default": True},
    "count": {"type": "int"},
    "ratio": {"type": "float"},
    "items": {"type": "list", "elements": "int"},
    "opts": {"type": "dict"},
    "where": {"type": "path"},
    "profiles": {"type": "list", "elements": "str", "choices": ["Domain", "Private", "Public"]},
    "creds": {"type": "list", "elements": "dict",
              "suboptions": {"name": {"type": "str", "required": True}, "password": {"type": "str"},
                             "username": {"type": "str"}, "value": {"type": "str"}}},
}


@pytest.fixture
def spec():
    return from_documentation("ansible.windows.win_test", DOC)


def error(spec, params) -> str:
    with pytest.raises(ArgSpecError) as info:
        validate(spec, params)
    return str(info.value)


def test_defaults_aliases_and_missing_options(spec) -> None:
    out = validate(spec, {"key": "HKLM:\\X", "entry": "n"})
    assert out["path"] == "HKLM:\\X" and out["name"] == "n"
    assert out["type"] == "string" and out["delete_key"] is True and out["data"] is None
    assert "key" not in out and "entry" not in out


def test_unsupported_parameter_lists_options_then_aliases(spec) -> None:
    msg = error(spec, {"path": "x", "vaule": 1})
    assert msg.startswith("Unsupported parameters for (win_test) module: vaule. Supported parameters include: ")
    listed = msg.split("include: ")[1].split(", ")
    assert listed[:3] == ["count", "creds", "data"] and "datatype" in listed and "key" in listed


def test_case_insensitive_match_is_accepted_and_renamed(spec) -> None:
    assert validate(spec, {"PATH": "x"})["path"] == "x"


def test_choices(spec) -> None:
    assert error(spec, {"path": "x", "type": "dwrod"}) == (
        "value of type must be one of: none, binary, dword, string. Got no match for: dwrod")
    assert validate(spec, {"path": "x", "type": "DWORD"})["type"] == "DWORD"  # case-insensitive, kept as given
    assert "must be one or more of: Domain, Private, Public. Got no match for: Dmain" in error(
        spec, {"path": "x", "profiles": ["Domain", "Dmain"]})


def test_required(spec) -> None:
    assert error(spec, {"name": "n"}) == "missing required arguments: path"


@pytest.mark.parametrize(("option", "value", "expected"), [
    ("delete_key", "yes", True), ("delete_key", "0", False), ("delete_key", 1, True),
    ("count", "42", 42), ("count", 7.0, 7), ("ratio", "1.5", 1.5), ("ratio", 2, 2.0),
    ("items", "1, 2", [1, 2]), ("items", 5, [5]), ("opts", '{"a": 1}', {"a": 1}), ("opts", "a=1 b=2", {"a": "1", "b": "2"}),
    ("name", 5, "5"), ("name", True, "True"), ("where", "C:\\x", "C:\\x"), ("data", {"any": "thing"}, {"any": "thing"}),
])
def test_type_conversions(spec, option: str, value, expected) -> None:
    assert validate(spec, {"path": "x", option: value})[option] == expected


@pytest.mark.parametrize(("option", "value", "fragment"), [
    ("delete_key", "maybe", "The value 'maybe' is not a valid boolean"),
    ("count", "ten", "unable to convert to int: Input string was not in a correct format."),
    ("count", True, "is of type System.Boolean and we were unable to convert to int"),
    ("count", 2**40, "too large or too small for an Int32"),
    ("items", {"a": 1}, "System.Collections.Hashtable cannot be converted to a list"),
    ("items", ["x"], "argument for list entry items is of type System.String"),
    ("opts", "plain", "must either be a JSON string or in the key=value form"),
    ("opts", [1], "cannot be converted to a dict"),
    ("name", ["a"], "unable to convert to str"),
    ("where", "C:\\a|b", "invalid path characters"),
])
def test_wrong_types_fail(spec, option: str, value, fragment: str) -> None:
    assert fragment in error(spec, {"path": "x", option: value})


def test_constraints_from_the_powershell_spec() -> None:
    spec = from_documentation("x.y.win_svc", {"name": {"type": "str"}, "username": {"type": "str"},
                                              "password": {"type": "str"}, "state": {"type": "str"},
                                              "path": {"type": "str"}})
    merge_powershell_spec(spec, {"options": {"password": {"type": "str", "no_log": True}},
                                 "required_by": {"password": "username"},
                                 "required_if": [["state", "present", ["path"]]],
                                 "mutually_exclusive": [["name", "path"]],
                                 "required_one_of": [["name", "path"]],
                                 "required_together": [["username", "state"]]})
    assert error(spec, {"state": "x", "username": "u", "password": "p"}) == \
        "one of the following is required: name, path"
    assert error(spec, {"name": "a", "path": "b"}) == "parameters are mutually exclusive: name, path"
    assert error(spec, {"name": "a", "username": "u"}) == "parameters are required together: username, state"
    assert error(spec, {"name": "a", "password": "p"}) == "missing parameter(s) required by 'password': username"
    assert error(spec, {"name": "a", "state": "present", "username": "u"}) == \
        "state is present but all of the following are missing: path"
    assert spec.options["password"].no_log


def test_suboptions_report_their_context(spec) -> None:
    spec.options["creds"].suboptions.mutually_exclusive = [["value", "username"]]
    assert error(spec, {"path": "x", "creds": [{"name": "a", "value": "v", "username": "u"}]}) == \
        "parameters are mutually exclusive: value, username found in creds"
    assert "Unsupported parameters for (password) module: nmae" not in error(
        spec, {"path": "x", "creds": [{"nmae": "a"}]})
    assert "found in creds" in error(spec, {"path": "x", "creds": [{"nmae": "a"}]})


def test_mask_hides_no_log_and_secret_names(spec) -> None:
    spec.options["name"].no_log = True
    masked = mask(spec, {"path": "x", "name": "n", "opts": {"AdminPassword": "p", "Token": "t", "Other": 1},
                         "creds": [{"name": "a", "password": "p"}]})
    assert masked["name"] == NO_LOG_MASK and masked["path"] == "x"
    assert masked["opts"] == {"AdminPassword": NO_LOG_MASK, "Token": NO_LOG_MASK, "Other": 1}
    assert masked["creds"] == [{"name": "a", "password": NO_LOG_MASK}]


def test_powershell_literal_parser() -> None:
    script = """#!powershell
# comment with $spec = @{ broken
$spec = @{
    options = @{
        name = @{ type = 'str'; required = $true; aliases = 'key' }
        delay = @{ aliases = , 'delay_ms'; type = $uint32Type; default = 0 }
        mode = @{ type = "str"; choices = 'a', 'b'
            default = 'a' }  <# block comment #>
        sub = @{
            type = 'list'; elements = 'dict'
            options = @{ x = @{ type = 'int' } }
            mutually_exclusive = @(
                , @('x', 'y')
                , @('x', 'z')
            )
        }
    }
    required_if = @(, @('mode', 'b', @('name'), $true))
    supports_check_mode = $false
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$x = $module.Params.name | Where-Object { $_ -ne "" }
"""
    spec = parse_spec(script)
    assert spec["options"]["name"] == {"type": "str", "required": True, "aliases": "key"}
    assert spec["options"]["delay"] == {"aliases": ["delay_ms"], "type": VarRef("uint32Type"), "default": 0}
    assert spec["options"]["mode"]["choices"] == ["a", "b"]
    assert spec["options"]["sub"]["mutually_exclusive"] == [["x", "y"], ["x", "z"]]
    assert spec["required_if"] == [["mode", "b", ["name"], True]]
    assert spec["supports_check_mode"] is False
    assert parse_spec("no spec here") is None
    legacy = '$state = Get-AnsibleParam -obj $params -name "state" -type "str" -failifempty $true -validateset "a"'
    assert legacy_required(legacy) == ["state"]
