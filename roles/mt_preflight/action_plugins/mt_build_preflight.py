# Runs on the controller only: completes the build plan with the host's identity (from the one
# read-only collector run) and refuses hosts the build must not touch. Makes no remote call.
from __future__ import annotations

DOCUMENTATION = r"""
---
module: mt_build_preflight
short_description: Check the host's OS and complete the build plan (controller only)
description:
  - Takes the facts document of the read-only collector and the plan in C(mt_build).
  - Refuses a change set that would remove the connected account (C(ansible_user)), the site's scan or
    build account or its IT admin group from local Administrators, unless the site sets
    C(accounts.allow_admin_removal) (docs/accounts.md).
  - Refuses an OS that is not an LTSC edition, is past end of support, or is not one of the
    profile's validated editions (unless I(os_override)); refuses when the controller's WinRM
    connection would not come from the management zone.
  - Expands the built-in Administrator pattern to the machine's SID, adds the local names of the
    managed groups, decides whether the host's clock is inside the maintenance window and keeps the
    nameplate's C(built_at) when nothing else changes. Updates the fact C(mt_build) with what the
    build reads (C(apply), C(updates), ...); returns the whole change set as C(changes) and C(not_built).
options:
  facts:
    description: The collector's facts document (dict or JSON string).
    type: raw
    required: true
  os_override:
    description: Build even on an OS the check refuses (lab use only; logged as a warning).
    type: bool
    default: false
  timezone:
    description: IANA time zone of the site, for the maintenance window when the collector reports no
      host clock (or C(now) is given); default the controller's.
    type: str
  now:
    description: The current time (ISO 8601, UTC), for tests; default now.
    type: str
"""

import ipaddress
import json
import socket
from datetime import UTC, date, datetime

from ansible.errors import AnsibleError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

# What the build's roles, handlers and mt_build_verify read of the plan after the preflight. Ansible
# copies, cleans and wraps a host's facts for every task, so the fact holds only these (~35 of the
# plan's ~110 kB on a fresh host); the whole change set and the report stay in this task's result.
BUILD_FACT_KEYS = ("apply", "updates", "compensating_controls", "antivirus_permitted", "in_maintenance_window",
                   "maintenance_window", "needs_reboot", "collection_request", "resolved_with", "profile", "os")


def _controller_address(target):
    """The controller's source address towards the host, as the host's firewall will see it (no
    packet is sent: connecting a UDP socket only selects the route)."""
    try:
        address = ipaddress.ip_address(target)
    except ValueError:
        return None
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect((str(address), 5985))
            return sock.getsockname()[0]
    except OSError:
        return None


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
            from mt_eklient.applying import applier_inputs
            from mt_eklient.buildplan import finalize_plan, host_identity, host_local_time
            from mt_eklient.changeset import plan_for_hostvars
            from mt_eklient.reports.plan_report import describe
        except ImportError as err:
            raise AnsibleError(f"mt_build_preflight needs the mt-eklient Python package ({err})") from err

        name = task_vars.get("inventory_hostname", "?")
        plan = self._templar.template(task_vars.get("mt_build"))
        if not isinstance(plan, dict):
            raise AnsibleError("mt_build_preflight: no plan in mt_build (run mt_build_plan first)")
        facts = args.get("facts")
        if isinstance(facts, list):
            facts = facts[0] if facts else None
        if isinstance(facts, str):
            facts = json.loads(facts)
        if not isinstance(facts, dict):
            result.update(failed=True, refused=True, msg=f"REFUSED {name}: the collector returned no facts document")
            return result

        now = datetime.fromisoformat(args["now"]) if args.get("now") else datetime.now(UTC)
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        local = host_local_time(facts, now, args.get("timezone") or None, trust_host_clock=not args.get("now"))
        peers = []
        connection = str(task_vars.get("ansible_connection") or "")
        if connection.rsplit(".", 1)[-1] in ("winrm", "psrp"):
            target = self._templar.template(task_vars.get("ansible_host") or name)
            try:
                target = socket.getaddrinfo(target, None)[0][4][0]
            except (OSError, UnicodeError):
                pass
            source = _controller_address(target)
            if source:
                peers.append(source)
        identity = host_identity(facts, local_time=local.replace(tzinfo=None).isoformat(timespec="seconds"),
                                 winrm_peers=peers)
        final = finalize_plan(plan, identity, now.astimezone(UTC).replace(tzinfo=None),
                              os_override=boolean(args.get("os_override", False)),
                              override_hint="mt_preflight_os_override")
        if not final["refusals"]:
            resolved = plan["resolved_with"]
            user = task_vars.get("ansible_user")
            changes = plan_for_hostvars(name, resolved["hostvars"], facts, date.fromisoformat(resolved["today"]),
                                        resolved["profiles_dir"], resolved.get("sites_dir"),
                                        connected_as=str(self._templar.template(user)) if user else None)
            if changes.status == "refused":
                final["refusals"].append(str(changes.error))
            final["changes"], final["not_built"] = changes.changes, changes.not_built
            final["needs_reboot"] = changes.needs_reboot
            final["apply"] = applier_inputs(final, changes.changes, facts)
        for warning in final["warnings"]:
            self._display.warning(f"{name}: {warning}")
        if final["refusals"]:
            result.update(failed=True, refused=True, refusals=final["refusals"],
                          msg=f"REFUSED {name}: " + "; ".join(final["refusals"]))
            return result
        report = [
            f"OS: {final['os']['support']}",
            f"maintenance window now: {'yes' if final['in_maintenance_window'] else 'no'} (host clock {local:%a %H:%M})",
            f"nameplate: {'current, kept' if final['nameplate']['current'] else 'will be written last'}",
            (f"change set: {len(final['changes'])} change(s), "
             f"{len(final['not_built'])} failing control(s) the build does not set"),
            *[f"  {c['control']} {c['kind']} {c['item']}: {describe(c)}" for c in final["changes"]],
            *[f"  not built: {c['control']}: {c['message'] or c['title']}" for c in final["not_built"]],
            *[f"warning: {w}" for w in final["warnings"]]]
        fact = {key: final[key] for key in BUILD_FACT_KEYS}
        fact["reboot_controls"] = sorted({c["control"] for c in final["changes"] if c.get("needs_reboot")})
        result.update(changed=False, ansible_facts={"mt_build": fact}, msg=report,
                      changes=final["changes"], not_built=final["not_built"])
        return result
