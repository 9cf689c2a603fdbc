"""Simulated-lab stand-in for ansible.windows.win_updates (see mt_eklient.lab; lab runs only).

In-process there is no update task to poll: the module is asked to wait itself (its async mode,
`_operation_options.wait`), and reboot=true reboots afterwards, as the real action plugin does."""

from mt_eklient.lab.action import LabAction
from mt_eklient.lab.runner import run_standin


class ActionModule(LabAction):
    MODULE = "ansible.windows.win_updates"

    def run(self, tmp=None, task_vars=None):
        self._task.args = {**self._task.args, "_operation_options": {"wait": True}}
        result = super().run(tmp, task_vars)
        if result.get("reboot_required") and str(self._task.args.get("reboot", False)).lower() in ("true", "yes", "1"):
            host = str((task_vars or {}).get("inventory_hostname") or self._play_context.remote_addr)
            rebooted = run_standin("ansible.windows.win_reboot", host, {}, check_mode=bool(self._task.check_mode))
            if rebooted.get("failed"):
                return dict(result, failed=True, msg=f"Failed to reboot host: {rebooted.get('msg')}")
            result.update(rebooted=True, reboot_required=False, changed=True)
        return result
