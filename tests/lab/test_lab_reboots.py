"""The reboot helper's raw commands against a lab host (reboots.py), in-process and on a controlled
clock: the commands are built by the installed ansible.windows collection itself and encoded as
Ansible's winrm connection sends them, then handed to the endpoint's command runner (modexec)."""

from __future__ import annotations

import json

import pytest
from lab_helpers import HOST, journal, up
from mt_eklient.lab import faults, modexec, reboots, store

MSG = "mt-eklient build - it's a reboot"


def as_sent(script: str) -> tuple[str, list[str]]:
    """(command, arguments) as the winrm connection plugin sends a reboot helper command."""
    from ansible.plugins.loader import shell_loader

    shell = shell_loader.get("powershell")
    parts = shell._encode_script(shell._encode_script(script), as_list=True, strict_mode=False, preserve_rc=False)
    return parts[0], [" ".join(parts[1:])]  # pywinrm sends the arguments as one string


def reboot_script(delay: int = 2) -> str:
    """The script _reboot.reboot_host runs, captured from the collection's own code."""
    from ansible_collections.ansible.windows.plugins.plugin_utils import _reboot

    sent = []

    class Stop(Exception):
        pass

    def capture(action, connection, command):
        sent.append(command)
        raise Stop

    saved = _reboot._perform_reboot, _reboot._get_system_boot_time
    _reboot._perform_reboot, _reboot._get_system_boot_time = capture, lambda *args: "1"
    try:
        _reboot.reboot_host("win_reboot", connection=type("C", (), {"get_option": lambda s, k: 30})(),
                            msg=MSG, pre_reboot_delay=delay)
    finally:
        _reboot._perform_reboot, _reboot._get_system_boot_time = saved
    return sent[0]


def run(script: str) -> modexec.CommandResult:
    return modexec.run_command(HOST, *as_sent(script), b"")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch):
    now = [1_900_000_000.0]
    monkeypatch.setattr(reboots.time, "time", lambda: now[0])
    monkeypatch.setattr(faults.time, "time", lambda: now[0])
    return now


def test_boot_time_shutdown_down_up_and_the_logon_test(clock):
    from ansible_collections.ansible.windows.plugins.plugin_utils._reboot import (
        _DEFAULT_BOOT_TIME_COMMAND,
        _LOGON_UI_KEY,
    )

    up()
    test = f"Get-Item -LiteralPath '{_LOGON_UI_KEY}' -ErrorAction Stop; 'success-0f0e0d0c-0b0a-4908-8706-050403020100'"
    boot = run(_DEFAULT_BOOT_TIME_COMMAND)
    assert boot.rc == 0 and int(boot.stdout) > 0

    shutdown = run(reboot_script(delay=3))
    assert json.loads(shutdown.stdout) == {"stdout": "", "stderr": "", "rc": 0}
    assert store.read_state(HOST)["lab"]["reboot"]["message"] == MSG
    again = json.loads(run(reboot_script()).stdout)
    assert again["rc"] == 1190 and "(1190)" in again["stderr"]  # one shutdown at a time, as Windows says
    assert run(test).rc == 1  # the reboot script removed LogonUI's key
    assert faults.current(HOST).kind is None and run(_DEFAULT_BOOT_TIME_COMMAND).stdout == boot.stdout

    clock[0] += 3.5  # down: nothing listens
    assert faults.current(HOST).kind == faults.REBOOTING
    clock[0] += reboots.DOWN_SECONDS  # up again
    assert faults.current(HOST).kind is None
    assert int(run(_DEFAULT_BOOT_TIME_COMMAND).stdout) > int(boot.stdout)
    state = store.read_state(HOST)
    assert state["lab"]["reboots"] == 1 and not state["lab"]["pending_reboot"] and "reboot" not in state["lab"]
    assert b"success-0f0e0d0c-0b0a-4908-8706-050403020100" in run(test).stdout
    assert [e["module"] for e in journal()[-7:]] == ["command"] * 7


def test_abort_and_anything_else_is_refused(clock):
    up()
    run(reboot_script(delay=30))
    assert run("shutdown.exe /a").rc == 0 and "reboot" not in store.read_state(HOST)["lab"]
    assert run("shutdown.exe /a").rc == 1116  # nothing left to abort
    other = run("Get-ChildItem C:\\")
    assert other.rc == 1 and b"cannot run" in other.stderr
