"""ansible.windows.win_powershell: runs only the project's own scripts, recognised by their
marker line (`# mtk-applier: NAME` / `# mtk-collector`), as Python emulations of the same
semantics. Everything around the script follows win_powershell.ps1: check mode skips a script
that does not declare [CmdletBinding(SupportsShouldProcess)] on its param block, `parameters`
must bind to the script's param block, and result, diff and output pass through
Convert-OutputObject with `depth` (default 2), which flattens anything deeper into strings.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .. import appliers
from ..facts import facts_from_state
from . import Ctx, ModuleFailure, State

MARKER_RE = re.compile(r"^\s*#\s*mtk-(?:applier:\s*(?P<applier>[A-Za-z0-9_-]+)|(?P<collector>collector))\s*$")
SHOULD_PROCESS_RE = re.compile(
    r"\[CmdletBinding\((?:[^)]*,\s*)?SupportsShouldProcess(?:\s*=\s*\$true)?\s*(?:,[^)]*)?\)\]\s*(?:\[[^\]]+\]\s*)*param\s*\(",
    re.IGNORECASE)
NOT_OURS = ("the simulated lab only runs the project's own appliers and collector: the script has no "
            "'# mtk-applier: NAME' or '# mtk-collector' marker line")


def marker(script: str) -> tuple[str, str | None]:
    """("applier", NAME) / ("collector", None) from the leading comment block; ("", None) if none."""
    for line in script.splitlines():
        if not line.strip():
            continue
        match = MARKER_RE.match(line)
        if match:
            return ("collector", None) if match.group("collector") else ("applier", match.group("applier"))
        if not line.lstrip().startswith("#"):
            break
    return "", None


def param_block(script: str) -> dict[str, bool] | None:
    """{parameter name: mandatory} of the script's top-level param(...) block, or None."""
    match = re.search(r"(?<![\w-])param\s*\(", script, re.IGNORECASE)
    if not match:
        return None
    depth, start, i = 1, match.end(), match.end()
    while i < len(script) and depth:
        depth += {"(": 1, ")": -1}.get(script[i], 0)
        i += 1
    body, out, piece, level = script[start:i - 1], {}, "", 0
    for char in body + ",":  # split on top-level commas
        if char in "([{":
            level += 1
        elif char in ")]}":
            level -= 1
        if char == "," and level == 0:
            names = re.findall(r"\$(\w+)", re.sub(r"\[[^\]]*\]", lambda m: "" if "$" not in m.group() else m.group(), piece))
            if names:
                out[names[-1]] = bool(re.search(r"Mandatory(\s*=\s*\$true)?\b(?!\s*=\s*\$false)", piece, re.IGNORECASE))
            piece = ""
        else:
            piece += char
    return out


def convert_output(value: Any, depth: int) -> Any:
    """Convert-OutputObject: past `depth`, lists become their space-joined string and dicts their
    .NET type name; scalars survive."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if depth < 0:
        if isinstance(value, dict):
            return "System.Collections.Hashtable"
        if isinstance(value, list):
            return " ".join("System.Collections.Hashtable" if isinstance(v, dict) else
                            "System.Object[]" if isinstance(v, list) else
                            ("True" if v is True else "False" if v is False else str(v)) for v in value)
        return str(value)
    if isinstance(value, list):
        return [convert_output(v, depth - 1) for v in value]
    if isinstance(value, dict):
        return {str(k): convert_output(v, depth - 1) for k, v in value.items()}
    return str(value)


def _error_record(message: str) -> dict[str, Any]:
    return {"output": f"{message}\n    + CategoryInfo          : NotSpecified: (:) [], RuntimeException\n"
                      "    + FullyQualifiedErrorId : RuntimeException",
            "error_details": None,
            "exception": {"message": message, "type": "System.Management.Automation.RuntimeException",
                          "help_link": None, "source": "", "hresult": -2146233087, "inner_exception": None},
            "target_object": None,
            "category_info": {"category": "NotSpecified", "category_id": 0, "activity": "", "reason": "RuntimeException",
                              "target_name": "", "target_type": ""},
            "fully_qualified_error_id": "RuntimeException", "script_stack_trace": "at <ScriptBlock>, <No file>"}


def _bind(script: str, parameters: dict[str, Any]) -> None:
    declared = param_block(script) or {}
    lowered = {k.lower(): k for k in declared}
    for key in parameters:
        if key.lower() not in lowered:
            raise ModuleFailure(f"A parameter cannot be found that matches parameter name '{key}'.")
    missing = [name for name, mandatory in declared.items() if mandatory
               and name.lower() not in {k.lower() for k in parameters}]
    if missing:
        raise ModuleFailure(f"Cannot process command because of one or more missing mandatory parameters: "
                            f"{' '.join(missing)}.")


def run(state: State, params: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
    script = params["script"]
    base: dict[str, Any] = {"changed": False, "result": {}, "host_out": "", "host_err": "", "output": [], "error": [],
                            "warning": [], "verbose": [], "debug": [], "information": []}
    if params.get("executable"):
        raise ModuleFailure(f"executable '{params['executable']}' is not installed on the simulated host "
                            "(Windows PowerShell 5.1 only)", **base)
    if params.get("removes"):  # the lab has no file system: nothing a script could remove exists
        return dict(base, msg=f"skipped, since {params['removes']} does not exist")
    kind, name = marker(script)
    if not kind:
        raise ModuleFailure(NOT_OURS, **base)
    if ctx.check_mode and not SHOULD_PROCESS_RE.search(script):
        return dict(base, changed=True, msg="skipped, running in check mode")
    parameters = dict(params.get("parameters") or {})
    for item in params.get("sensitive_parameters") or []:
        parameters[item["name"]] = item.get("value") if item.get("value") is not None else \
            {"UserName": item.get("username"), "Password": item.get("password")}
    _bind(script, parameters)
    depth = params["depth"]

    if kind == "collector":
        document = facts_from_state(state, parameters.get("Request"))
        return dict(base, output=[json.dumps(document, separators=(",", ":"))])

    applier = appliers.get(name or "")
    if applier is None:
        raise ModuleFailure(f"unknown applier '{name}' (the lab knows: {', '.join(appliers.names())})", **base)
    try:
        outcome = applier(state, parameters, ctx.check_mode)
    except appliers.ApplierError as err:
        return dict(base, failed=True, msg=str(err), error=[_error_record(str(err))])
    ctx.applied += outcome.applied
    ctx.warnings.extend(outcome.warnings)
    diff = {"before": convert_output(outcome.before, depth), "after": convert_output(outcome.after, depth)}
    return dict(base, changed=outcome.changed, result=convert_output(outcome.result, depth),
                warning=list(outcome.warnings), diff=diff)
