from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PROFILES = REPO / "profiles"


@pytest.fixture
def sonora() -> dict[str, Any]:
    """A valid WM1 profile as plain data, for tests that mutate it."""
    return copy.deepcopy(yaml.safe_load((PROFILES / "sonora-review-4.yml").read_text()))


@pytest.fixture
def write_profile(tmp_path: Path):
    def write(data: Any, name: str = "profile.yml") -> Path:
        path = tmp_path / name
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
        return path
    return write


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
