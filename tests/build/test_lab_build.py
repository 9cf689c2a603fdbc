"""playbooks/build_wm.yml against the simulated lab over real WinRM (`mtk lab ansible-playbook`, the
session's lab of tests/lab_session.py): converge every WM host, idempotence, check mode, WinRM kept,
refusals, call budget, and the vaulted password in no output or lab file."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import mt_eklient
import pytest
import yaml
from lab_session import BUILT, recap

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = "playbooks/build_wm.yml"
LAB_INVENTORY = REPO / "inventories" / "lab"
SHADOW = REPO / "verifier" / "mt_eklient" / "lab" / "ansible" / "collections" / "ansible_collections"
MAX_CALLS_PER_HOST = 40
REPORT_SCHEMA = json.loads((Path(mt_eklient.__file__).parent / "schemas" / "report.schema.json").read_text())

def _missing_standins() -> list[str]:
    """Modules the build uses that the lab has no stand-in for (each is a one-line action plugin)."""
    used = set()
    for tasks in (REPO / "roles").glob("*/tasks/*.yml"):
        used |= set(re.findall(r"^\s+((?:ansible|community)\.windows\.win_\w+):", tasks.read_text(), re.MULTILINE))
    used |= set(re.findall(r"^\s+((?:ansible|community)\.windows\.win_\w+):", (REPO / PLAYBOOK).read_text(), re.MULTILINE))
    missing = []
    for fqcn in sorted(used):
        namespace, collection, module = fqcn.split(".")
        if not (SHADOW / namespace / collection / "plugins" / "action" / f"{module}.py").is_file():
            missing.append(fqcn)
    return missing


def _hosts() -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted((LAB_INVENTORY / "host_vars").glob("*.yml")):
        out[path.stem] = yaml.safe_load(path.read_text()) or {}
    return out


def _profile_class(profile_id: str) -> str | None:
    path = REPO / "profiles" / f"{profile_id}.yml"
    if not path.is_file():
        return None
    data = yaml.safe_load(path.read_text())
    return f"{data['classification']['type']}{data['classification']['group']}"


HOSTS = _hosts()
# Buildable: declared WM, and the profile agrees.
WM_HOSTS = sorted(h for h, v in HOSTS.items()
                  if str(v.get("mt_class", "")).startswith("WM") and _profile_class(str(v.get("mt_profile"))) == v["mt_class"])
M_HOSTS = sorted(h for h, v in HOSTS.items() if str(v.get("mt_class", "")).startswith("M"))
MISMATCHED = sorted(h for h, v in HOSTS.items()
                    if str(v.get("mt_class", "")).startswith("WM") and _profile_class(str(v.get("mt_profile"))) not in (None, v["mt_class"]))


def test_the_lab_has_a_stand_in_for_every_module_the_build_uses():
    assert _missing_standins() == []


def test_the_lab_inventory_has_m_wm_and_mismatched_hosts():
    """The refusal tests below run on these; an inventory without them would test nothing."""
    assert M_HOSTS and WM_HOSTS and MISMATCHED and "wm1-sono-01" in WM_HOSTS


@pytest.fixture(scope="module")
def built(built_lab, tmp_path_factory) -> dict[str, Any]:
    """The session's lab over WinRM (tests/lab_session.py) as built, and a second build run on it
    (writing each host's report into `reports`)."""
    assert sorted(WM_HOSTS) == sorted(BUILT), "the session lab builds other hosts than the inventory's WM clients"
    reports = tmp_path_factory.mktemp("second-run-reports")
    second = built_lab.play("--limit", ",".join(WM_HOSTS), "-e", "mtk_build_batch=100%",
                            "-e", f"mtk_build_report_dir={reports}")
    return {"lab": built_lab, "first": built_lab.first_run, "second": second, "calls": dict(built_lab.calls),
            "reports": reports}


def test_converges_every_wm_host(built):
    stats = recap(built["first"].stdout)
    assert set(stats) >= set(WM_HOSTS)
    for host in WM_HOSTS:
        assert stats[host]["failed"] == 0 and stats[host]["unreachable"] == 0, stats[host]
        assert stats[host]["changed"] > 0
        plate = built["lab"].facts(host)["nameplate"]
        assert plate["class"] == HOSTS[host]["mt_class"] and plate["profile_id"] == HOSTS[host]["mt_profile"]


def test_the_preflight_knows_the_controllers_address_on_the_lab(built):
    # The lab inventory connects over winrm to an address, as a site does: no "address unknown" warning.
    for run in (built["first"], built["second"]):
        assert "controller's address" not in " ".join((run.stdout + run.stderr).split())  # Ansible wraps warnings


def test_second_run_changes_nothing(built):
    stats = recap(built["second"].stdout)
    assert {h: stats[h]["changed"] for h in WM_HOSTS} == {h: 0 for h in WM_HOSTS}
    for host in WM_HOSTS:
        # A compliant host: the preflight's collection and the verification's, nothing else.
        second_run = built["lab"].journal(host)[built["calls"][host]:]
        assert len(second_run) == 2 and all(str(e["args"].get("script", "")).startswith("# mtk-collector")
                                            for e in second_run), [e.get("module") for e in second_run]


def test_second_run_writes_each_hosts_passing_report(built):
    """Every build ends with the host's scan report (JSON valid to the report schema, and HTML) in
    mtk_build_report_dir; a compliant host's passes, and it holds no password."""
    reports = built["reports"]
    for host in WM_HOSTS:
        assert (reports / f"{host}.html").is_file(), host
        report = json.loads((reports / f"{host}.json").read_text())
        jsonschema.validate(report, REPORT_SCHEMA)
        assert [(h["host"], h["verdict"]) for h in report["hosts"]] == [(host, "pass")]
    built["lab"].assert_password_nowhere(files=sorted(reports.iterdir()))


def test_allow_listed_device_ids_are_exactly_the_profiles(built):
    """labflow-report-2 allows one encrypted stick: the AllowDeviceIDs key holds exactly the profile's
    ids as "1", "2", ... (REG_SZ), and the second run left it alone."""
    host = "wm0-lab-01"
    assert host in WM_HOSTS
    profile = yaml.safe_load((REPO / "profiles" / f"{HOSTS[host]['mt_profile']}.yml").read_text())
    assert profile["removable_media"]["policy"] == "allow_listed"
    wanted = {str(n): {"type": "REG_SZ", "value": device_id}
              for n, device_id in enumerate(profile["removable_media"]["allowed_device_ids"], start=1)}
    key = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\DeviceInstall\\Restrictions\\AllowDeviceIDs"
    registry = {k.casefold(): v for k, v in built["lab"].facts(host)["registry"].items()}
    assert registry.get(key.casefold()) == wanted
    second_run = built["lab"].journal(host)[built["calls"][host]:]
    assert second_run and not [e for e in second_run if e.get("changed") or "mtk-applier" in json.dumps(e)]


def test_remote_calls_per_host_within_budget(built):
    for host, count in built["calls"].items():
        assert 0 < count <= MAX_CALLS_PER_HOST, f"{host}: {count} module invocations"


def test_winrm_stays_reachable_from_the_management_zone(built):
    from mt_eklient.lab.fwmodel import winrm_reachable

    for host in WM_HOSTS:
        state = built["lab"].state(host)
        reachable, why = winrm_reachable(state)
        assert reachable, f"{host}: {why}"
        rules = built["lab"].facts(host)["firewall"]["rules"]
        management = [r for r in rules if r["group"] == "mt-eklient" and r["direction"] == "in" and r["enabled"]
                      and r["action"] == "allow" and "5985" in r["local_ports"]]
        assert management, f"{host}: no WinRM allow rule in the managed group"


def test_check_mode_on_a_fresh_host_changes_nothing(built_lab):
    host = WM_HOSTS[0]
    with built_lab.preserved():
        built_lab.run("lab", "reset", host)
        before = built_lab.state(host)
        result = built_lab.play("--limit", host, "--check", "--diff")
        assert recap(result.stdout)[host]["changed"] > 0  # it reports what it would do ...
        assert built_lab.state(host) == before  # ... and does none of it
        assert built_lab.journal(host) and all(int(e.get("applied") or 0) == 0 for e in built_lab.journal(host))


@pytest.mark.parametrize("host", M_HOSTS + MISMATCHED)
def test_refused_hosts_are_never_touched(built_lab, host):
    with built_lab.preserved():
        before, calls = built_lab.state(host), built_lab.journal(host)
        result = built_lab.play("--limit", host, expect=None)
        assert result.returncode != 0
        assert f"REFUSED {host}" in result.stdout
        reason = "vendor-managed" if host in M_HOSTS else "does not match the profile's class"
        assert reason in result.stdout
        assert built_lab.state(host) == before and built_lab.journal(host) == calls  # not even a read


def test_one_refused_host_stops_the_whole_run(built_lab):
    targets = [WM_HOSTS[0], M_HOSTS[0]]
    with built_lab.preserved():
        built_lab.run("lab", "reset", WM_HOSTS[0])
        result = built_lab.play("--limit", ",".join(targets), expect=None)
        assert result.returncode != 0 and f"REFUSED {M_HOSTS[0]}" in result.stdout
        for host in targets:
            assert not [e for e in built_lab.journal(host) if e.get("changed")], f"{host} was changed"


def test_out_of_support_os_is_refused(built_lab, tmp_path):
    inventory = tmp_path / "inventory"
    shutil.copytree(built_lab.inventory, inventory)
    host = WM_HOSTS[0]
    vars_file = inventory / "host_vars" / f"{host}.yml"
    data = yaml.safe_load(vars_file.read_text())
    data["mtk_lab_edition"] = "win10-ltsb-2016"
    vars_file.write_text(yaml.safe_dump(data))
    env = {**built_lab.env, "MTK_LAB_INVENTORY": str(inventory)}
    with built_lab.preserved():
        built_lab.run("lab", "reset", host, env=env)  # a fresh install of an edition out of support
        result = built_lab.play("--limit", host, expect=None, env=env)
        assert result.returncode != 0
        assert "support ended" in result.stdout and "mt_preflight_os_override" in result.stdout
        assert not [e for e in built_lab.journal(host) if e.get("changed")]


def test_invalid_profile_is_refused_naming_file_and_field(built_lab, tmp_path):
    profiles = tmp_path / "profiles"
    shutil.copytree(REPO / "profiles", profiles)
    path = profiles / "sonora-review-4.yml"
    path.write_text(path.read_text().replace("pacs: [10.30.4.10, 10.30.4.11]", "pacs: [10.30.4.10/33]"))
    with built_lab.preserved():
        calls = built_lab.journal("wm1-sono-01")
        result = built_lab.play("--limit", "wm1-sono-01", "-e", f"mt_preflight_profiles_dir={profiles}", expect=None)
        assert result.returncode != 0
        assert re.search(r"REFUSED wm1-sono-01: invalid input: \S*sonora-review-4\.yml:\d+: "
                         r"network\.zones\.pacs\[0\]", result.stdout), result.stdout[-3000:]
        assert built_lab.journal("wm1-sono-01") == calls


def test_password_never_shown(built_lab):
    built_lab.assert_password_nowhere()
