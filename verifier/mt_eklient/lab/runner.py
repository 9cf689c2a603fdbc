"""One module call against a lab host: what every stand-in shares.

Order of events, as on a real host: the connection (an unreachable host fails before anything
else), argument validation against the real module's spec, check-mode support, the stand-in
itself (on a throw-away copy in check mode), then the journal line. A call that leaves the host
without a way in for WinRM (firewall, WinRM service) still returns - the open connection carries
the answer - but every later call finds the host unreachable, as a real lock-out does.
"""

from __future__ import annotations

import copy
import os
import time
from datetime import UTC, datetime
from typing import Any

from . import store
from .argspec import ArgSpecError, mask, validate
from .fwmodel import winrm_reachable
from .realspec import load_spec
from .standins import Ctx, ModuleFailure, registry


def latency() -> float:
    try:
        return max(0.0, float(os.environ.get("MTK_LAB_LATENCY", "0") or 0))
    except ValueError:
        return 0.0


def _script_summary(args: dict[str, Any]) -> dict[str, Any]:
    """Journal win_powershell scripts by their marker line, not their whole text."""
    script = args.get("script")
    if not isinstance(script, str):
        return args
    first = next((line.strip() for line in script.splitlines() if line.strip()), "")
    return dict(args, script=f"{first} ({len(script)} chars)")


def unreachable_result(host: str, reason: str) -> dict[str, Any]:
    return {"unreachable": True, "changed": False,
            "msg": f"winrm connection error (simulated lab): HTTPConnectionPool(host='{host}', port=5985): "
                   f"Max retries exceeded with url: /wsman (Caused by ConnectTimeoutError: connection timed out"
                   f"{'; ' + reason if reason else ''})"}


def run_standin(module: str, host: str, args: dict[str, Any], check_mode: bool = False,
                diff: bool = False, delay: bool = True) -> dict[str, Any]:
    """One module call; `delay=False` when the WinRM endpoint models latency itself (per Receive)."""
    started = time.monotonic()
    pause = latency() if delay else 0.0
    if pause:
        time.sleep(pause)  # outside the lock: parallel forks overlap like real hosts
    try:
        spec = load_spec(module)
    except LookupError as err:
        return {"failed": True, "msg": f"simulated lab: {err}"}
    masked = _script_summary(mask(spec, args))
    try:
        with store.transaction(host) as txn:
            state = txn.state
            entry: dict[str, Any] = {"ts": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "module": module,
                                     "args": masked, "check_mode": check_mode, "changed": False, "applied": 0}
            result = _call(module, host, state, args, spec, check_mode, diff, txn)
            background = bool(result.pop("_background", False))
            entry.update(changed=bool(result.get("changed")) or background, failed=bool(result.get("failed")),
                         unreachable=bool(result.get("unreachable")), applied=result.pop("_applied", 0),
                         duration_ms=round((time.monotonic() - started) * 1000, 1))
            if result.get("failed"):
                entry["msg"] = result.get("msg")
            store.append_journal(host, entry)
    except store.LabNotUp as err:
        return {"failed": True, "msg": str(err)}
    if not result.get("unreachable"):
        result["invocation"] = {"module_args": mask(spec, args)}
    return result


def _call(module: str, host: str, state: dict[str, Any], args: dict[str, Any], spec: Any, check_mode: bool,
          diff: bool, txn: store.Transaction) -> dict[str, Any]:
    lab = state["lab"]
    if not lab.get("reachable", True):
        return unreachable_result(host, lab.get("unreachable_reason", ""))
    try:
        params = validate(spec, args)
    except ArgSpecError as err:
        return {"failed": True, "msg": str(err)}
    if check_mode and not spec.supports_check_mode:
        return {"skipped": True, "changed": False,
                "msg": f"remote module ({module.rsplit('.', 1)[-1]}) does not support check mode"}
    ctx = Ctx(host=host, check_mode=check_mode, diff=diff)
    target = copy.deepcopy(state) if check_mode else state
    txn.commit = not check_mode
    try:
        result = registry()[module](target, params, ctx)
    except ModuleFailure as err:
        txn.commit = False  # a failed module may leave half-done work on Windows; the lab keeps none
        return dict(err.result, failed=True, msg=err.msg)
    if result.get("failed"):  # e.g. an applier script that threw: nothing it did is kept
        txn.commit = False
        return result
    if ctx.warnings:
        result["warnings"] = list(ctx.warnings)
    if not diff:
        result.pop("diff", None)
    if not check_mode:
        if txn.modified and not (result.get("changed") or result.get("_background")):
            raise RuntimeError(f"lab stand-in {module} changed the state but reported changed=false")
        result["_applied"] = ctx.applied if txn.modified else 0
        # Only a change can cut the connection: a read-only call (the collector) never locks a host out,
        # even one the firewall model cannot explain reaching (a vendor-configured M computer).
        if txn.modified:
            reachable, reason = winrm_reachable(state)
            if not reachable:
                lab["reachable"] = False
                lab["unreachable_reason"] = f"locked out by the last change: {reason}"
    return result
