from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mt_eklient.evaluate import HostResult, evaluate
from mt_eklient.profile import LoadedProfile
from mt_eklient.resolve import Baseline
from verifier_helpers import TODAY, applications, good_facts, make_baseline, profile_data, write_yaml


@dataclass
class Host:
    profile_path: Path
    loaded: LoadedProfile
    baseline: Baseline
    facts: dict[str, Any]

    def evaluate(self, facts: dict[str, Any] | None = None, today=TODAY, **kwargs) -> HostResult:
        return evaluate(self.baseline, self.facts if facts is None else facts, today, applications(self.loaded),
                        **kwargs)

    def result(self, control_id: str, **kwargs):
        return next(c for c in self.evaluate(**kwargs).controls if c.id == control_id)


@pytest.fixture
def wm1_profile(sonora, tmp_path) -> Path:
    return write_yaml(tmp_path / "sonora-test.yml", profile_data(sonora))


@pytest.fixture
def wm1(wm1_profile) -> Host:
    loaded, baseline = make_baseline(wm1_profile)
    return Host(wm1_profile, loaded, baseline, good_facts(loaded))
