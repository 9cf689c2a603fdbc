"""The oracles judge the project by Microsoft's references in ../shared/data/windows-reference (next to
the project root; CI has it). They are never copied into the project, and a missing reference fails
the run rather than skipping the oracle."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO.parent / "shared" / "data" / "windows-reference"


def reference_file(name: str) -> Path:
    path = REFERENCE / name
    if not path.is_file():
        pytest.fail(f"Microsoft reference {path} is missing: the oracles need ../shared next to the project")
    return path
