# Runs on the controller only, once per play: evaluates every host from its registered collection
# result with mt-eklient's evaluator, writes the reports and the history (mt_eklient.scanjob.report)
# and hands the job's summary to AWX as artefacts (set_stats). Makes no remote call.
from __future__ import annotations

DOCUMENTATION = r"""
---
module: mt_scan_report
short_description: Evaluate a fleet scan, write its reports and history (controller only)
description:
  - Reads each play host's registered collector result (the variable named by I(collected_var)), evaluates
    every catalog control, writes C(scan.json), C(scan.junit.xml) and C(scan.html) to I(report_dir) and
    stores the scan in the history. Removes the plan's work directory.
  - Returns C(exit_code) (as C(mtk scan)), C(counts), C(reports), C(history) (password redacted) and
    C(hosts) (host -> verdict and reason, redacted), and the same summary without C(hosts) as the
    aggregated custom stat C(mt_scan) (AWX job artefacts).
options:
  plan:
    description: The registered result of C(mt_scan_plan).
    type: dict
    required: true
  collected_var:
    description: Name of the variable the collect task registered on each host.
    type: str
    required: true
  timeout:
    description: The collect task's timeout in seconds (named in timeout reasons).
    type: int
    required: true
  warn_days:
    description: Warn this many days before the OS leaves support.
    type: int
    default: 180
  report_dir:
    description: Directory of the report files; default the runner's artefacts directory + C(mtk-scan).
    type: str
  history:
    description: SQLite file or postgresql:// URL; default C($MTK_HISTORY), else C(.mtk/history.sqlite).
    type: str
  no_history:
    description: Store nothing in the history.
    type: bool
    default: false
"""

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
            from mt_eklient import scanjob
            from mt_eklient.historydb import url_password
        except ImportError as err:
            raise AnsibleError(
                f"mt_scan_report needs the mt-eklient Python package ({err}): run Ansible from the project's "
                "virtual environment or its execution environment (docs/awx.md)") from err
        args = self._task.args
        hosts = scanjob.play_host_variables(task_vars)
        # Untemplated: a registered result is data, and the facts in it are large.
        collected = {name: task_vars["hostvars"].raw_get(name).get(args["collected_var"]) for name in hosts}
        job = task_vars.get("awx_job_id") or task_vars.get("tower_job_id")
        template = task_vars.get("awx_job_template_name") or task_vars.get("tower_job_template_name")
        scanner = f"awx job {job}" + (f" ({template})" if template else "") if job else None
        source = {"playbook": task_vars.get("ansible_play_name"), "limit": task_vars.get("ansible_limit"),
                  "inventory": [str(s) for s in task_vars.get("ansible_inventory_sources") or []],
                  "forks": task_vars.get("ansible_forks"), "timeout": int(args["timeout"])}
        if job:
            source["awx_job"] = {"id": job, "template": template}
        summary = scanjob.report(
            args["plan"], hosts, collected, timeout=int(args["timeout"]), warn_days=int(args.get("warn_days", 180)),
            report_dir=args.get("report_dir") or None, history=args.get("history") or None,
            no_history=boolean(args.get("no_history", False)), scanner=scanner, source=source)
        counts = summary["counts"]
        result.update(summary, changed=False,
                      msg=(f"{summary['hosts_total']} host(s): {counts['pass']} pass, {counts['fail']} fail, "
                           f"{counts['error']} error, {counts['unreachable']} unreachable; reports in "
                           f"{summary['reports']['json'].rsplit('/', 1)[0]}"))
        warnings = []
        if url_password(args.get("history") or ""):
            warnings.append("mt_scan_history carries a password, which AWX keeps and shows with the job's variables: "
                            "give it through PGPASSWORD or PGPASSFILE instead (docs/awx.md)")
        if summary.get("history_error"):
            warnings.append(f"scan not stored in the history: {summary['history_error']}")
        if warnings:
            result["warnings"] = warnings
        stats = {k: v for k, v in summary.items() if k != "hosts"}
        result["ansible_stats"] = {"data": {"mt_scan": stats}, "per_host": False, "aggregate": True}
        return result
