"""Fixtures for the fleet scan tests: the `mtk` CLI in a subprocess, a fake win_powershell
(fake_collections/) for the error paths, and helpers to read reports."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # scan_helpers

from scan_helpers import FAKE_COLLECTIONS, SAMPLE_FACTS


@pytest.fixture
def fake_env(tmp_path: Path) -> dict[str, str]:
    """Environment for `mtk scan` against the fake win_powershell; journal under tmp_path/journal."""
    journal = tmp_path / "journal"
    journal.mkdir()
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": str(FAKE_COLLECTIONS),
        "FAKE_FACTS": str(SAMPLE_FACTS),
        "FAKE_JOURNAL": str(journal),
        "MTK_HISTORY": str(tmp_path / "history.sqlite"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
    })
    env.pop("ANSIBLE_CONFIG", None)
    return env
