"""The lab over real WinRM: one set of endpoints per test module (`mtk lab up` starts them, teardown
runs `mtk lab down`)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # winrm_helpers

from winrm_helpers import WinRMLab, running


@pytest.fixture(scope="module")
def winrm_lab(tmp_path_factory) -> Iterator[WinRMLab]:
    with running(WinRMLab(tmp_path_factory.mktemp("winrm-lab"))) as lab:
        yield lab
