from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lab_session import LabSession
from standalone_profiles import standalone_profile

REPO = Path(__file__).resolve().parents[1]
PROFILES = REPO / "profiles"


# The modules that take longest (CPU and waiting: the sum of their `pytest --durations`), longest first.
# Measured 2026-12-04 (make test, three workers).
SLOWEST = ("tests/awx/test_runner.py", "tests/build/test_maintenance_window.py", "tests/build/test_lab_build.py",
           "tests/scan/test_scan_lab.py", "tests/build/test_build_verified.py", "tests/winrm/test_winrm_faults.py",
           "tests/build/test_plan.py", "tests/fleet/test_fleet_lab.py", "tests/scan/test_scan_errors.py",
           "tests/scan/test_scan_units.py", "tests/winrm/test_winrm_end_to_end.py", "tests/scan/test_scan_testinfra.py")


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: pytest without it runs too (-p no:xdist)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: one worker more than there are cores. About a minute of each run is waiting, not
    computing (the lab's reboots in tests/build, a task timeout and a modelled latency in tests/winrm
    and tests/scan): the extra worker computes meanwhile."""
    return len(os.sched_getaffinity(0)) + 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the modules for `make test` (pytest-xdist hands out whole modules in this order: --dist
    loadscope --no-loadscope-reorder): the slowest module on the session's lab first, so that its worker
    builds the lab while the other workers run the modules that need no lab instead of waiting for the
    build; then the other lab modules, slowest first, so that no long module starts last."""
    def module(item: pytest.Item) -> str:
        return item.nodeid.split("::", 1)[0]

    on_lab = {module(i) for i in items if "lab_session" in getattr(i, "fixturenames", ())}
    rank = {name: n for n, name in enumerate(SLOWEST)}
    first = min(on_lab, key=lambda m: rank.get(m, len(rank)), default=None)

    def key(item: pytest.Item) -> tuple[int, int]:
        name = module(item)
        group = 0 if name == first else 2 if name in on_lab else 1
        return group, rank.get(name, len(rank))

    items.sort(key=key)  # stable: the tests of a module keep their order


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


# The lab over real WinRM, up and built once per test session (tests/lab_session.py): building
# takes most of the time of tests/build, tests/scan, tests/fleet and tests/winrm.
@pytest.fixture(scope="session")
def lab_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabSession]:
    lab = LabSession(tmp_path_factory.mktemp("winrm-lab"))
    lab.up()
    # Under pytest-xdist each worker has its own session: the run-wide temp dir lets one build serve all.
    shared = tmp_path_factory.getbasetemp().parent if os.environ.get("PYTEST_XDIST_WORKER") else None
    try:
        lab.build_all(shared)
        yield lab
    finally:
        lab.down()


@pytest.fixture(scope="module")
def built_lab(lab_session: LabSession) -> LabSession:
    """The session's lab as built (restored for each test module that asks for it)."""
    lab_session.restore()
    return lab_session


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
