"""One comparator per catalog compare operator; value normalisation shared by all of them."""

from __future__ import annotations

import pytest
from mt_eklient.catalog import Compare
from mt_eklient.compare import COMPARATORS, compare, equal


def test_every_catalog_operator_has_a_comparator():
    assert set(COMPARATORS) == set(Compare.__args__)


@pytest.mark.parametrize("actual, expected", [
    (1, 1), ("1", 1), (1, "1"), (" 1 ", 1), ("0x1", 1), (255, "0xFF"), (True, 1), (1, True), ("true", True),
    (False, 0), ("C:\\Data\\", "c:\\data"), ("Block", "block"), ("%ProgramFiles%\\X", "%PROGRAMFILES%\\x"),
    (["a", "B"], ["b", "A"]), ({"Domain": True}, {"domain": 1}),
])
def test_equal_values(actual, expected):
    assert equal(actual, expected)
    assert compare("equals", actual, expected).ok


@pytest.mark.parametrize("actual, expected", [
    (0, 1), ("2", 1), (None, 0), (0, None), ("block", "allow"), (True, 0), ("yes please", True), ("C:\\a", "C:\\b"),
    ("not_configured", True),
])
def test_unequal_values(actual, expected):
    assert not compare("equals", actual, expected).ok


def test_equals_on_unset_value_says_not_set():
    assert compare("equals", None, 1).message == "not set"


@pytest.mark.parametrize("op, actual, expected, ok", [
    ("at_most", 10, 45, True), ("at_most", 45, 45, True), ("at_most", 46, "45", False),
    ("at_least", "14", 14, True), ("at_least", 8, 14, False), ("at_least", None, 14, False),
    ("at_least", "lots", 14, False),
])
def test_ordered(op, actual, expected, ok):
    assert compare(op, actual, expected).ok is ok


def test_ordered_explains_non_numbers():
    assert "not a number" in compare("at_most", "soon", 5).message
    assert compare("at_most", None, 5).message == "not set"


def test_one_of():
    assert compare("one_of", "AuditOnly", ["auditonly", "Enabled"]).ok
    assert not compare("one_of", "NotConfigured", ["AuditOnly", "Enabled"]).ok
    assert not compare("one_of", None, ["a"]).ok


def test_set_equals_ignores_order_and_case_and_names_the_difference():
    assert compare("set_equals", ["B", "a"], ["A", "b"]).ok
    outcome = compare("set_equals", ["a", "c"], ["a", "b"])
    assert not outcome.ok
    assert outcome.message == "missing: b; unexpected: c"
    assert compare("set_equals", None, []).ok  # Get-MpPreference returns null for an empty list


def test_subset_and_superset():
    assert compare("subset_of", ["a"], ["a", "b"]).ok
    assert compare("subset_of", [], ["a"]).ok
    assert compare("subset_of", ["a", "x"], ["a", "b"]).message == "not allowed: x"
    assert compare("superset_of", ["a", "b", "c"], ["a", "b"]).ok
    assert compare("superset_of", ["a"], ["a", "b"]).message == "missing: b"


def test_contains_and_not_contains():
    assert compare("contains", ["KB1", "KB2"], "kb2").ok
    assert compare("contains", "https://wsus.example:8531", "WSUS.example").ok
    assert not compare("contains", ["KB1"], ["KB1", "KB2"]).ok
    assert compare("not_contains", ["KB1", "KB2"], ["KB3"]).ok
    outcome = compare("not_contains", ["KB1", "KB2"], ["KB2", "KB3"])
    assert (outcome.ok, outcome.message) == (False, "present: KB2")
    assert compare("not_contains", None, ["KB2"]).ok


def test_absent_and_present():
    assert compare("absent", None, None).ok
    assert not compare("absent", "", None).ok
    assert compare("present", 0, None).ok
    assert not compare("present", None, None).ok


def test_patterns_only_when_asked():
    members = ["S-1-5-21-1-2-3-500", "S-1-5-21-9-9-9-1013"]
    expected = ["S-1-5-21-*-500", "S-1-5-21-9-9-9-1013"]
    assert compare("set_equals", members, expected, patterns=True).ok
    assert not compare("set_equals", members, expected).ok
    extra = compare("set_equals", [*members, "S-1-5-21-1-2-3-1001"], expected, patterns=True)
    assert extra.message == "unexpected: S-1-5-21-1-2-3-1001"
    # A wildcard in an exclusion path is literal: it must not accept other paths.
    assert not compare("set_equals", ["C:\\Data\\other"], ["C:\\Data\\*"]).ok


def test_unknown_operator_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown compare operator"):
        compare("roughly", 1, 1)


@pytest.mark.parametrize(("actual", "ok", "message"), [
    (600, True, None), (1, True, None), ("0x258", True, None),
    (0, False, "below 1"), (601, False, "above 600"), (None, False, "not set"), ("soon", False, "'soon' is not a number"),
])
def test_between_bounds_are_inclusive_and_zero_fails(actual, ok, message):
    outcome = compare("between", actual, [1, 600])
    assert (outcome.ok, outcome.message) == (ok, message)


def test_report_schema_knows_every_catalog_compare_operator():
    import json
    import typing
    from pathlib import Path

    import mt_eklient

    schema = json.loads((Path(mt_eklient.__file__).parent / "schemas" / "report.schema.json").read_text())
    enums = []

    def walk(node):
        if isinstance(node, dict):
            if "compare" in node and isinstance(node["compare"], dict) and "enum" in node["compare"]:
                enums.append(node["compare"]["enum"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    assert enums and all(set(e) == set(typing.get_args(Compare)) for e in enums)
    assert set(COMPARATORS) == set(typing.get_args(Compare))
