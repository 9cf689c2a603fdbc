"""The HTML report as hand-over evidence, checked where it is read: in headless Chromium at 1400 px
(nothing wider than the window, no SID broken across lines in the expected and actual columns) and
printed to PDF (passing controls printed, not folded away)."""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
import yaml
from browser_helpers import layout, pdf_is_landscape, print_pdf
from mt_eklient.lab.facts import facts_from_state
from mt_eklient.lab.fresh import HostSpec, fresh_state
from mt_eklient.lab.inventory import lab_hosts

REPO = Path(__file__).resolve().parents[2]
# The longest SID a domain account can have: every sub-authority and the RID at 2^32-1.
LONGEST_SID = "S-1-5-21-4294967295-4294967295-4294967295-4294967295"
SOURCE_URL = "https://sonora.example/support/security/sonorev-review-4.2-network-and-security-guide.pdf"
PROCEDURE = "Close SonoRev Review and wait for the study upload to finish before updates are installed"


@pytest.fixture(scope="module")
def scanned(tmp_path_factory) -> dict[str, Path]:
    """A fresh (unbuilt) lab ultrasound station verified against its profile: many findings, a
    waiver, SIDs at their longest; the profile names a web source and a procedure."""
    root = tmp_path_factory.mktemp("browser")
    profile = yaml.safe_load((REPO / "profiles" / "sonora-review-4.yml").read_text())
    profile["governance"]["sources"][2]["url"] = SOURCE_URL
    profile["procedures"] = [{"text": PROCEDURE, "source": "Network and Security Guide 4.2.1, 5.3"}]
    profile_path = root / "sonora-review-4.yml"
    profile_path.write_text(yaml.safe_dump(profile, sort_keys=False))
    host = "wm1-sono-01"
    facts = facts_from_state(fresh_state(HostSpec.from_hostvars(host, lab_hosts()[host])))
    facts["local_groups"]["S-1-5-32-544"]["members"].append({"sid": LONGEST_SID, "name": "REGION\\svc-longest"})
    facts_path = root / "facts.json"
    facts_path.write_text(json.dumps(facts))
    out = {"html": root / "scan.html", "json": root / "scan.json"}
    run = subprocess.run([sys.executable, "-m", "mt_eklient.cli", "verify", str(facts_path), "--profile",
                          str(profile_path), "--site", "region-vastland", "--class", "WM1", "--host", host, "--html", str(out["html"]),
                          "--json", str(out["json"]), "--no-history"], capture_output=True, text=True, check=False)
    assert run.returncode == 1, run.stderr
    return out


def test_nothing_overflows_at_1400_px_and_no_sid_breaks(scanned):
    probe = layout(scanned["html"], 1400)
    assert probe["viewport"] == 1400
    assert probe["wide"] == [] and probe["scroll_width"] <= 1400, probe["wide"][:5]
    assert probe["sids"] >= 4 and probe["broken_sids"] == []


def test_the_narrow_page_shows_what_the_probe_catches(scanned, tmp_path):
    # The probe is not blind: a window too narrow for a SID reports the overflow it causes.
    assert layout(scanned["html"], 700)["wide"]


def test_printed_report_holds_passing_controls_and_the_hand_over(scanned, tmp_path):
    report = json.loads(scanned["json"].read_text())
    [host] = report["hosts"]
    passing = [c["id"] for c in host["controls"] if c["status"] == "pass"]
    assert passing
    pdf = tmp_path / "scan.pdf"
    text = " ".join(print_pdf(scanned["html"], pdf))
    # NFKC: the PDF's text has ligatures (fi); a control id may wrap at its hyphens.
    flat = " ".join(unicodedata.normalize("NFKC", text).split()).replace("- ", "-")
    assert pdf_is_landscape(pdf)
    for control in passing:
        assert control in flat, f"passing control {control} is not in the printed report"
    for words in ("SonoRev Review 4.2", "Sonora Medical", "A. Lindqvist", "Instructions for Use", PROCEDURE):
        assert words in flat, words


# --- what the page says (no browser needed) ------------------------------------------------------


def _row(page: str, control_id: str) -> str:
    start = page.index(f'<b class="id">{control_id}</b>')
    return page[page.rindex("<tr", 0, start):page.index("</tr>", start)]


def test_raw_codes_booleans_and_the_waiver_in_words(scanned):
    page = scanned["html"].read_text()
    report = json.loads(scanned["json"].read_text())
    # The catalog says what Defender's day numbers mean; the report carries it once per control.
    assert report["controls"]["AV-SCAN-DAY"]["meanings"]["1"] == "Sunday"
    assert "meanings" not in report["controls"]["AV-SCAN-TIME"]
    assert '<code>1</code> <span class="meaning">(Sunday)</span>' in _row(page, "AV-SCAN-DAY")
    randomize = _row(page, "AV-SCAN-NO-RANDOMIZE")
    assert "<code>no</code>" in randomize and "<code>yes</code>" in randomize and "false" not in randomize
    waived = _row(page, "LOCK-INACTIVITY")
    assert waived.count("does not count cine-loop playback") == 1
    assert "owner MT engineering (A. Lindqvist), expires 2027-03-31" in waived


def test_hand_over_names_application_approver_sources_and_procedures(scanned):
    page = scanned["html"].read_text()
    handover = page[page.index('<div class="handover">'):]
    handover = handover[:handover.index("</div>")]
    approver = "MT engineering, Region Vastland (A. Lindqvist) on 2026-09-14"
    for words in ("SonoRev Review 4.2", "Sonora Medical AB, SE", approver, "ifu: SonoRev Review 4.2 Instructions for Use version F (2025-06-01)",
                  f'<a href="{SOURCE_URL}">', PROCEDURE, "(Network and Security Guide 4.2.1, 5.3)"):
        assert words in handover, words
    host = json.loads(scanned["json"].read_text())["hosts"][0]
    assert host["profile"]["sources"][2]["url"] == SOURCE_URL
    assert host["profile"]["procedures"][0]["text"] == PROCEDURE
