# Runs on the controller only, once per play: resolves every host's baseline with mt-eklient's
# resolver and writes its collection request (mt_eklient.scanjob.plan). Makes no remote call.
from __future__ import annotations

DOCUMENTATION = r"""
---
module: mt_scan_plan
short_description: Plan a fleet scan - baselines and collection requests of the play's hosts (controller only)
description:
  - Reads C(mt_class), C(mt_profile), C(mt_zones) and C(mt_wsus_target_group) of every host of the play,
    resolves each baseline with C(mt_eklient.scan.plan_hosts) and writes the host's collection request
    into a private work directory.
  - Returns C(work_dir), C(request_dir), C(collector) (path of the read-only collector) and C(unresolved)
    (host -> why its variables or profile did not resolve; such hosts are not contacted).
  - Use with C(run_once); the C(mt_scan_report) step removes the work directory.
options:
  profiles_dir:
    description: Directory of device profiles; default C(profiles/) beside the playbook directory.
    type: str
  today:
    description: Resolve as of this date (YYYY-MM-DD), for tests; default today.
    type: str
"""

import os
from datetime import date

from ansible.errors import AnsibleError
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
            from mt_eklient import scanjob
        except ImportError as err:
            raise AnsibleError(
                f"mt_scan_plan needs the mt-eklient Python package ({err}): run Ansible from the project's virtual "
                "environment or its execution environment (docs/awx.md)") from err
        args = self._task.args
        profiles_dir = args.get("profiles_dir") or None
        if profiles_dir is None and task_vars.get("playbook_dir"):
            beside = os.path.normpath(os.path.join(str(task_vars["playbook_dir"]), os.pardir, "profiles"))
            profiles_dir = beside if os.path.isdir(beside) else None
        today = date.fromisoformat(args["today"]) if args.get("today") else None
        planned = scanjob.plan(scanjob.play_host_variables(task_vars), today=today, profiles_dir=profiles_dir)
        unresolved = len(planned["unresolved"])
        result.update(planned, changed=False,
                      msg=f"{planned['hosts']} host(s) planned" + (f", {unresolved} not resolved" if unresolved else ""))
        return result
