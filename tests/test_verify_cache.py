"""`mtk verify` with a site from the parsed-data cache (datacache.py): the site, the merged
(effective) profile and the resolved baseline are cached as the catalog and profiles are, and a
warm cache never changes a verdict or an error: every edited input is a miss, a damaged or
foreign entry is ignored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from mt_eklient import datacache
from mt_eklient.catalog import Catalog, load_catalog_dir
from mt_eklient.cli import main
from mt_eklient.commands import verify as verify_command
from mt_eklient.hosts import resolve_host

REPO = Path(__file__).resolve().parents[1]
FACTS = REPO / "tests" / "data" / "facts" / "wm1-sample.json"
CATALOG_DIR = REPO / "verifier" / "mt_eklient" / "catalog"
CATALOG_CLASSES = datacache.classes_of("mt_eklient.catalog", "Catalog", "Control", "AppliesTo", "Condition",
                                       "Expected", "References")
SITE_WSUS = "https://wsus.region.example:8531"
TARGET_GROUP = "target_group: MT-WM1-Sonora"


@pytest.fixture
def inputs(tmp_path, monkeypatch) -> tuple[Path, Path, list[str]]:
    """A private cache; copies of the profile and its site to edit; and the kinds of the cache
    entries written (one per miss)."""
    monkeypatch.setenv(datacache.CACHE_ENV, str(tmp_path / "cache"))
    profile = tmp_path / "sonora-review-4.yml"
    profile.write_bytes((REPO / "profiles" / "sonora-review-4.yml").read_bytes())
    site = tmp_path / "region-vastland.yml"  # a site file is named after its id
    site.write_bytes((REPO / "sites" / "region-vastland.yml").read_bytes())
    written: list[str] = []
    write = datacache._write

    def spy(directory: Path, key: str, value: object) -> None:
        written.append(key.split("-")[0])
        write(directory, key, value)

    monkeypatch.setattr(datacache, "_write", spy)
    return profile, site, written


def verify(profile: Path, site: Path, tmp_path: Path, capsys, *options: str) -> tuple[int, list[dict], str]:
    """Exit code, the JSON report's hosts and stderr of `mtk verify` with the site."""
    report = tmp_path / "report.json"
    report.unlink(missing_ok=True)
    code = main(["verify", str(FACTS), "--profile", str(profile), "--site", str(site), "--class", "WM1",
                 "--today", "2026-11-25", "--no-history", "--json", str(report), *options])
    err = capsys.readouterr().err
    hosts = json.loads(report.read_text(encoding="utf-8"))["hosts"] if report.exists() else []
    for host in hosts:
        del host["duration_ms"]  # the only value that differs between equal runs
    return code, hosts, err


def without_cache(monkeypatch, run):
    with monkeypatch.context() as m:
        m.setenv(datacache.CACHE_ENV, "")
        return run()


def expected(hosts: list[dict], control_id: str):
    return next(c["expected"] for c in hosts[0]["controls"] if c["id"] == control_id)


def test_warm_run_reads_the_cache_and_equals_a_run_without_it(inputs, tmp_path, capsys, monkeypatch):
    profile, site, written = inputs
    cold = verify(profile, site, tmp_path, capsys)
    assert {"profile", "site", "effective", "baseline"} <= set(written)
    written.clear()
    warm = verify(profile, site, tmp_path, capsys)
    assert written == []  # every entry was a hit
    assert warm == cold == without_cache(monkeypatch, lambda: verify(profile, site, tmp_path, capsys))
    assert cold[0] == 1 and expected(cold[1], "PATCH-WSUS-SERVER") == SITE_WSUS


@pytest.mark.parametrize(("edit", "control", "value"), [
    ("site", "PATCH-WSUS-SERVER", "https://wsus.other.example:8531"),
    ("profile", "PATCH-TARGET-GROUP", "MT-WM1-Other"),
])
def test_an_edited_site_or_profile_is_not_served_from_the_cache(inputs, tmp_path, capsys, monkeypatch, edit, control,
                                                                value):
    profile, site, written = inputs
    verify(profile, site, tmp_path, capsys)
    path, old, new = (site, SITE_WSUS, value) if edit == "site" else (profile, TARGET_GROUP, f"target_group: {value}")
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    written.clear()
    edited = verify(profile, site, tmp_path, capsys)
    assert edit in written and "effective" in written  # the edited file and the merge are misses
    assert expected(edited[1], control) == value
    assert edited == without_cache(monkeypatch, lambda: verify(profile, site, tmp_path, capsys))


def test_an_edited_catalog_is_parsed_again(tmp_path, monkeypatch):
    monkeypatch.setenv(datacache.CACHE_ENV, str(tmp_path / "cache"))
    copy = tmp_path / "catalog"
    copy.mkdir()
    for path in CATALOG_DIR.glob("*.yml"):
        (copy / path.name).write_bytes(path.read_bytes())

    def load() -> Catalog:
        return datacache.cached("catalog", sorted(copy.glob("*.yml")), lambda: load_catalog_dir(copy), CATALOG_CLASSES,
                                Catalog)

    first = load()
    control = first.controls[0]
    [source] = [p for p in copy.glob("*.yml") if f"id: {control.id}\n" in p.read_text(encoding="utf-8")]
    text = source.read_text(encoding="utf-8")
    source.write_text(text.replace(f"title: {control.title}", "title: Edited after caching", 1), encoding="utf-8")
    assert next(c for c in load().controls if c.id == control.id).title == "Edited after caching"


def test_host_values_are_never_taken_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(datacache.CACHE_ENV, str(tmp_path / "cache"))
    hostvars = {"mt_class": "WM1", "mt_profile": "sonora-review-4", "mt_site": "region-vastland"}
    today = date(2026, 11, 25)
    for zone in (["192.168.50.0/24"], ["192.168.60.0/24"]):
        _, baseline = resolve_host("h", {**hostvars, "mt_zones": {"management": zone}}, today)
        rule = next(c for c in baseline.controls if c.id == "FW-MANAGEMENT").expected
        assert rule["remote_addresses"] == zone


@pytest.mark.parametrize(("edit", "old", "new", "field"), [
    ("profile", TARGET_GROUP, "target_grup: MT-WM1-Sonora", "patching.wsus.target_grup"),
    ("site", "management: [10.20.0.0/24]", "management: [0.0.0.0/0]", "network.zones.management[0]"),
])
def test_an_input_made_invalid_after_a_cached_run_still_fails(inputs, tmp_path, capsys, monkeypatch, edit, old, new,
                                                              field):
    profile, site, _ = inputs
    assert verify(profile, site, tmp_path, capsys)[0] == 1
    path = profile if edit == "profile" else site
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    for _ in range(2):  # an error is never cached either
        code, hosts, err = verify(profile, site, tmp_path, capsys)
        assert (code, hosts) == (2, [])
        [line] = err.splitlines()
        assert line.startswith(f"{path}:") and f": {field}: " in line
        assert (code, hosts, err) == without_cache(monkeypatch, lambda: verify(profile, site, tmp_path, capsys))


@pytest.mark.parametrize("options", [("--class", "M1"), ("--today", "2027-02-01")], ids=["class", "date"])
def test_another_class_or_date_is_resolved_afresh(inputs, tmp_path, capsys, monkeypatch, options):
    profile, site, written = inputs
    cold = verify(profile, site, tmp_path, capsys)
    written.clear()
    other = verify(profile, site, tmp_path, capsys, *options)
    assert written == ["baseline"]  # the profile, site and merge are the same; their baseline is not
    assert other != cold
    assert other == without_cache(monkeypatch, lambda: verify(profile, site, tmp_path, capsys, *options))


def test_a_fixed_evaluation_date_is_resolved_afresh_on_another_day(inputs, tmp_path, capsys, monkeypatch):
    # The floor checks the profile's waivers as of the real date even under --today.
    profile, site, written = inputs
    verify(profile, site, tmp_path, capsys)

    class Tomorrow(date):
        @classmethod
        def today(cls) -> date:
            return date.fromordinal(date.today().toordinal() + 1)

    monkeypatch.setattr(verify_command, "date", Tomorrow)
    written.clear()
    verify(profile, site, tmp_path, capsys)
    assert written == ["baseline"]


def test_the_host_name_is_not_part_of_the_cached_baseline(inputs, tmp_path, capsys):
    profile, site, written = inputs
    verify(profile, site, tmp_path, capsys)
    written.clear()
    _, [host], _ = verify(profile, site, tmp_path, capsys, "--host", "wm1-other-07")
    assert written == [] and host["host"] == "wm1-other-07"


def test_a_waiver_limit_in_the_environment_is_never_taken_from_the_cache(inputs, tmp_path, capsys, monkeypatch):
    profile, site, _ = inputs
    assert verify(profile, site, tmp_path, capsys)[0] == 1
    monkeypatch.setenv("MTK_MAX_WAIVER_DAYS", "many")
    code, hosts, err = verify(profile, site, tmp_path, capsys)
    assert (code, hosts) == (2, []) and err.startswith("MTK_MAX_WAIVER_DAYS: ")
    assert (code, hosts, err) == without_cache(monkeypatch, lambda: verify(profile, site, tmp_path, capsys))


@pytest.mark.parametrize("damage", ["truncated", "foreign owner", "group-writable"])
def test_a_damaged_or_foreign_entry_is_ignored(inputs, tmp_path, capsys, damage):
    profile, site, written = inputs
    cold = verify(profile, site, tmp_path, capsys)
    for entry in (tmp_path / "cache").glob("*.pickle"):
        if damage == "truncated":
            entry.write_bytes(entry.read_bytes()[:100])
        elif damage == "foreign owner":
            if os.getuid() != 0:
                pytest.skip("only root can give a file to another user")
            os.chown(entry, 65534, 65534)
        else:
            entry.chmod(0o620)
    written.clear()
    assert verify(profile, site, tmp_path, capsys) == cold
    # Each one a miss, built again (the catalog and floor are loaded once per process: not here).
    assert {"profile", "site", "effective"} <= set(written)


def test_a_warm_verify_with_a_site_imports_neither_pydantic_nor_yaml(tmp_path):
    # What keeps a cached `mtk verify` short (docs/performance.md): the baseline comes from the
    # cache, so neither the catalog and profile models (pydantic) nor YAML are imported, whichever
    # reports are written.
    argv = ["verify", str(FACTS), "--profile", str(REPO / "profiles" / "sonora-review-4.yml"), "--site",
            "region-vastland", "--class", "WM1", "--today", "2026-11-25", "--history", "h.sqlite", "--json", "r.json",
            "--junit", "r.xml", "--html", "r.html"]
    code = (f"import sys\nfrom mt_eklient.cli import main\nmain({argv!r})\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'pydantic', 'yaml', 'jsonschema'}), file=sys.stderr)\n")
    env = dict(os.environ, **{datacache.CACHE_ENV: str(tmp_path / "cache")})
    runs = [subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=120, check=False) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr
    assert {"r.json", "r.xml", "r.html", "h.sqlite"} <= {p.name for p in tmp_path.iterdir()}
    assert runs[0].stderr.splitlines()[-1] == "['pydantic', 'yaml']"  # cold: everything parsed and validated
    assert runs[1].stderr.splitlines()[-1] == "[]"
    assert runs[1].stdout == runs[0].stdout
