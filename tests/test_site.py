"""Site configurations (sites/*.yml): validation, the catalog -> site -> profile -> host layering,
hosts without a site, and where each value came from (docs/sites.md)."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path

import pytest
import yaml
from mt_eklient.cli import main
from mt_eklient.errors import InputError
from mt_eklient.hosts import resolve_host
from mt_eklient.resolve import BUILTIN_ADMINISTRATOR

REPO = Path(__file__).resolve().parents[1]
SITE_FILE = REPO / "sites" / "region-vastland.yml"
TODAY = date(2026, 11, 25)
SONORA = {"mt_class": "WM1", "mt_profile": "sonora-review-4", "mt_site": "region-vastland"}


def site_data() -> dict:
    return yaml.safe_load(SITE_FILE.read_text(encoding="utf-8"))


def write_site(directory: Path, data: dict, name: str | None = None) -> Path:
    path = directory / f"{name or data['id']}.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def expected(baseline, control_id):
    return next(c for c in baseline.controls if c.id == control_id).expected


# --- validation --------------------------------------------------------------------------------

def test_repository_sites_validate(capsys):
    assert main(["site", "validate", *map(str, sorted((REPO / "sites").glob("*.yml")))]) == 0
    assert "region-vastland.yml: ok" in capsys.readouterr().out


@pytest.mark.parametrize(("mutate", "field", "text"), [
    (lambda s: s["network"]["zones"].update(management=["0.0.0.0/0"]), "network.zones.management[0]",
     "DC-MANAGEMENT-ZONE-BROAD"),
    (lambda s: s["network"]["zones"].update(wsus=["10.10.2.300"]), "network.zones.wsus[0]", "invalid IP"),
    (lambda s: s["network"]["zones"].pop("management"), "network.zones.management", "required"),
    (lambda s: s["network"]["zones"].update(pacs=["10.30.4.10"]), "network.zones.pacs", ""),
    (lambda s: s.update(wsus={"server": "wsus.region.example"}), "wsus.server", "pattern"),
    (lambda s: s["accounts"].update(local_admins=["S-1-5-21-1-2-3-1100"]), "accounts.local_admins[0]",
     "not REGION's"),
    (lambda s: s["accounts"].update(allow_admin_removel=True), "accounts.allow_admin_removel",
     "did you mean 'allow_admin_removal'"),
    (lambda s: s.update(id="region-other"), "id", "differs from the file name"),
])
def test_invalid_site_names_file_line_and_field(tmp_path, capsys, mutate, field, text):
    data = site_data()
    mutate(data)
    path = write_site(tmp_path, data, name="region-vastland")
    assert main(["site", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:" in err and f": {field}: " in err and text in err, err
    line = err.split(f"{path}:")[1].split(":")[0]
    assert line.isdigit(), err
    assert "Traceback" not in err


def test_malformed_site_yaml_is_one_line_exit_2(tmp_path, capsys):
    path = tmp_path / "region-x.yml"
    path.write_text("id: region-x\nname: 'unclosed\n", encoding="utf-8")
    assert main(["site", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unclosed quote" in err and "Traceback" not in err


def test_published_site_schema_is_current_and_accepts_the_sites(capsys):
    import jsonschema

    assert main(["site", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema == json.loads((REPO / "docs" / "site.schema.json").read_text()), \
        "run: mtk site schema > docs/site.schema.json"
    validator = jsonschema.Draft202012Validator(schema)
    for path in (REPO / "sites").glob("*.yml"):
        assert not list(validator.iter_errors(yaml.safe_load(path.read_text()))), path
    bad = site_data()
    bad["network"]["zones"]["pacs"] = ["10.1.1.1"]
    assert list(validator.iter_errors(bad))


# --- layering ----------------------------------------------------------------------------------

def test_site_values_reach_the_baseline():
    loaded, baseline = resolve_host("wm1-x", SONORA, TODAY)
    assert expected(baseline, "PATCH-WSUS-SERVER") == "https://wsus.region.example:8531"
    assert expected(baseline, "FW-MANAGEMENT")["remote_addresses"] == ["10.20.0.0/24"]
    assert expected(baseline, "EVT-SUBSCRIPTION-MANAGER").startswith("Server=http://wec.region.example:5985/")
    rules = {r["name"]: r for r in expected(baseline, "FW-RULES")}
    assert rules["mtk-out-wsus"]["remote_addresses"] == ["10.10.2.20"]
    assert baseline.site["id"] == "region-vastland" and len(baseline.site["sha256"]) == 64
    assert loaded.profile.patching.wsus.target_group == "MT-WM1-Sonora"  # the profile's own value stays


def test_another_site_changes_only_the_site_values(tmp_path):
    data = site_data()
    data.update(id="region-nord", wsus={"server": "https://wsus.nord.example:8531"})
    data["network"]["zones"]["management"] = ["172.16.5.0/24"]
    write_site(tmp_path, data)
    _, vastland = resolve_host("h", SONORA, TODAY)
    _, nord = resolve_host("h", {**SONORA, "mt_site": "region-nord"}, TODAY, sites_dir=tmp_path)
    assert expected(nord, "PATCH-WSUS-SERVER") == "https://wsus.nord.example:8531"
    assert expected(nord, "FW-MANAGEMENT")["remote_addresses"] == ["172.16.5.0/24"]
    differing = {c.id for c, d in zip(vastland.controls, nord.controls, strict=True) if c.expected != d.expected}
    # FW-RULES holds the management rule too.
    assert differing == {"PATCH-WSUS-SERVER", "PATCH-WSUS-STATUS", "FW-MANAGEMENT", "FW-RULES"}


def test_profile_beats_site_and_host_beats_both(tmp_path, sonora):
    profile = copy.deepcopy(sonora)  # carries the site's values itself (standalone)
    profile["patching"]["wsus"]["server"] = "https://wsus.vendor-lab.example:8531"
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "sonora-review-4.yml").write_text(yaml.safe_dump(profile, sort_keys=False))
    hostvars = {**SONORA, "mt_zones": {"management": ["192.168.50.0/24"]}, "mt_wsus_target_group": "Site2"}
    _, baseline = resolve_host("h", hostvars, TODAY, profiles_dir=tmp_path / "profiles")
    assert expected(baseline, "PATCH-WSUS-SERVER") == "https://wsus.vendor-lab.example:8531"
    assert expected(baseline, "FW-MANAGEMENT")["remote_addresses"] == ["192.168.50.0/24"]
    assert expected(baseline, "PATCH-TARGET-GROUP") == "Site2"


def test_local_administrators_add_up(tmp_path):
    data = site_data()
    it_group = data["domain"]["sid"] + "-1015"
    data["accounts"]["local_admins"] = [it_group]
    write_site(tmp_path, data)
    _, baseline = resolve_host("h", SONORA, TODAY, sites_dir=tmp_path)
    assert expected(baseline, "ACC-LOCAL-ADMINS") == sorted(
        {BUILTIN_ADMINISTRATOR, it_group, "S-1-5-21-3623811015-3361044348-30300820-1013"})


def test_vendor_managed_profile_gets_no_site_wsus():
    _, baseline = resolve_host("m", {"mt_class": "M1", "mt_profile": "modality-ct-vendor",
                                     "mt_site": "region-vastland"}, TODAY)
    assert next(c for c in baseline.controls if c.id == "PATCH-WSUS-SERVER").status == "not_applicable"


# --- hosts without a site, bad mt_site -----------------------------------------------------------

def test_host_without_site_names_host_and_field():
    with pytest.raises(InputError) as err:
        resolve_host("wm1-sono-07", {"mt_class": "WM1", "mt_profile": "sonora-review-4"}, TODAY)
    lines = [str(p) for p in err.value.problems]
    assert lines[0] == ("inventory (wm1-sono-07): mt_site: required: profile sonora-review-4 leaves "
                        "network.zones.management to the site (WinRM is opened to the management zone only)")
    assert any("wsus.server" in line for line in lines)


def test_site_without_a_needed_value_names_site_and_field(tmp_path):
    data = site_data()
    del data["wsus"]
    path = write_site(tmp_path, data)
    with pytest.raises(InputError) as err:
        resolve_host("wm1-x", SONORA, TODAY, sites_dir=tmp_path)
    [problem] = err.value.problems
    assert problem.file == "inventory (wm1-x)" and problem.field == "mt_site"
    assert f"site region-vastland ({path}) does not set wsus.server" in problem.message


@pytest.mark.parametrize(("value", "text"), [("region-nowhere", "no site 'region-nowhere'"),
                                             ("../etc/passwd", "not a site id")])
def test_unknown_or_path_like_site_is_an_input_error(value, text):
    with pytest.raises(InputError) as err:
        resolve_host("h", {**SONORA, "mt_site": value}, TODAY)
    assert err.value.problems[0].field == "mt_site" and text in err.value.problems[0].message


def test_lab_inventory_names_its_site():
    group_vars = yaml.safe_load((REPO / "inventories" / "lab" / "group_vars" / "lab.yml").read_text())
    assert group_vars["mt_site"] == "region-vastland"


# --- provenance ----------------------------------------------------------------------------------

def test_profile_show_says_where_each_value_came_from(tmp_path, capsys):
    hv = tmp_path / "hv.yml"
    hv.write_text("mt_zones:\n  management: [192.168.9.0/24]\n")
    profile = str(REPO / "profiles" / "sonora-review-4.yml")
    assert main(["profile", "show", profile, "--site", "region-vastland", "--host-vars", str(hv), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    origin = data["provenance"]
    assert origin["PATCH-WSUS-SERVER"] == [{"field": "patching.wsus.server", "layer": "site"}]
    assert origin["ACC-GUEST-DISABLED"] == [{"field": "", "layer": "catalog"}]
    assert {"field": "network.zones.management", "layer": "host"} in origin["FW-MANAGEMENT"]
    assert origin["AV-EXCL-PATHS"] == [{"field": "antivirus.exclusions.paths", "layer": "profile"}]
    assert data["site"]["id"] == "region-vastland"
    assert main(["profile", "show", profile, "--site", str(SITE_FILE)]) == 0
    text = capsys.readouterr().out
    assert "layers (a later one wins): catalog" in text and "-> site region-vastland" in text
    assert "from: site region-vastland (patching.wsus.server)" in text


def test_profile_show_without_site_says_to_give_one(capsys):
    assert main(["profile", "show", str(REPO / "profiles" / "sonora-review-4.yml")]) == 2
    err = capsys.readouterr().err
    assert "--site: required: profile sonora-review-4 leaves network.zones.management to the site" in err


def test_profile_show_marks_a_profile_value_over_the_site(tmp_path, sonora, write_profile, capsys):
    sonora["patching"]["wsus"]["server"] = "https://wsus.vendor-lab.example:8531"
    path = write_profile(sonora)
    assert main(["profile", "show", str(path), "--site", "region-vastland"]) == 0
    assert "from: profile over site region-vastland (patching.wsus.server)" in capsys.readouterr().out
