from __future__ import annotations

import json
from pathlib import Path

from mt_eklient.catalog import load_catalog
from mt_eklient.cli import main
from mt_eklient.commands.catalog import DEFAULT_DOCS, render_docs

REPO = Path(__file__).resolve().parents[1]
SITE = "region-vastland"  # sites/region-vastland.yml: the repository profiles leave their site facts to it


def test_list_filters_by_class(capsys):
    assert main(["catalog", "list", "--class", "M1", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed, "the catalog has controls for M computers (lifecycle, class evidence)"
    assert all("M" in c["applies_to"]["types"] and 1 in c["applies_to"]["groups"] for c in listed)
    all_ids = {c.id for c in load_catalog().controls}
    assert {c["id"] for c in listed} < all_ids


def test_list_rejects_unknown_class_and_area(capsys):
    assert main(["catalog", "list", "--class", "WX1"]) == 2
    assert main(["catalog", "list", "--area", "coffee"]) == 2
    err = capsys.readouterr().err
    assert "--class: invalid class 'WX1'" in err
    assert "--area: unknown area 'coffee'" in err


def test_controls_doc_is_generated_and_current(tmp_path):
    text = render_docs(load_catalog())
    for control in load_catalog().controls:
        assert f"### {control.id}" in text
    out = tmp_path / "controls.md"
    assert main(["catalog", "docs", "--output", str(out)]) == 0
    assert out.read_text() == text
    assert main(["catalog", "docs", "--output", str(out), "--check"]) == 0
    out.write_text("stale")
    assert main(["catalog", "docs", "--output", str(out), "--check"]) == 1
    assert DEFAULT_DOCS.read_text() == text, "docs/controls.md is stale: run `mtk catalog docs`"


def test_profile_show_json_and_schema(capsys):
    assert main(["profile", "show", str(REPO / "profiles" / "standard-client.yml"), "--site", SITE, "--json"]) == 0
    baseline = json.loads(capsys.readouterr().out)
    assert baseline["profile_class"] == "W0"
    assert main(["profile", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "classification" in schema["properties"]
    assert "classification" in schema["required"]


def test_profile_show_with_host_vars(tmp_path, capsys):
    hv = tmp_path / "hv.yml"
    hv.write_text("mt_zones:\n  management: [192.168.9.0/24]\n")
    assert main(["profile", "show", str(REPO / "profiles" / "sonora-review-4.yml"), "--host-vars", str(hv),
                 "--site", SITE, "--json"]) == 0
    text = capsys.readouterr().out
    assert "192.168.9.0/24" in text and "10.20.0.0/24" not in text
    hv.write_text("mt_class: WX1\n")
    assert main(["profile", "show", str(REPO / "profiles" / "sonora-review-4.yml"), "--host-vars", str(hv),
                 "--site", SITE]) == 2


def test_published_profile_schema_is_current_and_accepts_examples(capsys):
    import jsonschema
    import yaml
    from mt_eklient.profile import profile_json_schema

    published = json.loads((REPO / "docs" / "profile.schema.json").read_text())
    assert published == profile_json_schema(), "run: mtk profile schema > docs/profile.schema.json"
    validator = jsonschema.Draft202012Validator(published)
    for path in (REPO / "profiles").glob("*.yml"):
        data = json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))
        assert not list(validator.iter_errors(data)), path
    bad = json.loads(json.dumps(yaml.safe_load((REPO / "profiles" / "sonora-review-4.yml").read_text()), default=str))
    bad["classification"]["group"] = 7
    assert list(validator.iter_errors(bad))


def test_output_into_a_closed_pipe_ends_quietly():
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "mt_eklient.cli", "catalog", "list", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in stderr


def test_profile_show_text_prints_every_rule_in_full(capsys):
    path = REPO / "profiles" / "radiant-dicom-viewer-7.yml"
    assert main(["profile", "show", str(path), "--site", SITE, "--json"]) == 0
    baseline = {c["id"]: c for c in json.loads(capsys.readouterr().out)["controls"]}
    assert main(["profile", "show", str(path), "--site", SITE]) == 0
    text = capsys.readouterr().out
    assert "..." not in text
    for control in ("FW-RULES", "WL-EXE-RULES"):
        expected = baseline[control]["expected"]
        assert len(expected) > 1
        for rule in expected:  # each rule on a line of its own, whole
            flat = rule if isinstance(rule, str) else rule["display_name"]
            assert any(flat in line for line in text.splitlines()), (control, flat)
