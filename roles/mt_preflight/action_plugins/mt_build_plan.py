# Runs on the controller only: resolves this host's baseline with mt-eklient's Python resolver and
# turns it into the inputs of the build's appliers. Makes no remote call.
from __future__ import annotations

DOCUMENTATION = r"""
---
module: mt_build_plan
short_description: Resolve a WM client's baseline and build plan (controller only)
description:
  - Reads the host's C(mt_class), C(mt_profile), C(mt_site), C(mt_zones) and C(mt_wsus_target_group)
    variables, resolves the baseline with C(mt_eklient.hosts.resolve_host) and builds the applier inputs with
    C(mt_eklient.buildplan.build_plan).
  - Fails, naming the file and field, when the profile or the host variables are invalid, and
    refuses hosts whose class may not be built (M computers, W clients, class/profile mismatch) or
    whose profile is a draft (not approved by MT engineering, or with fields still to fill in).
  - Sets the fact C(mt_build) (the plan) and C(mt_build_collector) (path of the read-only collector).
options:
  profiles_dir:
    description: Directory of device profiles; default C(profiles/) beside the playbook directory, else the package's repository.
    type: str
  sites_dir:
    description: Directory of site configurations; default C(sites/) beside the playbook directory, else the package's repository.
    type: str
  today:
    description: Resolve as of this date (YYYY-MM-DD), for tests; default today.
    type: str
"""

import os
import traceback
from datetime import date

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

HOST_VARS = ("mt_class", "mt_profile", "mt_site", "mt_zones", "mt_wsus_target_group")


def _beside(task_vars, directory):
    """`directory` beside the playbook directory (profiles/, sites/), else None (the package's)."""
    if not task_vars.get("playbook_dir"):
        return None
    beside = os.path.normpath(os.path.join(str(task_vars["playbook_dir"]), os.pardir, directory))
    return beside if os.path.isdir(beside) else None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args
        try:
            from importlib import resources

            from mt_eklient.buildplan import BuildPlanError, build_plan, class_refusal
            from mt_eklient.collection import collection_request
            from mt_eklient.drafts import draft_refusal
            from mt_eklient.errors import InputError
            from mt_eklient.hosts import HostResolver
        except ImportError as err:
            raise AnsibleError(
                f"mt_build_plan needs the mt-eklient Python package ({err}): run ansible from the project's "
                "virtual environment (make venv; .venv/bin/ansible-playbook ...)") from err

        name = task_vars.get("inventory_hostname", "?")
        hostvars = {}
        for var in HOST_VARS:
            if var in task_vars:
                hostvars[var] = self._templar.template(task_vars[var])
        today = date.fromisoformat(args["today"]) if args.get("today") else date.today()
        profiles_dir = args.get("profiles_dir") or _beside(task_vars, "profiles")
        sites_dir = args.get("sites_dir") or _beside(task_vars, "sites")
        try:
            resolver = HostResolver(today, profiles_dir, sites_dir=sites_dir)
            loaded, baseline = resolver(name, hostvars)
            refusal = class_refusal(baseline)
            if refusal:
                result.update(failed=True, refused=True, msg=f"REFUSED {name}: {refusal.reason}")
                return result
            draft = draft_refusal(loaded.profile.id, loaded.source, loaded.draft, len(loaded.fill_ins))
            if draft:
                result.update(failed=True, refused=True, msg=f"REFUSED {name}: {draft}")
                return result
            plan = build_plan(baseline, loaded, resolver.context(name, hostvars))
            # The preflight's one collector call reads everything the change set needs, as mtk scan does.
            plan["collection_request"] = collection_request(
                baseline, [a.model_dump(mode="json") for a in loaded.profile.applications])
            # mt_build_preflight resolves the same baseline again to compute the change set.
            plan["resolved_with"] = {"hostvars": hostvars, "today": today.isoformat(), "profiles_dir": profiles_dir,
                                     "sites_dir": sites_dir}
        except InputError as err:
            lines = [str(p) for p in err.problems]
            result.update(failed=True, refused=True, problems=lines,
                          msg=f"REFUSED {name}: invalid input: " + "; ".join(lines))
            return result
        except BuildPlanError as err:
            result.update(failed=True, refused=True, msg=f"REFUSED {name}: {err}")
            return result
        except Exception as err:  # noqa: BLE001 - a catalog bug: fail this host only, with the traceback
            result.update(failed=True, msg=f"mt_build_plan failed for {name}: {err}", exception=traceback.format_exc())
            return result

        collector = resources.files("mt_eklient").joinpath("collector", "collect.ps1")
        result.update(
            changed=False,
            ansible_facts={"mt_build": plan, "mt_build_collector": str(collector)},
            msg=plan["summary"],
        )
        return result
