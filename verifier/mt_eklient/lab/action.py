"""The Ansible side of a stand-in: an action plugin that never opens a connection and hands the
task to `runner.run_standin`. The shadow collection's plugin files only set MODULE."""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase

from .runner import run_standin


class LabAction(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False
    MODULE = ""

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        host = str(task_vars.get("inventory_hostname") or self._play_context.remote_addr)
        if self._task.async_val:
            return {"failed": True, "msg": f"simulated lab: {self.MODULE} does not run async (async/poll)"}
        return run_standin(self.MODULE, host, dict(self._task.args), check_mode=bool(self._task.check_mode),
                           diff=bool(self._task.diff))
