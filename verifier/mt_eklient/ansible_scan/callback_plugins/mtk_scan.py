# Internal to `mtk scan`: stream each host's outcome as one JSON line.
from __future__ import annotations

DOCUMENTATION = """
    name: mtk_scan
    type: stdout
    short_description: one JSON line per host outcome for mt-eklient's fleet scan
    description:
      - Writes nothing to the terminal. For every host it appends one line to the file named by the
        MTK_SCAN_EVENTS environment variable, flushed at once so the scan can read it as it arrives
      - >-
        Lines hold the outcome (ok, failed, unreachable, skipped), the duration and, for win_powershell,
        its output/result/error fields and the message. Never the task arguments or host variables.
"""

import contextlib
import json
import os
import time

from ansible.plugins.callback import CallbackBase

# Fields of a win_powershell result the scan needs; everything else (invocation = module args,
# host_out, ...) stays out of the file.
_KEEP = ("output", "result", "error", "msg", "timedout", "exception", "rc", "stderr", "stdout")


def _jsonable(value, depth=0):
    if depth > 64:
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, depth + 1) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


def _preload_collector_action():
    """Import the collector task's action plugin here, in the process that forks a worker per host:
    a plugin the parent never imported is imported again by every worker (tens of ms per host)."""
    from ansible.plugins.loader import action_loader

    with contextlib.suppress(Exception):  # only an optimisation: the workers then import it themselves
        action_loader.get("ansible.windows.win_powershell", class_only=True)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "mtk_scan"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._started = {}
        path = os.environ.get("MTK_SCAN_EVENTS")
        self._out = open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115 - open for the run

    def _emit(self, event):
        if self._out is None:
            return
        self._out.write(json.dumps(event, sort_keys=True, default=str) + "\n")
        self._out.flush()

    def _host_event(self, status, result):
        host = result._host.get_name()
        started = self._started.pop(host, None)
        raw = result._result or {}
        event = {
            "event": "host",
            "host": host,
            "status": status,
            "duration": round(time.monotonic() - started, 3) if started is not None else None,
            "result": {k: _jsonable(raw[k]) for k in _KEEP if k in raw},
        }
        self._emit(event)

    def v2_playbook_on_start(self, playbook):
        self._emit({"event": "start", "pid": os.getpid()})
        _preload_collector_action()

    def v2_runner_on_start(self, host, task):
        self._started[host.get_name()] = time.monotonic()

    def v2_runner_on_ok(self, result):
        self._host_event("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._host_event("failed", result)

    def v2_runner_on_unreachable(self, result):
        self._host_event("unreachable", result)

    def v2_runner_on_skipped(self, result):
        self._host_event("skipped", result)

    def v2_playbook_on_no_hosts_matched(self):
        self._emit({"event": "no_hosts"})

    def v2_playbook_on_stats(self, stats):
        self._emit({"event": "done"})
