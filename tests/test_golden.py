"""Golden resolved baselines of the example profiles: any change to the catalog, a profile or the
resolver that alters what a host must have shows up here as a reviewable diff.

Regenerate after an intended change: `UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden.py`.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest
import yaml
from mt_eklient.hosts import resolve_host

REPO = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden"
PROFILES = sorted(p.stem for p in (REPO / "profiles").glob("*.yml"))
AS_OF = date(2026, 11, 25)


def resolved(profile_id: str) -> dict:
    label = yaml.safe_load((REPO / "profiles" / f"{profile_id}.yml").read_text())["classification"]
    hostvars = {"mt_class": f"{label['type']}{label['group']}", "mt_profile": profile_id, "mt_site": "region-vastland"}
    _, baseline = resolve_host(f"golden-{profile_id}", hostvars, AS_OF)
    data = baseline.to_dict()
    data["profile"]["source"] = os.path.relpath(data["profile"]["source"], REPO)
    data["site"]["source"] = os.path.relpath(data["site"]["source"], REPO)
    return json.loads(json.dumps(data, default=str))


@pytest.mark.parametrize("profile_id", PROFILES)
def test_resolved_baseline_matches_golden(profile_id):
    path = GOLDEN / f"{profile_id}.json"
    actual = resolved(profile_id)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n")
    assert path.exists(), f"no golden file for {profile_id}: run UPDATE_GOLDEN=1 pytest {__file__}"
    assert actual == json.loads(path.read_text())


def test_every_example_profile_has_a_golden_file():
    assert sorted(p.stem for p in GOLDEN.glob("*.json")) == PROFILES
