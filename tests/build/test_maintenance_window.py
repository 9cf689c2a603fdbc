"""A build that needs a reboot reboots only inside the profile's maintenance window, read off the
host's own clock (`mtk lab clock`), over real WinRM: the real ansible.windows.win_updates action
plugin drives its module through start/poll/cancel against the lab endpoint, and the real
win_reboot action plugin runs its raw commands (boot time, shutdown.exe /r, the LogonUI test) and
reconnects after the host was down.

wm1-sono-01 runs sonora-review-4: window Tuesday and Wednesday 06:00 for 2 hours.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from lab_session import BUILD_EXTRA, COLLECTOR_MARKER, LabSession, recap

HOST = "wm1-sono-01"
OUTSIDE_MESSAGE = f"{HOST} needs a reboot; not done now (outside the maintenance window"


def last(weekdays: set[int], hour: int, minute: int) -> datetime:
    """The latest of these weekdays, today included, at hour:minute (UTC, the lab hosts' local time):
    within the last week, so no fact looks stale."""
    today = datetime.now(UTC).date()
    day = next(today - timedelta(days=n) for n in range(7) if (today - timedelta(days=n)).weekday() in weekdays)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


INSIDE = last({1, 2}, 6, 30)  # Tuesday or Wednesday 06:30
OUTSIDE = INSIDE.replace(hour=12)


def reboot_commands(lab: LabSession) -> list[str]:
    return [e["args"]["command"] for e in lab.journal(HOST) if e["module"] == "command"]


@pytest.fixture
def lab(built_lab: LabSession):
    with built_lab.preserved():
        yield built_lab


def test_outside_the_window_nothing_is_installed_and_the_reboot_waits(lab):
    lab.run("lab", "clock", HOST, OUTSIDE.isoformat())
    lab.run("lab", "drift", HOST, "smb1-enabled")  # removing SMB1 again needs a restart
    before = lab.state(HOST)
    result = lab.play("--limit", HOST, *BUILD_EXTRA, "-e", "mt_patching_install=true", expect=None)
    assert recap(result.stdout)[HOST]["changed"] > 0
    said = " ".join(result.stdout.split())
    # SMBv1 stays on until the restart (DisablePending): the verification fails, naming the control.
    assert result.returncode != 0 and f"VERIFICATION FAILED {HOST}" in said
    assert "SMB-V1-FEATURE fail (set by the build)" in said and "a reboot is pending for SMB-V1-FEATURE" in said
    facts = lab.facts(HOST)
    assert facts["optional_features"]["SMB1Protocol"] == "disable_pending" and facts["smb"]["server_smb1"]
    assert f"Updates not installed on {HOST}: outside the maintenance window" in said, result.stdout[-3000:]
    assert OUTSIDE_MESSAGE in said, result.stdout[-3000:]
    after = lab.state(HOST)
    assert after["lab"]["pending_reboot"] and after["lab"]["last_boot"] == before["lab"]["last_boot"]
    assert after["available_updates"] == before["available_updates"] and after["hotfixes"] == before["hotfixes"]
    assert reboot_commands(lab) == []  # win_reboot never ran


def test_inside_the_window_updates_install_and_the_host_reboots_over_winrm(lab):
    lab.run("lab", "clock", HOST, INSIDE.isoformat())
    before = lab.state(HOST)
    assert before["available_updates"], "the lab offers the next cumulative update"
    calls = len(lab.journal(HOST))
    result = lab.build(HOST, "-e", "mt_patching_install=true")
    assert recap(result.stdout)[HOST]["failed"] == 0
    assert "Updates not installed" not in result.stdout and "needs a reboot; not done now" not in result.stdout
    after = lab.state(HOST)
    update = before["available_updates"][0]
    assert after["available_updates"] == [] and update["id"] in {h["id"] for h in after["hotfixes"]}
    installed = next(h for h in after["hotfixes"] if h["id"] == update["id"])
    assert installed["installed_on"] == INSIDE.date().isoformat()  # the host's date, not the controller's

    # win_updates: start, poll until exit, cancel - each a module call through the endpoint
    operations = [e["args"].get("_operation") for e in lab.journal(HOST)[calls:] if e["module"].endswith("win_updates")]
    assert operations[0] == "start" and operations[-1] == "cancel" and "poll" in operations, operations
    # win_reboot: boot time, shutdown, boot time again until it changed, the LogonUI test
    commands = reboot_commands(lab)
    assert commands[0].startswith("(Get-CimInstance") and "shutdown.exe /r" in commands
    assert commands[-1].startswith("Get-Item -LiteralPath 'HKLM:")
    assert after["lab"]["pending_reboot"] is False and after["lab"]["reboots"] == 1
    booted = datetime.fromisoformat(after["lab"]["last_boot"])
    assert INSIDE <= booted < INSIDE + timedelta(minutes=10), booted  # on the host's clock

    facts = lab.facts(HOST)
    assert facts["os"]["ubr"] == update["ubr"]
    lab.run("lab", "scan", "--limit", HOST, "--no-history", "-q")  # still passes after the reboot


def test_a_feature_change_reboots_before_updates_inside_the_window(lab):
    """Removing SMB1 leaves a restart pending, and Windows Update refuses to install until it is done:
    inside the window the build restarts first, then installs the update."""
    lab.run("lab", "clock", HOST, INSIDE.isoformat())
    lab.run("lab", "drift", HOST, "smb1-enabled")
    before = lab.state(HOST)
    result = lab.build(HOST, "-e", "mt_patching_install=true")
    assert recap(result.stdout)[HOST]["failed"] == 0, result.stdout[-3000:]
    after = lab.state(HOST)
    update = before["available_updates"][0]
    assert after["available_updates"] == [] and update["id"] in {h["id"] for h in after["hotfixes"]}
    assert after["lab"]["pending_reboot"] is False and after["lab"]["reboots"] == 2  # SMB1, then the update


def test_smb1_off_is_verified_after_the_reboot_inside_the_window(lab):
    """Removing SMB1Protocol needs a restart: the handler reboots inside the window before the
    verification, which then sees SMBv1 gone and passes."""
    lab.run("lab", "clock", HOST, INSIDE.isoformat())
    lab.run("lab", "drift", HOST, "smb1-enabled")
    calls = len(lab.journal(HOST))
    result = lab.build(HOST)
    assert "VERIFICATION FAILED" not in result.stdout and "a reboot is pending" not in result.stdout
    entries = lab.journal(HOST)[calls:]
    feature = next(i for i, e in enumerate(entries) if e["module"] == "ansible.windows.win_optional_feature")
    shutdown = next(i for i, e in enumerate(entries) if "shutdown.exe /r" in str(e["args"].get("command")))
    collected = [i for i, e in enumerate(entries) if str(e["args"].get("script", "")).startswith(COLLECTOR_MARKER)]
    assert feature < shutdown < collected[-1]  # the verification collected after the reboot
    assert lab.state(HOST)["lab"]["reboots"] == 1
    facts = lab.facts(HOST)
    assert facts["optional_features"]["SMB1Protocol"] == "disabled" and not facts["smb"]["server_smb1"]


def test_lab_clock_rejects_a_bad_time(lab):
    result = lab.run("lab", "clock", HOST, "next tuesday", expect=2)
    assert "TIME 'next tuesday' is not an ISO date and time" in result.stderr
    assert "Traceback" not in result.stderr
