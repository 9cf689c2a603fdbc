# Runs on the controller only: turns the host's evaluated verdict (from mt_scan_report) into the
# task's outcome, so the job's result says what `mtk scan`'s exit code says. Makes no remote call.
from __future__ import annotations

DOCUMENTATION = r"""
---
module: mt_scan_verdict
short_description: Pass, fail or mark unreachable a host as its scan verdict says (controller only)
description:
  - C(pass) is ok. C(fail) (a control failed or could not be read) and C(error) (the host could not be
    evaluated) fail the host. C(unreachable) makes the host unreachable, as a connection failure does.
  - The message names the failing controls or the (redacted) reason.
options:
  result_var:
    description: Name of the variable C(mt_scan_report) registered.
    type: str
    required: true
"""

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        host = task_vars.get("inventory_hostname")
        report = task_vars.get(self._task.args["result_var"]) or {}
        entry = (report.get("hosts") or {}).get(host)
        result["changed"] = False
        if entry is None:
            result.update(failed=True, verdict="error", msg=f"{host}: the scan report has no verdict for this host")
            return result
        verdict, reason = entry.get("verdict"), entry.get("reason")
        result.update(verdict=verdict, msg=f"{verdict}: {reason}")
        if verdict == "unreachable":
            result["unreachable"] = True
        elif verdict != "pass":
            result["failed"] = True
        return result
