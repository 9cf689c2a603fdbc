"""Reboots of a lab host over WinRM, as ansible.windows' reboot helper drives them
(plugin_utils/_reboot.py, used by win_reboot and by win_updates with reboot=true). It runs raw
PowerShell, not a module, so the endpoint recognises its four commands exactly and runs nothing else
(the lab executes no PowerShell):

| command | the lab host |
|---|---|
| `(Get-CimInstance ... Win32_OperatingSystem ...).LastBootUpTime.ToFileTime()` | prints `lab.last_boot` as a FILETIME |
| the reboot script: `shutdown.exe /r /t N /c MSG` (+ removing the LogonUI key) | goes down N s later for DOWN_SECONDS (connection refused), then boots: new boot time, pending reboot cleared, LogonUI key back |
| `shutdown.exe /a` | aborts a reboot not yet begun (1116 when there is none) |
| `Get-Item -LiteralPath '...AutoLogonChecked' -ErrorAction Stop; 'success-...'` | succeeds once LogonUI has run after the boot |

A second `shutdown.exe /r` before the first took effect fails with 1190, as on Windows
(https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/shutdown). The
reboot is kept in the state (`lab.reboot`); the boot completes when the host is next used after
`up` (settle), so no process has to stay awake for it.
"""

from __future__ import annotations

import base64
import re
import time
from datetime import UTC, datetime
from typing import Any

from . import clock, store
from .registry import Registry
from .standins.features import complete_pending
from .wsman import CommandResult

DOWN_SECONDS = 1.0  # a lab host boots fast: it refuses connections this long after going down
LOGON_UI_KEY = r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\AutoLogonChecked"
_PS_KEY = LOGON_UI_KEY.replace("HKLM\\", "HKLM:\\", 1)
BOOT_TIME_COMMAND = ("(Get-CimInstance -ClassName Win32_OperatingSystem -Property LastBootUpTime)"
                     ".LastBootUpTime.ToFileTime()")
_QUOTED = r"'(?:[^']|'')*'"  # quote_pwsh: single quotes, embedded quotes doubled
REBOOT_SCRIPT = re.compile(
    r"\$ErrorActionPreference = 'Continue'\n"
    r"if \(\$(?P<clear>True|False)\) \{\n"
    + re.escape(f"Remove-Item -LiteralPath '{_PS_KEY}' -Force -ErrorAction SilentlyContinue") + r"\n"
    r"\}\n"
    r"\$stdout = \$null\n"
    r"\$stderr = \. \{ shutdown\.exe /r /t (?P<delay>\d+) /c (?P<msg>" + _QUOTED + r"|\S+) \| Set-Variable stdout \} "
    r"2>&1 \| ForEach-Object ToString\n"
    r"ConvertTo-Json -Compress -InputObject @\{\n"
    r"stdout = \(@\(\$stdout\) -join \"`n\"\)\n"
    r"stderr = \(@\(\$stderr\) -join \"`n\"\)\n"
    r"rc = \$LASTEXITCODE\n"
    r"\}\Z")
TEST_COMMAND = re.compile(re.escape(f"Get-Item -LiteralPath '{_PS_KEY}' -ErrorAction Stop; ")
                          + r"'(?P<marker>success-[0-9a-f-]{36})'\Z")
ABORT_COMMAND = "shutdown.exe /a"
# Ansible's powershell shell plugin (_encode_script) wraps a script in these lines.
_STRICT = "Set-StrictMode -Version Latest"
_PRESERVE_RC = "If (-not $?) { If (Get-Variable LASTEXITCODE -ErrorAction SilentlyContinue) { exit $LASTEXITCODE } Else { exit 1 } }"
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


def decode_powershell(line: str, args: list[str]) -> str | None:
    """The script of `PowerShell ... -EncodedCommand B64`, unwrapping nested encodings (Ansible's winrm
    plugin encodes the already encoded command once more) and the shell plugin's wrapper lines."""
    script = None
    command = " ".join([line, *args]).split()  # pywinrm sends the arguments as one string
    while command and command[0].lower() in ("powershell", "powershell.exe"):
        lowered = [word.lower() for word in command]
        if "-encodedcommand" not in lowered[:-1]:
            return None
        try:
            script = base64.b64decode(command[lowered.index("-encodedcommand") + 1], validate=True).decode("utf-16-le")
        except (ValueError, UnicodeDecodeError):
            return None
        command = script.split()
    if script is None:
        return None
    lines = [s.strip() for s in script.splitlines() if s.strip()]
    if lines and lines[0] == _STRICT:
        lines = lines[1:]
    if lines and lines[-1] == _PRESERVE_RC:
        lines = lines[:-1]
    return "\n".join(lines)


def is_down(lab: dict[str, Any], wall: float | None = None) -> bool:
    """Whether the host is between going down and coming back up."""
    reboot = lab.get("reboot")
    wall = time.time() if wall is None else wall
    return bool(reboot) and reboot["down_at"] <= wall < reboot["up_at"]


def settle(state: dict[str, Any], wall: float | None = None) -> bool:
    """Complete a reboot whose boot is over: new boot time, no pending reboot, LogonUI has run."""
    lab = state["lab"]
    reboot = lab.get("reboot")
    wall = time.time() if wall is None else wall
    if not reboot or wall < reboot["up_at"]:
        return False
    lab["last_boot"] = clock.at(state, reboot["up_at"]).strftime("%Y-%m-%dT%H:%M:%SZ")
    lab["pending_reboot"] = False
    lab["reboots"] = int(lab.get("reboots") or 0) + 1
    del lab["reboot"]
    Registry(state["registry"]).create_key(LOGON_UI_KEY)
    complete_pending(state)
    return True


def filetime(state: dict[str, Any]) -> int:
    """The boot time as DateTime.ToFileTime() prints it: 100 ns ticks since 1601-01-01 UTC."""
    boot = datetime.strptime(state["lab"]["last_boot"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return int((boot - _FILETIME_EPOCH).total_seconds()) * 10_000_000


def _shutdown_result(stdout: str, stderr: str, rc: int) -> CommandResult:
    import json

    return CommandResult(json.dumps({"stdout": stdout, "stderr": stderr, "rc": rc}).encode() + b"\r\n")


def _run(state: dict[str, Any], script: str, wall: float) -> tuple[CommandResult, bool] | None:
    """(result, changed) of a reboot-helper command, or None for any other script."""
    lab = state["lab"]
    if script == BOOT_TIME_COMMAND:
        return CommandResult(f"{filetime(state)}\r\n".encode()), False
    match = REBOOT_SCRIPT.fullmatch(script)
    if match:
        if lab.get("reboot"):
            return _shutdown_result("", "A system shutdown has already been scheduled.(1190)", 1190), False
        if match["clear"] == "True":
            Registry(state["registry"]).delete_key(LOGON_UI_KEY)
        down_at = wall + int(match["delay"])
        lab["reboot"] = {"down_at": down_at, "up_at": down_at + DOWN_SECONDS,
                         "message": match["msg"].strip("'").replace("''", "'")}
        return _shutdown_result("", "", 0), True
    if script == ABORT_COMMAND:
        if not lab.get("reboot") or wall >= lab["reboot"]["down_at"]:
            return CommandResult(b"", b"Unable to abort the system shutdown because no shutdown was in progress."
                                 b"(1116)\r\n", 1116), False
        del lab["reboot"]
        return CommandResult(b""), True
    match = TEST_COMMAND.fullmatch(script)
    if match:
        if not Registry(state["registry"]).key_exists(LOGON_UI_KEY):
            return CommandResult(b"", f"Get-Item : Cannot find path '{_PS_KEY}' because it does not exist.\r\n"
                                 .encode(), 1), False
        return CommandResult(f"AutoLogonChecked\r\n{match['marker']}\r\n".encode()), False
    return None


def run(host: str, script: str) -> CommandResult | None:
    """Run one reboot-helper command on `host` (journalled like a module call); None if `script` is
    not one of them."""
    wall = time.time()
    with store.transaction(host) as txn:
        settle(txn.state, wall)
        outcome = _run(txn.state, script, wall)
        if outcome is None:
            txn.commit = False
            return None
        result, changed = outcome
        summary = script.splitlines()[0] if not REBOOT_SCRIPT.fullmatch(script) else "shutdown.exe /r"
        store.append_journal(host, {"ts": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "module": "command",
                                    "args": {"command": summary[:120]}, "check_mode": False, "changed": changed,
                                    "applied": int(changed), "failed": result.rc != 0})
    return result
