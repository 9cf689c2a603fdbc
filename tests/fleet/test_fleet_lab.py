"""The fleet overview of a synthetic history made through the simulated lab over real WinRM
(docs/lab.md; the session's lab, tests/lab_session.py):

the four WM clients as built -> scan (clean) -> drift: AppLocker removed on the anaesthesia kiosk
(whose manufacturer forbids antivirus) and Defender real-time off on the ultrasound station ->
scan -> the ultrasound station back as built (the state a rebuild gives it; tests/scan and tests/winrm
rebuild after a drift), the lab PC becomes unreachable -> scan. Then
`mtk report fleet` from the history and from the JSON reports: the drifted/unprotected hosts rank
above their clean peers with the right reasons, the life-cycle table matches the edition table,
trends see the regression and its fix, and the HTML renders in headless Chromium with its charts.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from browser_helpers import screenshot
from lab_session import BUILT, LabSession
from mt_eklient import lifecycle
from mt_eklient.fleet.charts import OVERALL, WINDOW_COLOURS
from mt_eklient.fleet.state import add_months


class Lab:
    """The session's lab over WinRM (tests/lab_session.py) with this module's history and reports."""

    def __init__(self, session: LabSession, root: Path):
        self.session = session
        self.root = root
        self.history = root / "history.sqlite"
        self.scans: list[Path] = []

    def run(self, *args: str, expect: int | None = 0) -> subprocess.CompletedProcess[str]:
        return self.session.run(*args, expect=expect, cwd=self.root)

    def scan(self, name: str, expect: int) -> Path:
        out = self.root / f"{name}.json"
        self.run("lab", "scan", "--limit", ",".join(BUILT), "--forks", "4", "--quiet", "--history",
                 str(self.history), "--json", str(out), expect=expect)
        return out

    def fleet(self, *args: str) -> tuple[dict, subprocess.CompletedProcess[str]]:
        out = self.root / f"fleet-{len(list(self.root.glob('fleet-*.json')))}.json"
        result = self.run("report", "fleet", *args, "--json", str(out))
        return json.loads(out.read_text(encoding="utf-8")), result


@pytest.fixture(scope="module")
def lab(built_lab: LabSession, tmp_path_factory) -> Iterator[Lab]:
    lab = Lab(built_lab, tmp_path_factory.mktemp("fleet-lab"))
    with built_lab.preserved():
        lab.scans = [lab.scan("clean", 0)]
        lab.run("lab", "drift", "wm2-anest-01", "applocker-removed")
        lab.run("lab", "drift", "wm1-sono-01", "defender-realtime-off")
        lab.scans.append(lab.scan("drifted", 1))
        built_lab.restore_host("wm1-sono-01")
        lab.run("lab", "drift", "wm0-lab-01", "unreachable")
        lab.scans.append(lab.scan("rebuilt", 3))
        yield lab


def hosts(report: dict) -> dict[str, dict]:
    return {h["host"]: h for h in report["hosts"]}


def texts(host: dict) -> str:
    return " | ".join(r["text"] for r in host["reasons"])


def test_drifted_and_unprotected_hosts_rank_above_clean_peers(lab):
    report, result = lab.fleet("--scan", str(lab.scans[0]), "--scan", str(lab.scans[1]))
    ranked = hosts(report)
    for drifted in ("wm2-anest-01", "wm1-sono-01"):
        for clean in ("wm0-lab-01", "wm0-pacs-01"):
            assert ranked[drifted]["rank"] < ranked[clean]["rank"], (drifted, clean, texts(ranked[drifted]))
    kiosk = ranked["wm2-anest-01"]
    assert re.search(r"WL-EXE-MODE fail \(\w+\): .*; a compensating control for the forbidden antivirus", texts(kiosk))
    assert kiosk["top_measure"]["key"].startswith("WL-"), kiosk["top_measure"]
    assert "AV-REALTIME fail" in texts(ranked["wm1-sono-01"])
    assert not [r for r in ranked["wm0-pacs-01"]["reasons"] if r["kind"] == "failed_control"]
    assert "wm2-anest-01" in result.stdout.splitlines()[3], result.stdout  # the summary's first row
    since = {(r["host"], r["control"]) for r in report["trends"]["regressions"]["since_previous"]}
    assert ("wm2-anest-01", "WL-EXE-MODE") in since and ("wm1-sono-01", "AV-REALTIME") in since
    assert {h for h, _ in since} == {"wm2-anest-01", "wm1-sono-01"}


def test_history_shows_the_fix_the_open_regression_and_the_unreachable_host(lab):
    report, _ = lab.fleet("--history", str(lab.history))
    assert len(report["scans"]) == 3
    ranked = hosts(report)
    assert ranked["wm2-anest-01"]["rank"] == 1
    down = ranked["wm0-lab-01"]
    assert down["status"] == "unreachable"
    assert any(r["kind"] == "unreachable" and f"since {date.today().isoformat()}" in r["text"]
               for r in down["reasons"]), texts(down)
    assert down["rank"] < ranked["wm0-pacs-01"]["rank"]
    assert not [r for r in ranked["wm1-sono-01"]["reasons"] if r["kind"] == "failed_control"]  # rebuilt
    regressions = report["trends"]["regressions"]
    assert regressions["fixed"] >= 1 and regressions["mean_hours_to_fix"] is not None
    assert {r["host"] for r in regressions["open"]} == {"wm2-anest-01"}
    rates = [p["by_profile"].get("sonora-review-4") for p in report["trends"]["points"]]
    assert rates[0] == rates[2] == 100.0 and rates[1] < 100.0
    measure = next(m for m in report["measures"] if m["hosts"] == ["wm2-anest-01"])
    assert measure["profile"] == "anaesthesia-kiosk-3" and measure["key"].startswith("WL-")


def test_lifecycle_table_matches_the_edition_table(lab):
    report, _ = lab.fleet("--history", str(lab.history))
    life = report["lifecycle"]
    as_of = date.fromisoformat(report["as_of"])
    table = lifecycle.editions()
    assert [e["edition"] for e in life["editions"]] == list(table)
    on_host = {}
    for name in BUILT:
        facts = json.loads(lab.run("lab", "facts", name).stdout)
        on_host[name] = lifecycle.identify(facts["os"]["edition_id"], facts["os"]["current_build"]).id
    for entry in life["editions"]:
        edition = table[entry["edition"]]
        count = sum(1 for e in on_host.values() if e == edition.id)
        assert entry["end_of_support"] == edition.end_of_support.isoformat()
        assert entry["ga"] == edition.ga.isoformat() and entry["hosts"] == count
        assert entry["ended"] == (count if edition.end_of_support < as_of else 0)
        for months in (6, 12, 24):
            inside = as_of <= edition.end_of_support <= add_months(as_of, months)
            assert entry[f"within_{months}_months"] == (count if inside else 0), (entry, months)
    for row in life["rows"]:
        assert all(on_host[h] == row["edition"] for h in row["hosts"])
        assert row["end_of_support"] == table[row["edition"]].end_of_support.isoformat()
    ends = [p["supported_until"] for p in life["profiles"]]
    assert ends == sorted(ends)
    for entry in life["profiles"]:
        profile_editions = entry["editions"]
        assert entry["supported_until"] == max(table[e].end_of_support for e in profile_editions).isoformat()


def _colour_pixels(png: Path, colour: str, tolerance: int = 8) -> int:
    from PIL import Image

    target = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    image = Image.open(png).convert("RGB")
    return sum(n for n, rgb in image.getcolors(image.width * image.height)
               if all(abs(a - b) <= tolerance for a, b in zip(rgb, target)))


def test_html_is_self_contained_and_renders_its_charts_in_chromium(lab):
    html = lab.root / "fleet.html"
    out_csv = lab.root / "fleet.csv"
    lab.fleet("--history", str(lab.history), "--html", str(html), "--csv", str(out_csv))
    text = html.read_text(encoding="utf-8")
    assert text.count("<svg") == 3
    for forbidden in ("<script", "<link", "<img", "@import", "src=", "url(http", "<iframe"):
        assert forbidden not in text.lower(), forbidden
    assert set(re.findall(r'(\w[\w:]*)="https?://', text)) <= {"xmlns", "xmlns:xlink"}
    assert "wm2-anest-01" in text and "WL-EXE-MODE" in text

    shot = lab.root / "fleet.png"
    screenshot(html, shot)
    bare = lab.root / "bare.html"  # the same page without its charts: the colours must come from the charts
    bare.write_text(re.sub(r"<svg.*?</svg>", "", text, flags=re.DOTALL), encoding="utf-8")
    bare_shot = lab.root / "bare.png"
    screenshot(bare, bare_shot)
    checks = {"trend (fleet line)": OVERALL, "life cycle (supported later)": WINDOW_COLOURS["later"],
              "life cycle (support ended)": WINDOW_COLOURS["ended"], "heat map (all pass)": "#006837"}
    for chart, colour in checks.items():
        with_charts, without = _colour_pixels(shot, colour), _colour_pixels(bare_shot, colour)
        assert with_charts > 1500 and without < 400, (chart, colour, with_charts, without)

    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert next(r["host"] for r in rows) == "wm2-anest-01" and len(rows) == len(BUILT)
