from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from mt_eklient.catalog import Catalog, load_catalog_dir
from mt_eklient.hosts import host_context, resolve_host

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FIXTURES = HERE / "fixtures"
TODAY = date(2026, 11, 25)


@pytest.fixture(scope="session")
def fixture_catalog() -> Catalog:
    """A small catalog that uses every buildable method (independent of the shipped catalog's state)."""
    return load_catalog_dir(FIXTURES / "catalog")


@pytest.fixture
def plan_for(fixture_catalog: Catalog):
    """build_plan for a fixture profile: plan_for('fixture-wm1', mt_class='WM1', **hostvars)."""
    from mt_eklient.buildplan import build_plan

    def make(profile_id: str, mt_class: str = "WM1", catalog: Catalog | None = None,
             profiles_dir: Path | None = None, **extra: Any) -> dict[str, Any]:
        hostvars = {"mt_class": mt_class, "mt_profile": profile_id, **extra}
        loaded, baseline = resolve_host("host1", hostvars, TODAY, profiles_dir=profiles_dir or FIXTURES / "profiles",
                                        catalog=catalog or fixture_catalog)
        return build_plan(baseline, loaded, host_context("host1", hostvars))
    return make
