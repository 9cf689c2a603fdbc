"""Fixtures for the simulated-lab tests: every test gets its own MTK_LAB_DIR."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # lab_helpers


@pytest.fixture(autouse=True)
def lab_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "labstate"
    monkeypatch.setenv("MTK_LAB_DIR", str(directory))
    monkeypatch.delenv("MTK_LAB_LATENCY", raising=False)
    monkeypatch.delenv("MTK_LAB_INVENTORY", raising=False)
    monkeypatch.setenv("MTK_LAB_TRANSPORT", "inprocess")  # unit tests: no WinRM endpoints (tests/winrm has those)
    return directory
