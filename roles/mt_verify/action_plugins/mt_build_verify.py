# Runs on the controller only: evaluates the post-build collection with the verifier, writes the
# host's scan reports and says whether every control passes. Makes no remote call.
from __future__ import annotations

DOCUMENTATION = r"""
---
module: mt_build_verify
short_description: Verify a built host with the verifier and write its report (controller only)
description:
  - Evaluates every control of the host's baseline (resolved again from C(mt_build.resolved_with)) against
    the facts of the verification collection, with C(mt_eklient.buildverify.verify).
  - Writes C(<host>.json) and C(<host>.html) into I(report_dir), the same reports as C(mtk scan).
  - Returns C(verified), C(failing) (each failing control, its status, message and whether the build sets it),
    C(reports), C(msg) naming every failing control, and C(nameplate_removal) (the registry applier's changes
    that take back a nameplate this run wrote). Does not fail itself, so the role can take the nameplate back.
options:
  facts:
    description: The verification collector's facts document (dict, JSON string, or the output list).
    type: raw
    required: true
  report_dir:
    description: Directory of the reports; empty means the runner's artefacts directory + C(mtk-build) under
      AWX / ansible-runner, else C(reports/build).
    type: str
"""

import json
from datetime import date

from ansible.errors import AnsibleError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        try:
            from mt_eklient.buildverify import verify
        except ImportError as err:
            raise AnsibleError(f"mt_build_verify needs the mt-eklient Python package ({err})") from err
        name = task_vars.get("inventory_hostname", "?")
        plan = self._templar.template(task_vars.get("mt_build"))
        if not isinstance(plan, dict) or "resolved_with" not in plan:
            raise AnsibleError("mt_build_verify: no plan in mt_build (run mt_preflight first)")
        facts = self._task.args.get("facts")
        if isinstance(facts, list):
            facts = facts[0] if facts else None
        if isinstance(facts, str):
            try:
                facts = json.loads(facts)
            except ValueError:
                facts = None
        resolved = plan["resolved_with"]
        outcome = verify(name, resolved["hostvars"], date.fromisoformat(resolved["today"]), facts,
                         self._task.args.get("report_dir") or None, resolved["profiles_dir"],
                         resolved.get("sites_dir"))
        written = ((plan.get("apply") or {}).get("nameplate") or {}).get("Changes") or []
        removal = [{"item": c["item"], "before": c["after"], "after": None, "key": c["key"], "name": c["name"],
                    "remove": True} for c in written]
        message = outcome.message()
        rebooted = bool(plan.get("in_maintenance_window")) and boolean(self._templar.template(task_vars.get("mtk_build_reboot", True)))
        failing = {f["control"] for f in outcome.failing}
        waiting = sorted(set(plan.get("reboot_controls") or ()) & failing)
        if not outcome.ok and plan.get("needs_reboot") and not rebooted:
            message += (f"; a reboot is pending{' for ' + ', '.join(waiting) if waiting else ''} (outside the "
                        "maintenance window, or mtk_build_reboot is false): changes that need it take effect "
                        "after it - rebuild after the reboot")
        result.update(changed=False, verified=outcome.ok, verdict=outcome.verdict, failing=outcome.failing,
                      reports=outcome.reports, msg=message, nameplate_removal={"Changes": removal})
        return result
