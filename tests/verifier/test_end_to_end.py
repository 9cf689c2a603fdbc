"""End to end with the real catalog: the collector engineer's sample facts document through
`mtk verify`, and the simulated lab's facts through run_evaluation. These catch contract drift
between the collector / lab output and the evaluator's extractors."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import yaml
from mt_eklient import cli
from mt_eklient.catalog import load_catalog
from mt_eklient.reports.json_report import validate_report

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "tests" / "data" / "facts" / "wm1-sample.json"
TODAY = date(2026, 11, 25)
# Messages that mean the evaluator does not understand what the collector wrote.
CONTRACT_BREAKS = ("unexpected facts shape", "the evaluator knows no", "no extractor", "unreadable (")


def _real_profile(sonora, tmp_path) -> Path:
    """The repository's sonora profile, minus waivers of controls the catalog does not have (yet)."""
    data = copy.deepcopy(sonora)
    ids = load_catalog().ids()
    data["waivers"] = [w for w in data.get("waivers", []) if w["control"] in ids]
    path = tmp_path / "sonora-review-4.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _contract_breaks(report):
    return [(h["host"], c["id"], c["message"]) for h in report["hosts"] for c in h["controls"]
            if c["message"] and any(text in c["message"] for text in CONTRACT_BREAKS)]


def test_sample_facts_through_mtk_verify(sonora, tmp_path, capsys):
    out = tmp_path / "reports"
    code = cli.main(["verify", str(SAMPLE), "--profile", str(_real_profile(sonora, tmp_path)), "--class", "WM1",
                     "--today", TODAY.isoformat(), "--no-history", "--json", str(out / "r.json"),
                     "--junit", str(out / "r.xml"), "--html", str(out / "r.html")])
    console = capsys.readouterr().out
    assert code in (0, 1), console
    report = json.loads((out / "r.json").read_text())
    assert validate_report(report) == []
    [host] = report["hosts"]
    assert host["status"] == "ok"
    assert {c["id"] for c in host["controls"]} >= load_catalog().ids()
    assert _contract_breaks(report) == []
    ET.parse(out / "r.xml")
    HTMLParser().feed((out / "r.html").read_text())


def _lab_inputs():
    from mt_eklient.collection import collection_request
    from mt_eklient.hosts import resolve_host
    from mt_eklient.lab import inventory as lab_inventory
    from mt_eklient.lab.facts import facts_from_state
    from mt_eklient.lab.fresh import HostSpec, fresh_state
    from mt_eklient.scanresult import HostInput

    inputs = []
    for name, hostvars in lab_inventory.lab_hosts(None).items():
        loaded, baseline = resolve_host(name, hostvars, TODAY)  # every lab host resolves (site included)
        apps = [a.model_dump(mode="json") for a in loaded.profile.applications]
        facts = facts_from_state(fresh_state(HostSpec.from_hostvars(name, hostvars)),
                                 collection_request(baseline, apps))
        inputs.append(HostInput(name, baseline=baseline, facts=facts, applications=apps))
    return inputs


def test_lab_fleet_facts_evaluate_cleanly():
    from mt_eklient.scanresult import run_evaluation

    scan = run_evaluation(_lab_inputs(), today=TODAY, source={"kind": "lab"}, command="lab")
    report = scan.to_report()
    assert validate_report(report) == []
    assert _contract_breaks(report) == []
    not_collected = [(h["host"], c["id"]) for h in report["hosts"] for c in h["controls"]
                     if c["message"] and "is not in the facts document" in c["message"]]
    assert not_collected == []
    hosts = {h["host"]: h for h in report["hosts"]}
    assert set(hosts) >= {"wm1-sono-01", "m1-ct-01", "wm1-mismatch-01"}
    assert {h["status"] for h in hosts.values()} == {"ok"}
    mismatch = hosts["wm1-mismatch-01"]
    assert any(c["area"] == "classification" and c["status"] == "fail" for c in mismatch["controls"])
