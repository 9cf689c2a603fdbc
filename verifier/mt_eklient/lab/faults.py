"""Network faults of a lab host's WinRM endpoint, set with `mtk lab drift HOST KIND` and cleared by
`mtk lab reset HOST`. They live in the host state (`lab.winrm_fault`), so every listener process
sees them on its next request; the in-process lab (no network) ignores them.

| kind | what the controller meets |
|---|---|
| winrm-refused | nothing listens: TCP connection refused |
| winrm-bad-password | every authentication answered 401, as after a password change on the host |
| winrm-cert-mismatch | the HTTPS certificate names another host (validation on: handshake fails) |
| winrm-slow | each Receive answers only after `--delay` seconds |
| winrm-reset | the TCP connection is reset when the command's output is asked for |
| winrm-soap-fault | opening a shell fails with a WS-Management SOAP fault (wsman:QuotaLimit, MaxShellsPerUser) |
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Any

from . import paths

REFUSED = "winrm-refused"
BAD_PASSWORD = "winrm-bad-password"
CERT_MISMATCH = "winrm-cert-mismatch"
SLOW = "winrm-slow"
RESET = "winrm-reset"
SOAP_FAULT = "winrm-soap-fault"
UNREACHABLE = "unreachable"  # the lab's lock-out (drift kind `unreachable`, or a build that cut WinRM)
REBOOTING = "rebooting"  # between shutdown and boot (reboots.py): nothing listens
CLOSED = (REFUSED, UNREACHABLE, REBOOTING)  # kinds whose listeners are closed
DEFAULT_DELAY = 5.0

KINDS: dict[str, str] = {
    REFUSED: "close the WinRM listener (connection refused)",
    BAD_PASSWORD: "reject every WinRM logon with 401 (the account's password changed)",
    CERT_MISMATCH: "serve an HTTPS certificate issued to another name",
    SLOW: "answer each WinRM Receive after --delay seconds (default 5)",
    RESET: "reset the TCP connection when a command's output is read",
    SOAP_FAULT: "answer shell creation with a WS-Management SOAP fault (shell quota exceeded)",
}
# The wsman:QuotaLimit fault of a Create beyond winrm/config/winrs/MaxShellsPerUser ([MS-WSMV]
# 3.1.4.5.2.1, its message text); the code is the lab's stand-in for the WSManFault detail code.
SOAP_FAULT_CODE = 2150859173
SOAP_FAULT_MESSAGE = ("The Windows Remote Shell cannot process the request. The server is already executing the maximum "
                      "number of concurrent shells a user can remotely open on the same system. Retry later.")


@dataclass(frozen=True)
class Condition:
    kind: str | None = None
    delay: float = 0.0


def set_fault(state: dict[str, Any], kind: str, delay: float | None = None) -> str:
    fault = {"kind": kind}
    if kind == SLOW:
        fault["delay"] = DEFAULT_DELAY if delay is None else max(0.0, float(delay))
    if state["lab"].get("winrm_fault") == fault:
        return ""
    state["lab"]["winrm_fault"] = fault
    extra = f" ({fault['delay']:g} s per Receive)" if kind == SLOW else ""
    return f"WinRM endpoint fault: {KINDS[kind]}{extra}"


# host -> ((mtime, size) of its state file, (fault, reachable, reboot) read from it)
_cache: dict[str, tuple[tuple[int, int], tuple[dict[str, Any], bool, dict[str, Any] | None]]] = {}


def current(host: str) -> Condition:
    """The host's fault now (the state is re-read only when its file changed). No state: refused. A
    host rebooting (reboots.py) is down: refused, like a host whose listener is gone."""
    path = paths.state_path(host)
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return Condition(REFUSED)
    key = (stat.st_mtime_ns, stat.st_size)
    cached = _cache.get(host)
    if not cached or cached[0] != key:
        try:
            lab = json.loads(path.read_text(encoding="utf-8"))["lab"]
        except (OSError, ValueError, KeyError):
            lab = None
        if lab is not None:
            cached = (key, (lab.get("winrm_fault") or {}, bool(lab.get("reachable", True)), lab.get("reboot")))
            _cache[host] = cached
        elif not cached:
            return Condition()
    fault, reachable, reboot = cached[1]
    if not reachable:
        return Condition(UNREACHABLE)
    if reboot and reboot["down_at"] <= time.time() < reboot["up_at"]:
        return Condition(REBOOTING)
    return Condition(fault.get("kind"), float(fault.get("delay") or 0))
