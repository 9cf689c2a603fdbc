"""A fake ansible.windows.win_powershell for tests/scan: answers the collector per host according to
the host variable `fake_mode`, so the scan's error paths can be tested without the lab.

Environment: FAKE_FACTS (facts document to return), FAKE_JOURNAL (directory: one line per call
and host), FAKE_DELAY (seconds every call sleeps, for Ctrl-C tests).
"""

import json
import os
import time
from pathlib import Path

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        host = task_vars["inventory_hostname"]
        mode = task_vars.get("fake_mode", "ok")
        script = self._task.args.get("script", "")
        journal = os.environ.get("FAKE_JOURNAL")
        if journal:
            with open(Path(journal) / f"{host}.jsonl", "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"first_line": script.splitlines()[0] if script else "",
                                         "request": self._task.args.get("parameters", {}).get("Request")}) + "\n")
        time.sleep(float(os.environ.get("FAKE_DELAY", "0") or 0))
        base = {"changed": False, "result": {}, "output": [], "error": [], "host_out": "", "host_err": ""}
        facts = json.loads(Path(os.environ["FAKE_FACTS"]).read_text(encoding="utf-8"))
        facts["host"]["computer_name"] = host.upper()
        if mode == "ok":
            return dict(base, output=[json.dumps(facts)])
        if mode == "garbage":
            return dict(base, output=["Get-Item : Access is denied. <not json>"])
        if mode == "truncated":
            return dict(base, output=[json.dumps(facts)[:700]])
        if mode == "invalid":
            return dict(base, output=[json.dumps({"schema_version": 1, "collector": {"name": "x"}})])
        if mode == "two":
            return dict(base, output=["{}", "{}"])
        if mode == "auth":
            return {"unreachable": True, "changed": False,
                    "msg": "ntlm: the specified credentials were rejected by the server"}
        if mode == "refused":
            return {"unreachable": True, "changed": False,
                    "msg": "winrm connection error: [Errno 111] Connection refused"}
        if mode == "hang":
            time.sleep(60)
            return dict(base, output=[json.dumps(facts)])
        # The password as the connection would use it: lookups, vault and variable references resolved.
        self._templar.available_variables = task_vars
        password = self._templar.template(task_vars.get("ansible_password"))
        if mode == "echo-var":  # a host that repeats another variable's value (fake_echo names it)
            echoed = self._templar.template(task_vars.get(task_vars["fake_echo"]))
            return dict(base, failed=True, msg=f"unexpected value {echoed}")
        if mode == "echo-secret":  # a badly behaved error message that repeats the password
            return dict(base, failed=True, msg=f"logon as svc with {password} failed",
                        error=[{"exception": {"message": f"password {password} refused"}}])
        if mode == "echo-in-facts":  # the password inside the facts document (a collector error, a program)
            facts["errors"] = [{"section": "programs", "message": f"Get-ItemProperty: 'pw={password}' denied"}]
            facts["programs"][0]["name"] = f"Setup <{password}> & 'co'"
            facts["host"]["computer_name"] = f"WM1-{password}"
            # ConvertTo-Json (PowerShell 5.1) escapes these four as \uXXXX.
            text = json.dumps(facts)
            for char in "<>'&":
                text = text.replace(char, f"\\u{ord(char):04x}")
            return dict(base, output=[text])
        hostile = os.environ.get("FAKE_HOSTILE_" + mode.upper().replace("-", "_"))
        if hostile:  # a hostile host's whole answer, from a file (deep, huge, escapes, surrogates)
            return dict(base, output=[Path(hostile).read_text(encoding="utf-8")])
        return dict(base, failed=True, msg=f"fake: unknown fake_mode {mode!r}")
