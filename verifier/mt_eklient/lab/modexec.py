"""What a lab WinRM endpoint does with a command: run the Ansible module or collector it carries
against the lab's stand-ins (runner.run_standin), so journal, argument checks and drift behave as
in the in-process lab.

Two payloads arrive on stdin:
- Ansible's module payload (ansible-core 2.18, executor/powershell/module_manifest.py): the exec
  wrapper, four NUL bytes, then a JSON manifest whose `module_args` hold the task's arguments
  and `_ansible_module_name`/`_ansible_check_mode`/`_ansible_diff`. The result is the module's
  JSON on stdout, as the exec wrapper prints it.
- The testinfra `winrm://` bootstrap (testinfra_plugin.WINRM_BOOTSTRAP): JSON `{script, request}`;
  the collector's facts document is stdout.

A raw command (no stdin) is one of the reboot helper's (reboots.py: boot time, shutdown.exe, the
LogonUI test); anything else fails with exit 1, as an unknown program would: the lab runs no
PowerShell. Latency (MTK_LAB_LATENCY) is slept per Receive by the endpoint, not here. ansible-core 2.19 changed the payload (a bootstrap manifest with `module_entry`
inside named scripts); it is refused with a message naming the version, not misread.
"""

from __future__ import annotations

import json
from typing import Any

from . import reboots, store
from .runner import run_standin
from .wsman import CommandResult

SEPARATOR = b"\0\0\0\0"
COLLECTOR_MARKER = "# mtk-collector"
POWERSHELL = "ansible.windows.win_powershell"


class PayloadError(ValueError):
    """stdin is not a payload the lab understands."""


def parse_module_payload(stdin: bytes) -> tuple[str, dict[str, Any], bool, bool]:
    """(module FQCN, arguments, check mode, diff) of an ansible-core 2.18 module payload."""
    _, sep, manifest_bytes = stdin.partition(SEPARATOR)
    if not sep:
        raise PayloadError("no Ansible module manifest on stdin (exec wrapper and manifest are separated by "
                           "four NUL bytes in ansible-core 2.18)")
    try:
        manifest = json.loads(manifest_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PayloadError(f"the module manifest is not JSON: {err}") from None
    args = manifest.get("module_args") if isinstance(manifest, dict) else None
    if not isinstance(args, dict) or "_ansible_module_name" not in args:
        keys = sorted(manifest) if isinstance(manifest, dict) else type(manifest).__name__
        raise PayloadError(f"module manifest without module_args._ansible_module_name (keys: {keys}); this lab "
                           "reads the ansible-core 2.18 format (pyproject.toml pins ansible-core <2.19)")
    module = str(args["_ansible_module_name"])
    if "." not in module:  # short names resolve to ansible.windows in the roles' collections keyword
        module = f"ansible.windows.{module}"
    params = {k: v for k, v in args.items() if not k.startswith("_ansible_")}
    return module, params, bool(args.get("_ansible_check_mode")), bool(args.get("_ansible_diff"))


def _collector_payload(stdin: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(stdin.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if isinstance(payload, dict) and str(payload.get("script", "")).lstrip().startswith(COLLECTOR_MARKER):
        return payload
    return None


def _settle(host: str) -> None:
    """Finish a reboot whose boot is over before the host answers anything (reboots.py)."""
    with store.transaction(host) as txn:
        reboots.settle(txn.state)


def run_command(host: str, line: str, args: list[str], stdin: bytes) -> CommandResult:
    try:
        _settle(host)
    except store.LabNotUp:
        pass  # what runs next says so
    if not stdin:  # a raw command: only the reboot helper's are known (the lab runs no PowerShell)
        script = reboots.decode_powershell(line, args)
        try:
            result = reboots.run(host, script) if script is not None else None
        except store.LabNotUp as err:
            return CommandResult(b"", f"{err}\r\n".encode(), 1)
        if result is not None:
            return result
    collector = _collector_payload(stdin) if stdin and SEPARATOR not in stdin else None
    if collector is not None:
        result = run_standin(POWERSHELL, host, {"script": collector["script"],
                                                "parameters": {"Request": collector.get("request")}}, delay=False)
        if result.get("failed") or result.get("unreachable"):
            return CommandResult(b"", f"{result.get('msg', 'collector failed')}\r\n".encode(), 1)
        return CommandResult("\r\n".join(str(o) for o in result.get("output") or []).encode("utf-8") + b"\r\n")
    try:
        module, params, check_mode, diff = parse_module_payload(stdin)
    except PayloadError as err:
        program = " ".join([line, *args])[:120]
        return CommandResult(b"", f"simulated lab: cannot run {program!r}: {err}\r\n".encode(), 1)
    result = run_standin(module, host, params, check_mode=check_mode, diff=diff, delay=False)
    return CommandResult(json.dumps(result).encode("utf-8"), b"", 1 if result.get("failed") else 0)
