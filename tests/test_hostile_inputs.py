"""Hostile files and hosts: each test feeds one attack from issue 9 and checks the run survives it
with a clear error (exit 2 for our own input files, one host error with exit 3 for a host's facts),
never a traceback, never a forged or repainted terminal."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from mt_eklient import facts as facts_module
from mt_eklient.cli import main
from mt_eklient.errors import InputError
from mt_eklient.hosts import resolve_host
from mt_eklient.textsafe import printable
from mt_eklient.yamlsource import MAX_DEPTH, parse_yaml, safe_load

REPO = Path(__file__).resolve().parents[1]
SAMPLE_FACTS = REPO / "tests" / "data" / "facts" / "wm1-sample.json"
PROFILE = REPO / "profiles" / "sonora-review-4.yml"
ESC = "\x1b"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def sample() -> dict:
    return json.loads(SAMPLE_FACTS.read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------------------------
# YAML: alias bombs and deep nesting (every YAML the project reads goes through yamlsource)

ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))


def test_alias_bomb_profile_is_refused_fast(tmp_path):
    path = tmp_path / "bomb.yml"
    path.write_text(ALIAS_BOMB, encoding="utf-8")
    assert len(ALIAS_BOMB) < 1024
    started = time.monotonic()
    code, _, err = run("profile", "validate", str(path))
    assert time.monotonic() - started < 5
    assert code == 2
    assert err.strip() == f"{path}: refused: more than 100000 values after alias expansion (an alias bomb?)"


@pytest.mark.parametrize("text", ["a: " + "[" * 5000 + "]" * 5000 + "\n", "a: " + "{b: " * 100 + "1" + "}" * 100,
                                  "a: &a [*a]\n"])
def test_deep_or_recursive_yaml_is_refused(tmp_path, text):
    path = tmp_path / "deep.yml"
    path.write_text(text, encoding="utf-8")
    code, _, err = run("profile", "validate", str(path))
    assert code == 2 and "Traceback" not in err
    assert f"nested deeper than {MAX_DEPTH} levels" in err or "alias expansion" in err


def test_package_data_goes_through_the_same_limits():
    with pytest.raises(InputError):
        safe_load(ALIAS_BOMB, "ltsc.yml")
    assert safe_load("", "empty.yml") is None
    assert parse_yaml("a: &x [1, 2]\nb: *x\n", "ok.yml").data == {"a": [1, 2], "b": [1, 2]}


# ------------------------------------------------------------------------------------------------
# Profile ids, rule names, event forwarding


@pytest.mark.parametrize("profile_id", ["../../etc/x", "/etc/passwd", "sonora-review-4/../sonora-review-4",
                                        "..", "Sonora", "a b"])
def test_profile_ids_are_names_not_paths(profile_id):
    with pytest.raises(InputError) as err:
        resolve_host("h1", {"mt_class": "WM1", "mt_profile": profile_id}, __import__("datetime").date(2026, 11, 25))
    [problem] = err.value.problems
    assert problem.field == "mt_profile" and "never a path" in problem.message


@pytest.mark.parametrize("name", ["Vendor\x01tool", "Vendor\x1b[2Jtool", "line\nbreak", "rtl\u202eexe.txt"])
def test_control_characters_in_profile_text_fail_validation(sonora, write_profile, name):
    sonora["whitelisting"]["extra_rules"] = [{"name": name, "collection": "Exe", "kind": "path",
                                              "value": "%PROGRAMFILES%\\Vendor\\*"}]
    path = write_profile(sonora)
    code, _, err = run("profile", "validate", str(path))
    assert code == 2
    assert "whitelisting.extra_rules[0].name: control character U+" in err
    assert ESC not in err
    # show and verify stop at the same validation (they used to crash with an XML ParseError)
    assert run("profile", "show", str(path))[0] == 2
    assert run("verify", str(SAMPLE_FACTS), "--profile", str(path), "--no-history")[0] == 2


@pytest.mark.parametrize("target", [
    "http://wec.example:5985/wsman/SubscriptionManager/WEC,Refresh=86400,IssuerCA=0123abcd",
    "http://wec.example/x=1", "http://wec.example/ a"])
def test_event_forwarding_target_cannot_smuggle_options(sonora, write_profile, target):
    sonora["monitoring"]["event_forwarding"] = {"target": target}
    code, _, err = run("profile", "validate", str(write_profile(sonora)))
    assert code == 2 and "monitoring.event_forwarding.target" in err


# ------------------------------------------------------------------------------------------------
# Facts documents from a hostile host: one host error, exit 3, reports still written


def _verify(tmp_path: Path, text: str) -> tuple[int, str, str, dict]:
    facts = tmp_path / "facts.json"
    facts.write_text(text, encoding="utf-8", errors="surrogatepass")
    report = tmp_path / "r.json"
    code, out, err = run("verify", str(facts), "--profile", str(PROFILE), "--site", "region-vastland", "--no-history", "--json", str(report),
                         "--html", str(tmp_path / "r.html"), "--junit", str(tmp_path / "r.xml"))
    return code, out, err, json.loads(report.read_text(encoding="utf-8")) if report.exists() else {}


def test_deeply_nested_facts_are_one_host_error(tmp_path):
    doc = sample()
    doc["host"]["computer_name"] = "wm1-deep-01"
    text = json.dumps(doc)[:-1] + ', "x": ' + "[" * 50_000 + "]" * 50_000 + "}"
    code, out, err, report = _verify(tmp_path, text)
    assert code == 3, err
    [host] = report["hosts"]
    assert host["status"] == "error" and "nested deeper than 32 levels" in host["error"]
    assert "Traceback" not in err and "ERROR: " in out


def test_oversized_facts_are_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(facts_module, "MAX_FACTS_BYTES", 100_000)
    doc = sample()
    doc["programs"] = doc["programs"] * 2000
    code, _, err, report = _verify(tmp_path, json.dumps(doc))
    assert code == 3, err
    assert "over the limit of 100000" in report["hosts"][0]["error"]


def test_lone_surrogate_in_facts_does_not_break_any_report(tmp_path):
    doc = sample()
    doc["programs"][0]["name"] = "Acme \ud800 Workstation"
    doc["host"]["computer_name"] = "WM1-SONO-01\udfff"
    text = json.dumps(doc)  # ensure_ascii: the surrogates travel as \\ud800 escapes, as a host would send them
    code, _, err, _ = _verify(tmp_path, text)
    assert code in (0, 1), err
    assert "Traceback" not in err
    for name in ("r.json", "r.html", "r.xml"):
        (tmp_path / name).read_text(encoding="utf-8")  # valid UTF-8 throughout


@pytest.mark.parametrize("escape", ["\\ud800", "\\uDFFF", "\\uDc00", "\ud801"])
def test_parsed_facts_never_keep_a_lone_surrogate(escape):
    """However the host spells it (any case of the JSON escape, or the raw character), a lone
    surrogate is replaced while parsing; text without one keeps its other escapes (\\u00e5)."""
    text = '{"host": {"computer_name": "WM1-\\u00e5' + escape + '"}, "programs": [{"name": "\\u003cx\\u003e"}]}'
    doc = facts_module.parse_facts_text(text, "x")
    assert doc["host"]["computer_name"] == "WM1-\u00e5\ufffd"
    assert doc["programs"][0]["name"] == "<x>"


def test_deep_facts_are_refused_without_surrogates_too():
    text = '{"a": ' + "[" * 40 + "]" * 40 + "}"
    with pytest.raises(facts_module.FactsRefused, match="nested deeper than 32 levels"):
        facts_module.parse_facts_text(text, "x")


def test_escape_sequences_from_the_host_never_reach_the_terminal(tmp_path):
    doc = sample()
    doc["host"]["computer_name"] = "WM1\x1b[2J\x1b[H[2/3] wm1-forged ok"
    doc["errors"] = [{"section": "programs", "message": "boom\r\n[3/3] wm1-fake ok\x07"}]
    _, out, err, _ = _verify(tmp_path, json.dumps(doc))
    assert ESC not in out + err and "\x07" not in out and "\r" not in out
    assert "\\x1b[2j" in out.lower()  # shown, visibly
    assert not any(line.startswith("[3/3]") for line in out.splitlines())
    raw = (tmp_path / "r.json").read_text(encoding="utf-8")
    assert "\\u001b[2J" in raw  # the JSON report keeps the original, escaped
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    junit = (tmp_path / "r.xml").read_text(encoding="utf-8")
    assert ESC not in html and ESC not in junit and "\x07" not in junit


def test_progress_lines_cannot_be_forged():
    from mt_eklient.scan import progress_printer

    stream = io.StringIO()
    emit = progress_printer(3, stream)
    emit("wm1-a\x1b[1A", "error", 1.0, "collector failed: x\n[2/3] wm1-b ok 0.1s")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("[1/3] wm1-a\\x1b[1A error 1.0s: collector failed: x\\n[2/3]")


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_printable_leaves_no_control_character(text):
    shown = printable(text)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF
                   or c in "\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069" for c in shown)
    shown.encode("utf-8")
    if text.isprintable() and "\\" not in text:
        assert shown == text


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=40))
def test_any_program_name_renders_in_every_report(tmp_path, name):
    from mt_eklient.reports.console import render_console
    from mt_eklient.reports.html_report import render_html
    from mt_eklient.reports.junit import render_junit
    from mt_eklient.scanresult import HostInput, run_evaluation

    doc = sample()
    doc["host"]["computer_name"] = name
    doc["errors"] = [{"section": "programs", "message": name}]
    facts_module.bound_facts(doc, "x")
    _, baseline = resolve_host("wm1-sono-01", {"mt_class": "WM1", "mt_profile": "sonora-review-4", "mt_site": "region-vastland"},
                               __import__("datetime").date(2026, 11, 25))
    report = run_evaluation([HostInput("wm1-sono-01", baseline=baseline, facts=doc)]).to_report()
    for text in (render_console(report), render_html(report), render_junit(report)):
        text.encode("utf-8")
        assert ESC not in text and "\r" not in text


# ------------------------------------------------------------------------------------------------
# File modes


def test_reports_and_history_are_not_world_readable(tmp_path):
    script = (f"import os, sys; os.umask(0); from mt_eklient.cli import main; "
              f"sys.exit(main(['verify', {str(SAMPLE_FACTS)!r}, '--profile', {str(PROFILE)!r}, '--site', 'region-vastland', "
              f"'--json', 'r.json', '--html', 'r.html', '--junit', 'r.xml', '--history', 'h.sqlite']))")
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    for name in ("r.json", "r.html", "r.xml"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o640, name
    assert stat.S_IMODE(os.stat(tmp_path / "h.sqlite").st_mode) == 0o600
    # An existing world-readable history is narrowed on the next write.
    os.chmod(tmp_path / "h.sqlite", 0o644)
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, check=False)
    assert stat.S_IMODE(os.stat(tmp_path / "h.sqlite").st_mode) == 0o600


# ------------------------------------------------------------------------------------------------
# Secrets on the host: presence only


def test_winlogon_default_password_is_collected_as_presence_only():
    """The lab answers a request as the collector does: a clear-text DefaultPassword on the host
    is reported as present, its data never enters the facts document or any report."""
    from datetime import date

    from mt_eklient.collection import collection_request
    from mt_eklient.lab.facts import facts_from_state
    from mt_eklient.lab.fresh import HostSpec, fresh_state
    from mt_eklient.lab.registry import Registry
    from mt_eklient.reports.json_report import render_json
    from mt_eklient.scanresult import HostInput, run_evaluation

    today = date(2026, 11, 25)
    winlogon = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon"
    canary = "CANARY-autologon-81c4e2"
    state = fresh_state(HostSpec(name="wm1-sono-01", edition="win10-ltsc-2021"), today=today)
    Registry(state["registry"]).set(winlogon, "DefaultPassword", "REG_SZ", canary)
    _, baseline = resolve_host("wm1-sono-01", {"mt_class": "WM1", "mt_profile": "sonora-review-4", "mt_site": "region-vastland"}, today)
    request = collection_request(baseline)
    assert [winlogon, "DefaultPassword", "presence"] in request["registry"]
    facts = facts_from_state(state, request)
    assert facts["registry"][winlogon]["DefaultPassword"] == {"type": "REG_SZ", "present": True}
    facts_module.validate_facts(facts, "lab")
    assert canary not in json.dumps(facts)
    report = run_evaluation([HostInput("wm1-sono-01", baseline=baseline, facts=facts)], today=today).to_report()
    [control] = [c for c in report["hosts"][0]["controls"] if c["id"] == "ACC-AUTOLOGON-NO-CLEARTEXT"]
    assert control["status"] == "fail" and canary not in render_json(report)


def test_secret_registry_values_are_checked_for_presence_only():
    """A catalog control that reads a secret-named registry value must only ask whether it exists."""
    from mt_eklient.catalog import load_catalog
    from mt_eklient.evaluate import SECRET_NAME

    secret = [c for c in load_catalog().controls
              if c.method == "registry" and SECRET_NAME.search(str(c.check["name"]))]
    assert secret, "the catalog checks DefaultPassword"
    assert all(c.compare in ("absent", "present") for c in secret), [c.id for c in secret]


# ------------------------------------------------------------------------------------------------
# Fuzzing: no input makes `mtk profile validate`, `mtk profile show` or `mtk verify` raise

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def _replace(document, path, new):
    if not path:
        return new
    node = document
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = new
    return document


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), value=json_values)
def test_no_profile_makes_mtk_crash(tmp_path, data, value):
    import copy

    import yaml

    base = yaml.safe_load(PROFILE.read_text(encoding="utf-8"))
    path = data.draw(st.sampled_from(list(_paths(base))))
    profile = _replace(copy.deepcopy(base), path, value)
    target = tmp_path / "fuzz.yml"
    target.write_text(yaml.safe_dump(profile, allow_unicode=True), encoding="utf-8")
    code, _, err = run("profile", "validate", str(target))
    assert code in (0, 2) and "Traceback" not in err
    if code == 0:
        assert run("profile", "show", str(target))[0] == 0
        assert run("verify", str(SAMPLE_FACTS), "--profile", str(target), "--no-history")[0] in (0, 1, 3)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), value=json_values)
def test_no_facts_document_makes_mtk_verify_crash(tmp_path, data, value):
    facts = sample()
    path = data.draw(st.sampled_from(list(_paths(facts))))
    target = tmp_path / "facts.json"
    target.write_text(json.dumps(_replace(facts, path, value)), encoding="utf-8")
    code, _, err = run("verify", str(target), "--profile", str(PROFILE), "--site", "region-vastland", "--no-history",
                       "--json", str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html"))
    assert code in (0, 1, 2, 3) and "Traceback" not in err


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
@example(b"=")  # YAML's `value` tag, which the safe loader cannot construct
@example(b"a: !!python/object:os.system x")
def test_no_bytes_make_mtk_crash(tmp_path, raw):
    for name, argv in (("p.yml", ("profile", "validate")), ("f.json", ("verify",))):
        target = tmp_path / name
        target.write_bytes(raw)
        args = [*argv, str(target)] + (["--profile", str(PROFILE), "--site", "region-vastland", "--no-history"] if argv == ("verify",) else [])
        code, _, err = run(*args)
        assert code in (2, 3) and "Traceback" not in err
