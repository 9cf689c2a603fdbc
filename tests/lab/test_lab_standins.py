"""Module stand-ins through the runner (no Ansible process): validation, changes, check mode,
journal, unreachable hosts."""

from __future__ import annotations

import json
import time

import pytest
from lab_helpers import HOST, journal, state_json, up
from mt_eklient.lab import store
from mt_eklient.lab.argspec import NO_LOG_MASK
from mt_eklient.lab.facts import facts_from_state
from mt_eklient.lab.realspec import load_spec, real_module_path
from mt_eklient.lab.runner import run_standin

REGEDIT = "ansible.windows.win_regedit"
SERVICE = "ansible.windows.win_service"
UPDATES = "ansible.windows.win_updates"
KEY = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\Explorer"


def test_specs_come_from_the_real_installed_collections() -> None:
    path = real_module_path(REGEDIT)
    assert "site-packages" in path and "/lab/" not in path
    regedit = load_spec(REGEDIT)
    assert regedit.options["path"].aliases == ("key",) and regedit.options["path"].required
    assert "dword" in regedit.options["type"].choices
    assert load_spec(SERVICE).options["password"].no_log  # only the PowerShell $spec says so
    assert load_spec("community.windows.win_firewall").options["state"].required  # legacy -failifempty
    assert load_spec("ansible.windows.win_powershell").options["sensitive_parameters"].suboptions.mutually_exclusive


def test_lab_not_up_is_a_clear_failure() -> None:
    result = run_standin("ansible.windows.win_ping", HOST, {})
    assert result["failed"] and "run `mtk lab up` first" in result["msg"]


def test_regedit_changes_once_and_reports_like_the_module() -> None:
    up()
    args = {"path": KEY, "name": "NoAutoplayfornonVolume", "data": 1, "type": "dword"}
    first = run_standin(REGEDIT, HOST, args, diff=True)
    assert first["changed"] and not first["data_changed"]  # a new value: the real module says so too
    assert first["diff"]["after"] == {KEY: {"NoAutoplayfornonVolume": {"type": "DWord", "value": "0x00000001"}}}
    second = run_standin(REGEDIT, HOST, args)
    assert second["changed"] is False and "diff" not in second
    third = run_standin(REGEDIT, HOST, dict(args, data="0x2"))
    assert third["changed"] and third["data_changed"] and not third["data_type_changed"]
    fourth = run_standin(REGEDIT, HOST, dict(args, data="2", type="string"))
    assert fourth["data_type_changed"] and fourth["data_changed"]
    gone = run_standin(REGEDIT, HOST, {"path": KEY, "name": "NoAutoplayfornonVolume", "state": "absent"})
    assert gone["changed"]
    assert [e["changed"] for e in journal()] == [True, False, True, True, True]
    assert sum(e["applied"] for e in journal()) == 4


def test_regedit_rejects_bad_input_like_the_module() -> None:
    up()
    assert run_standin(REGEDIT, HOST, {"path": KEY, "vaule": 1})["msg"].startswith(
        "Unsupported parameters for (win_regedit) module: vaule. Supported parameters include: data, delete_key,")
    assert "Got no match for: dwrod" in run_standin(REGEDIT, HOST, {"path": KEY, "type": "dwrod"})["msg"]
    assert "not a valid powershell path" in run_standin(REGEDIT, HOST, {"path": "HKLM\\X", "name": "a"})["msg"]
    assert "larger than 0xffffffff" in run_standin(REGEDIT, HOST, {"path": KEY, "name": "a", "type": "dword",
                                                                  "data": 2**32})["msg"]
    assert all(e["failed"] and not e["changed"] for e in journal())


def test_check_mode_writes_nothing_and_applies_nothing() -> None:
    up()
    before = state_json()
    result = run_standin(SERVICE, HOST, {"name": "AppIDSvc", "start_mode": "auto", "state": "started"},
                         check_mode=True, diff=True)
    assert result["changed"] and result["diff"]["after"]["start_mode"] == "auto"
    assert state_json() == before
    assert journal()[-1]["check_mode"] and journal()[-1]["applied"] == 0


def test_service_start_mode_state_and_failures() -> None:
    up()
    result = run_standin(SERVICE, HOST, {"name": "Application Identity", "start_mode": "auto", "state": "started"})
    assert result["changed"] and result["name"] == "AppIDSvc" and result["state"] == "running"
    assert result["start_mode"] == "auto"
    assert not run_standin(SERVICE, HOST, {"name": "AppIDSvc", "start_mode": "auto", "state": "started"})["changed"]
    assert "Got no match for: automatic" in run_standin(SERVICE, HOST, {"name": "AppIDSvc",
                                                                         "start_mode": "automatic"})["msg"]
    run_standin(SERVICE, HOST, {"name": "RemoteRegistry", "start_mode": "disabled"})
    assert "disabled" in run_standin(SERVICE, HOST, {"name": "RemoteRegistry", "state": "started"})["msg"]
    assert "need to set 'path'" in run_standin(SERVICE, HOST, {"name": "NoSuchSvc", "state": "started"})["msg"]
    # the start mode lives in the registry, as on Windows
    reg = store.read_state(HOST)["registry"]["HKLM\\SYSTEM\\CurrentControlSet\\Services\\AppIDSvc"]
    assert reg["Start"] == {"type": "REG_DWORD", "value": 2}


def test_secrets_are_masked_in_the_journal() -> None:
    up()
    run_standin(SERVICE, HOST, {"name": "WinRM", "username": "svc", "password": "hunter2"})
    run_standin("ansible.windows.win_powershell", HOST, {
        "script": "Write-Output 1", "parameters": {"ApiToken": "abc", "Plain": 1}})
    text = json.dumps(journal())
    assert "hunter2" not in text and "abc" not in text and NO_LOG_MASK in text


def test_firewall_modules() -> None:
    up()
    fw = run_standin("ansible.windows.win_firewall", HOST, {"profiles": ["Domain", "Private", "Public"],
                                                           "state": "enabled", "outbound_action": "block"})
    assert fw["changed"] and fw["Domain"]["enabled"]
    assert not run_standin("community.windows.win_firewall", HOST, {"state": "enabled", "outbound_action": "block"})[
        "changed"]
    rule = {"name": "Test WinRM", "direction": "in", "action": "allow", "protocol": "tcp", "localport": "5985",
            "remoteip": "10.20.0.0/24", "group": "mt-eklient"}
    assert run_standin("community.windows.win_firewall_rule", HOST, rule)["changed"]
    assert not run_standin("community.windows.win_firewall_rule", HOST, rule)["changed"]
    created = next(r for r in store.read_state(HOST)["firewall"]["rules"] if r["display_name"] == "Test WinRM")
    assert created["name"].startswith("{")  # COM gives the rule a GUID Name; the task's name is the display name
    assert "Got no match for: inbound" in run_standin("community.windows.win_firewall_rule", HOST,
                                                      dict(rule, direction="inbound"))["msg"]
    assert "Got no match for: permit" in run_standin("community.windows.win_firewall_rule", HOST,
                                                     dict(rule, action="permit"))["msg"]
    assert "missing required arguments: state" in run_standin("ansible.windows.win_firewall", HOST, {})["msg"]


def test_removing_the_way_in_locks_the_controller_out() -> None:
    up()
    for name in ("Windows Remote Management (HTTP-In)",):
        result = run_standin("community.windows.win_firewall_rule", HOST, {"name": name, "enabled": False})
        assert result["changed"]  # this answer still arrives over the open connection
    after = run_standin("ansible.windows.win_ping", HOST, {})
    assert after["unreachable"] and "no enabled inbound rule lets the controller" in after["msg"]


def test_a_read_only_call_never_locks_a_host_out() -> None:
    state = up()
    for rule in state["firewall"]["rules"]:  # a path to WinRM the firewall model does not know
        if rule["display_name"] == "Windows Remote Management (HTTP-In)":
            rule["enabled"] = False
    store.write_state(HOST, state)
    for _ in range(2):
        assert not run_standin("ansible.windows.win_ping", HOST, {}).get("unreachable")
    assert store.read_state(HOST)["lab"]["reachable"] is True


def test_unreachable_host_answers_nothing() -> None:
    state = up()
    state["lab"]["reachable"] = False
    store.write_state(HOST, state)
    result = run_standin(REGEDIT, HOST, {"path": KEY, "vaule": 1})  # even bad arguments: no connection first
    assert result["unreachable"] is True and "winrm" in result["msg"]
    assert journal()[-1]["unreachable"]


def test_smb1_removal_waits_for_the_restart_as_on_windows() -> None:
    """Disable-WindowsOptionalFeature -NoRestart: RestartNeeded, the feature DisablePending and the SMBv1
    server still running until win_reboot; the real module changes a pending feature again."""
    up("win10-ltsb-2016")
    request = {"optional_features": ["SMB1Protocol"]}
    for _ in range(2):
        feature = run_standin("ansible.windows.win_optional_feature", HOST, {"name": "SMB1Protocol", "state": "absent"})
        assert feature["changed"] and feature["reboot_required"]
        facts = facts_from_state(store.read_state(HOST), request)
        assert facts["optional_features"] == {"SMB1Protocol": "disable_pending"} and facts["smb"]["server_smb1"]
        assert store.read_state(HOST)["lab"]["pending_reboot"]
    assert run_standin("ansible.windows.win_reboot", HOST, {})["rebooted"]
    facts = facts_from_state(store.read_state(HOST), request)
    assert facts["optional_features"] == {"SMB1Protocol": "disabled"} and not facts["smb"]["server_smb1"]
    again = run_standin("ansible.windows.win_optional_feature", HOST, {"name": "SMB1Protocol", "state": "absent"})
    assert not again["changed"] and not again["reboot_required"]


def test_optional_feature_group_membership_updates_ping_reboot() -> None:
    up("win10-ltsb-2016")
    feature = run_standin("ansible.windows.win_optional_feature", HOST, {"name": "SMB1Protocol", "state": "absent"})
    assert feature["changed"] and feature["reboot_required"]
    assert "Failed to find feature 'Nope'" in run_standin("ansible.windows.win_optional_feature", HOST,
                                                          {"name": ["Nope"]})["msg"]
    members = run_standin("ansible.windows.win_group_membership", HOST, {
        "name": "Administrators", "members": ["REGION\\Domain Admins", "S-1-5-21-1-2-3-1013"], "state": "pure"})
    assert members["changed"] and "REGION\\Domain Admins" in members["members"]
    assert any("Administrator" in r for r in members["removed"])
    assert "not a valid account" in run_standin("ansible.windows.win_group_membership", HOST, {
        "name": "Administrators", "members": ["REGION\\nobody"]})["msg"]
    assert run_standin("ansible.windows.win_ping", HOST, {"data": "hello"})["ping"] == "hello"
    assert run_standin("ansible.windows.win_ping", HOST, {"data": "crash"})["msg"] == "boom"
    # win_updates as the module runs (wuapi.py), waiting itself: the feature above left a reboot pending
    wait = {"_operation_options": {"wait": True}}
    searched = run_standin(UPDATES, HOST, {"state": "searched", **wait})
    assert searched["found_update_count"] == 1 and not searched["changed"]
    other = run_standin(UPDATES, HOST, {"category_names": ["CriticalUpdates"], **wait})
    assert other["found_update_count"] == 0
    assert [u["filtered_reasons"] for u in other["filtered_updates"].values()] == [["category_names"]]
    blocked = run_standin(UPDATES, HOST, wait)
    assert blocked["failed"] and blocked["msg"] == "A reboot is required before more updates can be installed"
    assert run_standin("ansible.windows.win_reboot", HOST, {})["rebooted"]
    installed = run_standin(UPDATES, HOST, wait)
    assert installed["installed_update_count"] == 1 and installed["changed"] and installed["reboot_required"]
    assert store.read_state(HOST)["lab"]["pending_reboot"]


def test_win_updates_start_poll_cancel_as_the_action_plugin_drives_it() -> None:
    up()
    checked = run_standin(UPDATES, HOST, {"_operation_options": {}}, check_mode=True)
    messages = run_standin(UPDATES, HOST, {"_operation": "poll", "_operation_options": checked["poll_options"]},
                           check_mode=True)["output"]
    assert [m["task"] for m in messages] == ["started", "search_result", "exit"] and messages[-1]["result"]["changed"]
    assert store.read_state(HOST)["available_updates"], "check mode installs nothing"

    start = run_standin(UPDATES, HOST, {"_operation_options": {}})
    assert start["changed"] is False and journal()[-1]["changed"]  # the update task changed the host
    messages = []
    while not messages or messages[-1]["task"] != "exit":
        messages += run_standin(UPDATES, HOST, {"_operation": "poll", "_operation_options": start["poll_options"]})["output"]
    tasks = [m["task"] for m in messages]
    assert tasks[:2] == ["started", "search_result"] and tasks[-2:] == ["install_result", "exit"]
    assert "download_result" in tasks and messages[-1]["result"]["reboot_required"]
    assert run_standin(UPDATES, HOST, {"_operation": "cancel", "_operation_options": start["cancel_options"]}) \
        ["changed"] is False
    gone = run_standin(UPDATES, HOST, {"_operation": "poll", "_operation_options": start["poll_options"]})
    assert gone["failed"] and "Failed to connect to pipe" in gone["msg"]


def test_latency_is_added_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    up()
    monkeypatch.setenv("MTK_LAB_LATENCY", "0.2")
    started = time.monotonic()
    run_standin("ansible.windows.win_ping", HOST, {})
    assert time.monotonic() - started >= 0.2
    assert journal()[-1]["duration_ms"] >= 200
