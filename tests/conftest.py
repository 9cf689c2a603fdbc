from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from standalone_profiles import standalone_profile

REPO = Path(__file__).resolve().parents[1]
PROFILES = REPO / "profiles"


@pytest.fixture
def sonora() -> dict[str, Any]:
    """A valid WM1 profile as plain data, for tests that mutate it (the lab site's values folded in)."""
    return standalone_profile("sonora-review-4")


@pytest.fixture
def write_profile(tmp_path: Path):
    def write(data: Any, name: str | None = None) -> Path:
        # Named after its id by default, as `mtk profile validate` requires.
        named = isinstance(data, dict) and re.fullmatch(r"[a-z0-9-]{1,63}", str(data.get("id")))
        default = f"{data['id']}.yml" if named else "profile.yml"
        path = tmp_path / (name or default)
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
        return path
    return write


# The WM clients of the lab inventory, built once per test session (tests/build and tests/scan both
# need them; building takes most of their time). Tests copy the state, never change this one.
LAB_WM_HOSTS = ("wm0-lab-01", "wm0-pacs-01", "wm1-sono-01", "wm2-anest-01")


class BuiltLab:
    """The lab state right after `mtk lab up` and one build of LAB_WM_HOSTS."""

    def __init__(self, state: Path, first_run: subprocess.CompletedProcess[str], calls: dict[str, int]):
        self.state = state
        self.hosts = LAB_WM_HOSTS
        self.first_run = first_run  # the build's ansible-playbook output
        self.calls = calls  # module calls per host during the build (lab journal)

    def copy_to(self, directory: Path) -> Path:
        """A private copy of the built state (an MTK_LAB_DIR) at `directory`."""
        shutil.copytree(self.state, directory)
        return directory


@pytest.fixture(scope="session")
def built_lab(tmp_path_factory: pytest.TempPathFactory) -> BuiltLab:
    state = tmp_path_factory.mktemp("built-lab") / "state"
    # In-process, as tests/build and tests/scan run it (over WinRM: tests/winrm); the copies inherit it.
    env = {**os.environ, "MTK_LAB_DIR": str(state), "MTK_LAB_LATENCY": "0", "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_FORCE_COLOR": "0", "MTK_LAB_TRANSPORT": "inprocess"}
    env.pop("MTK_LAB_INVENTORY", None)
    beside = Path(sys.executable).parent / "mtk"
    mtk = [str(beside)] if beside.is_file() else [sys.executable, "-m", "mt_eklient.cli"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([*mtk, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
                                check=False)
        assert result.returncode == 0, f"mtk {' '.join(args)}: exit {result.returncode}\n" \
                                       f"{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
        return result

    run("lab", "up")
    # One batch: the playbook's default 25% batches would build one host at a time.
    first = run("lab", "ansible-playbook", "playbooks/build_wm.yml", "--limit", ",".join(LAB_WM_HOSTS),
                "-e", "mtk_build_batch=100%")
    calls = {}
    for host in LAB_WM_HOSTS:
        journal = state / f"{host}.journal.jsonl"
        calls[host] = sum(1 for line in journal.read_text(encoding="utf-8").splitlines() if line.strip())
    return BuiltLab(state, first, calls)
@pytest.fixture(scope="session")
def postgres_cluster():
    """A throw-away PostgreSQL server on a Unix socket (tests/postgres_cluster.py)."""
    from postgres_cluster import Cluster

    cluster = Cluster()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def history_location(request, tmp_path: Path) -> str | Path:
    """An empty history of each backend: a SQLite file, a fresh PostgreSQL database (URL)."""
    if request.param == "sqlite":
        return tmp_path / "history.sqlite"
    return request.getfixturevalue("postgres_cluster").new_database()
