"""The user cache of parsed catalog, floor and profiles (datacache.py), and `plain` (plaindata.py)."""

from __future__ import annotations

import os
import pickle
import stat
from pathlib import Path

import pytest
from mt_eklient import datacache
from mt_eklient.catalog import Catalog, load_catalog_dir
from mt_eklient.errors import InputError
from mt_eklient.plaindata import plain
from mt_eklient.profile import _Model, load_profile
from pydantic import BaseModel

REPO = Path(__file__).resolve().parents[1]
CATALOG_DIR = REPO / "verifier" / "mt_eklient" / "catalog"
PROFILES = sorted((REPO / "profiles").glob("*.yml")) + sorted((REPO / "tests" / "build" / "fixtures" / "profiles").glob("*.yml"))
CATALOG_CLASSES = datacache.classes_of("mt_eklient.catalog", "Catalog", "Control", "AppliesTo", "Condition",
                                       "Expected", "References")


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv(datacache.CACHE_ENV, str(directory))
    return directory


def _models(value):
    if isinstance(value, BaseModel):
        yield value
        for name in type(value).model_fields:
            yield from _models(getattr(value, name))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _models(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _models(item)


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_plain_is_model_dump_for_every_profile_model(path, cache):
    profile = load_profile(path).profile
    models = list(_models(profile))
    assert len(models) > 10
    for model in models:
        assert plain(model) == model.model_dump(mode="json"), type(model).__name__
        assert plain(model, exclude_none=True) == model.model_dump(mode="json", exclude_none=True)
        assert plain(model, exclude_unset=True) == model.model_dump(mode="json", exclude_unset=True)


def test_plain_is_model_dump_for_every_catalog_control():
    for control in load_catalog_dir(CATALOG_DIR).controls:
        assert plain(control) == control.model_dump(mode="json"), control.id
        assert plain(control.references, exclude_defaults=True) == control.references.model_dump(exclude_defaults=True)


def _catalog(cache: Path, calls: list[int]) -> Catalog:
    def build() -> Catalog:
        calls.append(1)
        return load_catalog_dir(CATALOG_DIR)
    return datacache.cached("catalog", sorted(CATALOG_DIR.glob("*.yml")), build, CATALOG_CLASSES, Catalog)


def test_second_load_comes_from_the_cache_and_equals_the_parsed_one(cache):
    calls: list[int] = []
    first = _catalog(cache, calls)
    second = _catalog(cache, calls)
    assert calls == [1]
    assert second == first and second is not first
    [entry] = cache.glob("catalog-*.pickle")
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700


def test_a_profile_from_the_cache_equals_the_parsed_one(cache, tmp_path):
    path = tmp_path / "p.yml"
    path.write_bytes(PROFILES[0].read_bytes())
    first, second = load_profile(path), load_profile(path)
    assert len(list(cache.glob("profile-*.pickle"))) == 1
    assert second.profile == first.profile and second.document == first.document
    assert second.sha256 == first.sha256 and second.fill_ins == first.fill_ins


def test_a_changed_input_is_parsed_again(cache, tmp_path):
    path = tmp_path / "p.yml"
    path.write_bytes(PROFILES[0].read_bytes())
    load_profile(path)
    path.write_text(path.read_text(encoding="utf-8").replace("profile_version: ", "profile_version: 1"), encoding="utf-8")
    reloaded = load_profile(path)
    assert reloaded.profile.profile_version >= 10
    assert len(list(cache.glob("profile-*.pickle"))) == 2


def test_an_invalid_profile_is_not_cached_and_fails_every_time(cache, tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text(PROFILES[0].read_text(encoding="utf-8") + "unknown_key: 1\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(InputError, match="unknown_key"):
            load_profile(path)
    assert not list(cache.glob("profile-*.pickle"))


class _Boom:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_forged_cache_file_runs_no_code_and_is_a_miss(cache, tmp_path):
    calls: list[int] = []
    _catalog(cache, calls)
    [entry] = cache.glob("catalog-*.pickle")
    key = entry.name.removesuffix(".pickle")
    marker = tmp_path / "pwned"
    entry.write_bytes(pickle.dumps((key, _Boom(marker))))
    os.chmod(entry, 0o600)
    again = _catalog(cache, calls)
    assert not marker.exists()
    assert calls == [1, 1] and isinstance(again, Catalog)


def test_a_cache_file_others_may_write_is_ignored(cache):
    calls: list[int] = []
    _catalog(cache, calls)
    [entry] = cache.glob("catalog-*.pickle")
    os.chmod(entry, 0o666)
    _catalog(cache, calls)
    assert calls == [1, 1]


def test_an_empty_cache_setting_disables_the_cache(monkeypatch):
    monkeypatch.setenv(datacache.CACHE_ENV, "")
    assert datacache.cache_dir() is None
    calls: list[int] = []
    _catalog(Path("/nonexistent"), calls)
    _catalog(Path("/nonexistent"), calls)
    assert calls == [1, 1]


def test_every_profile_model_may_be_unpickled():
    import mt_eklient.profile as profile_module

    models = {name for name, obj in vars(profile_module).items()
              if isinstance(obj, type) and issubclass(obj, _Model) and obj is not _Model}
    assert {name for module, name in profile_module.CACHED_CLASSES if module == "mt_eklient.profile"} >= models


@pytest.mark.parametrize("module", ["resolve.py", "commands/verify.py", "catalog/firewall.yml", "data/ltsc.yml"])
def test_the_code_stamp_changes_with_the_code_that_computes_cached_data(tmp_path, monkeypatch, module):
    for sub in datacache._CODE_DIRS:
        (tmp_path / sub).mkdir(exist_ok=True)
    (tmp_path / module).parent.mkdir(exist_ok=True)
    (tmp_path / module).write_text("one\n", encoding="utf-8")
    monkeypatch.setattr(datacache, "_PACKAGE", tmp_path)
    before = datacache._code_stamp.__wrapped__()
    (tmp_path / module).write_text("one, edited\n", encoding="utf-8")
    assert datacache._code_stamp.__wrapped__() != before
