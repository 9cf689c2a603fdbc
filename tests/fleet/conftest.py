"""Fixtures for the fleet overview tests: real scan reports (mtk verify of the sample facts) that
tests copy and change, profiles with Normen properties in a temporary profiles folder."""

from __future__ import annotations

import copy
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # fleet_helpers

from fleet_helpers import PROFILES, SAMPLE_FACTS


@pytest.fixture(scope="session")
def sample_report(tmp_path_factory) -> dict[str, Any]:
    """The JSON report of `mtk verify` on the sample facts (host wm1-sono-01, WM1, sonora-review-4)."""
    from mt_eklient.cli import main

    out = tmp_path_factory.mktemp("sample") / "report.json"
    code = main(["verify", str(SAMPLE_FACTS), "--profile", str(PROFILES / "sonora-review-4.yml"), "--site", "region-vastland",
                 "--class", "WM1",
                 "--host", "wm1-sono-01", "--json", str(out), "--no-history", "--today", "2026-11-25"])
    assert code in (0, 1)
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.fixture
def report(sample_report) -> dict[str, Any]:
    return copy.deepcopy(sample_report)


@pytest.fixture
def profiles_dir(tmp_path: Path) -> Path:
    """A copy of the example profiles that tests may add Normen properties to."""
    target = tmp_path / "profiles"
    shutil.copytree(PROFILES, target)
    return target

