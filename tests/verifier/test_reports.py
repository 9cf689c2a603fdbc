"""Reports (JSON, JUnit, HTML, console) and the exit code of a scan."""

from __future__ import annotations

import copy
import io
import json
import xml.etree.ElementTree as ET
from html import escape
from html.parser import HTMLParser

import pytest
from mt_eklient.changeset import plan_host
from mt_eklient.planning import document as plan_document
from mt_eklient.reports.console import print_console, render_console
from mt_eklient.reports.html_report import render_html
from mt_eklient.reports.json_report import render_json, scrub, validate_report
from mt_eklient.reports.junit import render_junit
from mt_eklient.reports.plan_report import render_html as render_plan_html
from mt_eklient.reports.plan_report import render_text as render_plan_text
from mt_eklient.reports.plan_report import validate_plan
from mt_eklient.scanresult import HostInput, ScanResult, exit_code, run_evaluation, write_reports
from verifier_helpers import (
    TODAY,
    WINLOGON,
    applications,
    good_facts,
    make_baseline,
    profile_data,
    write_yaml,
)

CANARY = "MTK_CANARY_7f3e9a"


def inputs(wm1, *, failing=True, unreachable=True, errored=True):
    good = HostInput("wm1-good", baseline=wm1.baseline, facts=copy.deepcopy(wm1.facts),
                     applications=applications(wm1.loaded))
    out = [good]
    if failing:
        bad_facts = copy.deepcopy(wm1.facts)
        bad_facts["firewall"]["profiles"]["Public"]["default_inbound_action"] = "allow"
        bad_facts["defender"]["status"]["RealTimeProtectionEnabled"] = False
        # Something XML and HTML must escape, and a secret the reports must never show.
        bad_facts["programs"][0]["name"] = "SonoRev Review 4.2 <script>alert('x')</script> & co"
        bad_facts["registry"][WINLOGON]["DefaultPassword"] = {"type": "REG_SZ", "value": CANARY}
        bad_facts["registry"][WINLOGON]["Canary"] = {"type": "REG_SZ", "value": f"PATH={CANARY}"}
        bad_facts["errors"] = [{"section": "smb", "message": f"Get-SmbServerConfiguration failed: password={CANARY}"}]
        bad_facts["smb"] = None
        out.append(HostInput("wm1-bad", baseline=wm1.baseline, facts=bad_facts, applications=applications(wm1.loaded)))
    if unreachable:
        out.append(HostInput("wm1-down", baseline=wm1.baseline, status="unreachable",
                             error="ssl: HTTPSConnectionPool(host='wm1-down', port=5986): connect timeout"))
    if errored:
        out.append(HostInput("m1-ct-01", status="error", error="no profile 'modality-ct-vendor' in profiles/",
                             declared_class="M1"))
    return out


@pytest.fixture
def scan(wm1) -> ScanResult:
    return run_evaluation(inputs(wm1), today=TODAY, source={"kind": "test", "path": None}, command="scan")


@pytest.fixture
def report(scan):
    return scan.to_report()


# --- exit codes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("failing, unreachable, errored, code", [
    (False, False, False, 0), (True, False, False, 1), (False, True, False, 3), (False, False, True, 3),
    (True, True, True, 3),
])
def test_exit_code_precedence(wm1, failing, unreachable, errored, code):
    scan = run_evaluation(inputs(wm1, failing=failing, unreachable=unreachable, errored=errored), today=TODAY)
    assert exit_code(scan) == scan.exit_code == code


def test_waived_and_not_applicable_count_as_pass(wm1):
    scan = run_evaluation(inputs(wm1, failing=False, unreachable=False, errored=False), today=TODAY)
    assert scan.hosts[0].counts()["not_applicable"] == 1
    assert scan.exit_code == 0


def test_control_error_counts_as_not_passing(wm1):
    facts = copy.deepcopy(wm1.facts)
    facts["wdac"] = None
    facts["errors"] = [{"section": "wdac", "message": "Invalid namespace"}]
    scan = run_evaluation([HostInput("h", baseline=wm1.baseline, facts=facts, applications=applications(wm1.loaded))],
                          today=TODAY)
    assert (scan.hosts[0].status, scan.hosts[0].verdict, scan.exit_code) == ("ok", "fail", 1)


def test_no_hosts_is_a_usage_error():
    assert run_evaluation([], today=TODAY).exit_code == 2


def test_invalid_facts_make_the_host_an_error_not_the_scan(wm1):
    broken = copy.deepcopy(wm1.facts)
    del broken["collector"]
    scan = run_evaluation([HostInput("h1", baseline=wm1.baseline, facts=broken),
                           HostInput("h2", baseline=wm1.baseline, facts=copy.deepcopy(wm1.facts),
                                     applications=applications(wm1.loaded))], today=TODAY)
    first, second = scan.hosts
    assert (first.status, second.status) == ("error", "ok")
    assert first.error.startswith("invalid facts document: collector: required property is missing")
    assert scan.exit_code == 3


# --- JSON --------------------------------------------------------------------------------------------


def test_json_report_validates_against_its_schema(report):
    assert validate_report(report) == []
    assert validate_report(json.loads(render_json(report))) == []


def test_json_report_schema_rejects_garbage(report):
    broken = copy.deepcopy(report)
    broken["hosts"][0]["controls"][0]["status"] = "maybe"
    del broken["scan"]["tool_version"]
    problems = validate_report(broken)
    assert len(problems) == 2


def test_json_report_content(report, wm1):
    assert report["report_version"] == 2
    assert report["scan"]["catalog_version"] == "test-1"
    assert report["summary"]["verdicts"] == {"pass": 1, "fail": 1, "unreachable": 1, "error": 1}
    assert report["summary"]["exit_code"] == 3
    hosts = {h["host"]: h for h in report["hosts"]}
    assert hosts["wm1-down"]["status"] == "unreachable"
    assert "connect timeout" in hosts["wm1-down"]["error"]
    assert hosts["wm1-down"]["profile"]["id"] == wm1.loaded.profile.id
    assert hosts["m1-ct-01"]["declared_class"] == "M1"
    bad = {c["id"]: c for c in hosts["wm1-bad"]["controls"]}
    assert bad["T-FW-IN"]["expected"] == "block"
    assert bad["T-FW-IN"]["actual"]["Public"] == "allow"
    assert bad["T-AV"]["references"] == {"normen": "4.6"}
    assert hosts["wm1-good"]["observed_type"] == "WM"


def test_reports_never_contain_secrets_or_raw_facts(scan, tmp_path):
    paths = [tmp_path / "r.json", tmp_path / "r.xml", tmp_path / "r.html"]
    assert write_reports(scan, *paths) == scan.exit_code
    out = io.StringIO()
    print_console(scan.to_report(), out)
    texts = [p.read_text(encoding="utf-8") for p in paths] + [out.getvalue()]
    for text in texts:
        assert CANARY not in text
        assert "Microsoft Edge" not in text  # a program no control asked about: facts are not dumped


def test_scrub_masks_secret_assignments():
    assert scrub({"a": ["token: abc123", "pwd=\"x y\"", "harmless"]}) == {
        "a": ["token: <redacted>", "pwd=<redacted>", "harmless"]}


# --- JUnit ------------------------------------------------------------------------------------


def test_junit_one_testsuite_per_host(report):
    root = ET.fromstring(render_junit(report))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [h["host"] for h in report["hosts"]]
    bad = next(s for s in suites if s.get("name") == "wm1-bad")
    assert int(bad.get("failures")) >= 2
    assert int(bad.get("tests")) == len(report["hosts"][1]["controls"])
    failure = next(c for c in bad.iter("testcase") if c.get("name").startswith("T-FW-IN")).find("failure")
    assert "expected (equals): block" in failure.text
    skipped = next(c for c in bad.iter("testcase") if c.get("name").startswith("T-M-ONLY")).find("skipped")
    assert skipped.get("message") == "not required for class WM1"
    down = next(s for s in suites if s.get("name") == "wm1-down")
    error = down.find("testcase/error")
    assert error.get("type") == "unreachable" and "connect timeout" in error.get("message")
    assert int(root.get("tests")) == sum(int(s.get("tests")) for s in suites)


def test_junit_survives_control_characters(report):
    report["hosts"][1]["controls"][0]["actual"] = "bad\x00byte\x1b"
    ET.fromstring(render_junit(report))


# --- HTML -----------------------------------------------------------------------------------------


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.tables: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)
        if tag == "table":
            self.tables.append(dict(attrs).get("class") or "")

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_self_contained_and_has_the_fleet_table(report):
    page = render_html(report)
    parser = _Collector()
    parser.feed(page)
    assert "script" not in parser.tags
    assert "link" not in parser.tags and "img" not in parser.tags
    # No asset from outside; the only links out are the manufacturer's documents (governance.sources[].url).
    sources = {s["url"] for h in report["hosts"] for s in (h.get("profile") or {}).get("sources") or [] if "url" in s}
    assert sources == {"https://sonora-medical.example/support/security/sonorev-4.2-network-security-guide"}
    assert not any(name == "src" for name, _ in parser.attrs)
    assert {value for name, value in parser.attrs if name == "href" and not value.startswith("#")} == sources
    assert "fleet" in parser.tables
    text = " ".join(parser.text)
    assert "Fleet overview by class and area" in text
    for host in ("wm1-good", "wm1-bad", "wm1-down", "m1-ct-01"):
        assert host in text
    assert "connect timeout" in text and "no profile 'modality-ct-vendor'" in text


def test_html_escapes_machine_values(wm1):
    scan = run_evaluation(inputs(wm1, unreachable=False, errored=False), today=TODAY)
    report = scan.to_report()
    report["hosts"][1]["controls"][0]["actual"] = "<script>alert('x')</script>"
    report["hosts"][1]["notes"].append('"><img src=x onerror=alert(1)>')
    page = render_html(report)
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;" in page


def test_fleet_overview_groups_by_class_and_area(report):
    page = render_html(report)
    start = page.index('<table class="fleet">')
    fleet = page[start:page.index("</table>", start)]
    assert "<th>WM1</th>" in fleet and "<th>M1</th>" in fleet
    assert "<th>firewall</th>" in fleet and "<th>antivirus</th>" in fleet


# --- console ------------------------------------------------------------------------------------


def test_console_lists_every_host_and_the_findings(report):
    text = render_console(report, colour=False)
    assert "\033[" not in text
    for host in ("wm1-good", "wm1-bad", "wm1-down", "m1-ct-01"):
        assert host in text
    assert "UNREACHABLE: ssl:" in text
    assert "T-FW-IN" in text and "expected (equals): block" in text
    assert "AREA" in text and "firewall" in text
    assert text.rstrip().endswith("exit 3)")


def test_console_shows_the_worst_findings_per_host_and_points_to_the_reports(report):
    host = next(h for h in report["hosts"] if h["host"] == "wm1-bad")
    findings = [c for c in host["controls"] if c["status"] in ("fail", "error")]
    assert len(findings) >= 2
    text = render_console(report, colour=False, max_findings=1)
    assert f"... {len(findings) - 1} more finding(s): see the JSON or HTML report" in text
    worst = min(findings, key=lambda c: ["critical", "high", "medium", "low"].index(c["severity"]))
    section = text[text.index("wm1-bad:"):]
    assert worst["id"] in section.split("more finding(s)")[0]
    assert "more finding(s)" not in render_console(report, colour=False, max_findings=None)


def test_console_colour_only_on_a_terminal(report, monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    tty, pipe = Tty(), io.StringIO()
    print_console(report, tty)
    print_console(report, pipe)
    assert "\033[31m" in tty.getvalue()
    assert "\033[" not in pipe.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    tty = Tty()
    print_console(report, tty)
    assert "\033[" not in tty.getvalue()


def test_html_says_an_unread_control_could_not_be_read_not_that_it_is_unset(report):
    # wm1-bad: the collector could not read the SMB section, so its controls are errors.
    host = next(h for h in report["hosts"] if h["host"] == "wm1-bad")
    unread = [c for c in host["controls"] if c["status"] == "error"]
    assert unread and all(c["actual"] is None for c in unread)
    page = render_html(report)
    section = page[page.index('<section id="host-wm1-bad">'):]
    row = section[section.index(f'<b class="id">{unread[0]["id"]}</b>'):]
    row = row[:row.index("</tr>")]
    assert ">not read<" in page and "could not be read (see details)" in row and "not set" not in row
    assert "collector could not read smb" in row


# --- notes and procedures where the technician looks -----------------------------------------------


@pytest.fixture
def with_procedures(sonora, tmp_path):
    """The test WM1 profile with the repository profile's manufacturer procedures."""
    data = profile_data(sonora)
    data["procedures"] = copy.deepcopy(sonora["procedures"])
    loaded, baseline = make_baseline(write_yaml(tmp_path / "sonora-procedures.yml", data))
    assert loaded.profile.procedures and any(n.startswith("patching: the WSUS approval rule") for n in baseline.notes)
    return loaded, baseline


def test_console_shows_each_hosts_procedures_and_patching_notes(with_procedures):
    """A passing host too: the manufacturer's procedures and the WSUS approval rule are carried out
    by people, so the console names them per host (not only the JSON and HTML reports)."""
    loaded, baseline = with_procedures
    item = HostInput("wm1-good", baseline=baseline, facts=good_facts(loaded), applications=applications(loaded))
    report = run_evaluation([item], today=TODAY).to_report()
    assert report["hosts"][0]["verdict"] == "pass"
    procedure = loaded.profile.procedures[0]
    section = render_console(report, colour=False).split("\nwm1-good:", 1)[1]
    assert f"procedure: {procedure.text} ({procedure.source}) (not checked on the machine)" in section
    assert "note: patching: the WSUS approval rule for target group" in section


def test_plan_text_and_html_show_procedures_and_notes_per_host(with_procedures):
    loaded, baseline = with_procedures
    host = plan_host(baseline, loaded, good_facts(loaded), TODAY).to_dict()
    doc = plan_document([host], source={"inventory": [], "limit": None}, command="plan", started="2026-12-04T00:00:00")
    assert validate_plan(doc) == []
    procedure = loaded.profile.procedures[0]
    text = render_plan_text(doc)
    assert f"  procedure (not checked on the machine): {procedure.text} ({procedure.source})" in text
    assert "  note: patching: the WSUS approval rule for target group" in text
    html = render_plan_html(doc)
    assert escape(procedure.text) in html and "note: patching: the WSUS approval rule" in html
