"""ansible.windows.win_updates as the module runs on a host (modules/win_updates.ps1 of the pinned
collection), against the lab's available updates.

Over WinRM the real action plugin drives the module in three operations (`_operation`):
- `start` runs the Windows Update Agent session in a background task (on Windows a scheduled task
  or a WMI-spawned process, so it outlives the WinRM shell) and returns `poll_options` (its named
  pipe) and `cancel_options`. In the lab the task runs at once: search, then download and install
  of the selected updates, each step a progress message (`started`, `search_result`, `download`,
  `download_result`, `install`, `install_result`, `exit`) kept for the pipe.
- `poll` returns the messages not yet read, one phase per call, `exit` last.
- `cancel` ends the task (the action plugin always calls it).
With `_operation_options.wait` (the module's async mode; the in-process lab's action uses it) the
module waits itself and returns the summary: changed, reboot_required, updates, filtered_updates and
the counts.

As in the module: check mode and state=searched only search; a pending reboot fails the install
("A reboot is required before more updates can be installed"); the category names, accept_list
and reject_list filter as the module's search loop does (regular expressions, case-insensitive, on
the title and the KB ids). A pipe lives outside the host state (`$MTK_LAB_DIR/wu/`), as a process
does: check mode throws the state copy away, not the task.
"""

from __future__ import annotations

import json
import os
import re
import uuid
import zlib
from pathlib import Path
from typing import Any

from . import clock, paths
from .fresh import CURRENT_VERSION
from .registry import Registry
from .standins import Ctx, ModuleFailure, State

# The module's mapping of category_names (modules/win_updates.ps1) to WUA category names.
CATEGORY_NAMES = {"CriticalUpdates": "Critical Updates", "DefinitionUpdates": "Definition Updates",
                  "DeveloperKits": "Developer Kits", "FeaturePacks": "Feature Packs",
                  "SecurityUpdates": "Security Updates", "ServicePacks": "Service Packs",
                  "UpdateRollups": "Update Rollups"}
SUCCEEDED = 2  # OperationResultCode orcSucceeded
REBOOT_FIRST = "A reboot is required before more updates can be installed"


def _pipe_file(pipe: str) -> Path:
    if not re.fullmatch(r"Ansible\.Windows\.WinUpdates-[0-9a-f-]{36}", pipe):
        raise ModuleFailure(f"Failed to connect to pipe '{pipe}'")
    return paths.lab_dir() / "wu" / f"{pipe}.json"


def _update_info(update: dict[str, Any]) -> dict[str, Any]:
    """Format-UpdateInfo's fields the action plugin and a reader of the result use."""
    return {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, update["id"])), "title": update["title"],
            "description": update["title"], "kb": [update["id"]], "type": "Software",
            "deployment_action": "Installation", "browse_only": False, "revision_number": 1,
            "categories": [CATEGORY_NAMES.get(update["category"], update["category"])], "is_installed": False,
            "is_hidden": False, "is_present": False, "reboot_required": False, "is_downloaded": False,
            "is_mandatory": False, "is_uninstallable": True}


def _in_list(texts: list[str], patterns: list[str]) -> bool:
    return any(re.search(p, t, re.IGNORECASE) for p in patterns for t in texts)


def _filter_reasons(info: dict[str, Any], params: dict[str, Any]) -> list[str]:
    wanted = [CATEGORY_NAMES.get(c, c) for c in params["category_names"]]
    texts = [info["title"], *info["kb"]]
    reasons = []
    if params.get("accept_list") and not _in_list(texts, params["accept_list"]):
        reasons.append("accept_list")
    if params.get("reject_list") and _in_list(texts, params["reject_list"]):
        reasons.append("reject_list")
    if not ("*" in wanted or {c.lower() for c in info["categories"]} & {c.lower() for c in wanted}):
        reasons.append("category_names")
    return reasons


def _progress(task: str, info: dict[str, Any], index: int, count: int) -> dict[str, Any]:
    size = 300_000_000
    progress = {"CurrentUpdateId": info["id"], "CurrentUpdateIndex": index, "PercentComplete": 100 * (index + 1) // count,
                "CurrentUpdatePercentComplete": 100}
    if task == "download":
        progress.update(CurrentUpdateDownloadPhase=3, TotalBytesDownloaded=size * (index + 1),
                        TotalBytesToDownload=size * count, CurrentUpdateBytesDownloaded=size,
                        CurrentUpdateBytesToDownload=size)
    return {"task": task, "result": {"progress": progress, "result": {"ResultCode": SUCCEEDED, "HResult": 0}}}


def session(state: State, params: dict[str, Any], ctx: Ctx) -> list[list[dict[str, Any]]]:
    """Install-WindowsUpdate against the lab: the progress messages, one list per phase (search,
    download, install). Installs (changes `state`) unless check mode or state is not installed."""
    exit_result: dict[str, Any] = {"changed": False, "failed": False, "reboot_required": bool(state["lab"]["pending_reboot"]),
                                   "exception": None}
    everything, filtered, selected = [], [], []
    for update in state["available_updates"]:
        info = _update_info(update)
        everything.append(info)
        reasons = _filter_reasons(info, params)
        if reasons:
            filtered.append({"id": info["id"], "reasons": reasons})
        else:
            selected.append((update, info))
    search = [{"task": "started", "result": {}},
              {"task": "search_result", "result": {"updates": everything, "filtered": filtered}}]
    exit_message = {"task": "exit", "result": exit_result}
    if ctx.check_mode or params["state"] == "searched" or not selected:
        exit_result["changed"] = bool(selected) and params["state"] != "searched"
        return [[*search, exit_message]]
    if state["lab"]["pending_reboot"]:
        exit_result.update(failed=True, exception={"message": REBOOT_FIRST,
                                                   "exception": f"{REBOOT_FIRST}\r\nat Install-WindowsUpdate"})
        return [[*search, exit_message]]
    count = len(selected)
    download = [_progress("download", info, i, count) for i, (_, info) in enumerate(selected)]
    download.append({"task": "download_result", "result": {"info": [
        {"id": info["id"], "result_code": SUCCEEDED, "hresult": 0} for _, info in selected]}})
    exit_result["changed"] = True
    if params["state"] == "downloaded":
        return [search, [*download, exit_message]]
    reg = Registry(state["registry"])
    today = clock.now(state).date()
    for update, _ in selected:
        state["hotfixes"].append({"id": update["id"], "description": "Security Update",
                                  "installed_on": today.isoformat(), "ubr": update.get("ubr")})
        state["available_updates"].remove(update)
        if update.get("ubr"):
            current = reg.get(CURRENT_VERSION, "UBR")
            reg.set(CURRENT_VERSION, "UBR", "REG_DWORD", max(int(update["ubr"]), int(current["value"]) if current else 0))
        ctx.applied += 1
    state["lab"]["pending_reboot"] = True  # a cumulative update always asks for a restart
    install = [_progress("install", info, i, count) for i, (_, info) in enumerate(selected)]
    install.append({"task": "install_result", "result": {"info": [
        {"id": info["id"], "result_code": SUCCEEDED, "hresult": 0, "reboot_required": True} for _, info in selected]}})
    exit_result["reboot_required"] = True
    return [search, download, [*install, exit_message]]


def summary(phases: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """The module's result in wait mode (its own formatting of the progress messages)."""
    result: dict[str, Any] = {"changed": False, "reboot_required": False, "rebooted": False, "found_update_count": 0,
                              "failed_update_count": 0, "installed_update_count": 0, "updates": {},
                              "filtered_updates": {}}
    updates: dict[str, dict[str, Any]] = {}
    for message in (m for phase in phases for m in phase):
        task, body = message["task"], message["result"]
        if task == "search_result":
            reasons = {f["id"]: f["reasons"] for f in body["filtered"]}
            for info in body["updates"]:
                entry = {"categories": info["categories"], "id": info["id"], "installed": False, "downloaded": False,
                         "kb": [k.removeprefix("KB") for k in info["kb"]], "title": info["title"]}
                if info["id"] in reasons:
                    legacy = {"accept_list": "whitelist", "reject_list": "blacklist"}
                    entry.update(filtered_reasons=reasons[info["id"]],
                                 filtered_reason=legacy.get(reasons[info["id"]][0], reasons[info["id"]][0]))
                updates[info["id"]] = entry
        elif task in ("download_result", "install_result"):
            for outcome in body["info"]:
                key = "downloaded" if task == "download_result" else "installed"
                if outcome["result_code"] == SUCCEEDED:
                    updates[outcome["id"]][key] = True
                else:
                    updates[outcome["id"]]["failure_hresult_code"] = outcome["hresult"]
        elif task == "exit":
            result.update(changed=body["changed"], reboot_required=body["reboot_required"], failed=body["failed"])
            if body.get("exception"):
                result.update(msg=body["exception"]["message"], exception=body["exception"]["exception"])
    for info in updates.values():
        if "filtered_reasons" in info:
            result["filtered_updates"][info["id"]] = info
            continue
        result["found_update_count"] += 1
        if "failure_hresult_code" in info:
            result["failed_update_count"] += 1
        elif info["installed"]:
            result["installed_update_count"] += 1
        result["updates"][info["id"]] = info
    return result


def run(state: State, params: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
    operation = params["_operation"]
    options = params.get("_operation_options") or {}
    if operation == "poll":
        return {"changed": False, "output": _read_pipe(str(options.get("pipe_name", "")))}
    if operation == "cancel":
        _pipe_file(str(options.get("cancel_id", "")).replace("Global\\", "", 1)).unlink(missing_ok=True)
        return {"changed": False}
    phases = session(state, params, ctx)
    installed = any(m["task"] == "install_result" for phase in phases for m in phase)
    if options.get("wait"):
        return dict(summary(phases), _background=installed)
    task_id = str(uuid.uuid4())
    pipe = f"Ansible.Windows.WinUpdates-{task_id}"
    path = _pipe_file(pipe)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(phases), encoding="utf-8")
    os.replace(temporary, path)
    # the task's process id: any number, stable for the task (the module reports the spawned pid)
    return {"changed": False, "_background": installed,
            "cancel_options": {"cancel_id": f"Global\\{pipe}", "task_pid": 4000 + zlib.crc32(pipe.encode()) % 60000},
            "poll_options": {"pipe_name": pipe}}


def _read_pipe(pipe: str) -> list[dict[str, Any]]:
    """The next phase's messages; the pipe closes after `exit`."""
    path = _pipe_file(pipe)
    try:
        phases = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModuleFailure(f"Failed to connect to pipe '{pipe}': the update task is no longer running") from None
    if not phases:
        raise ModuleFailure(f"Failed to read from pipe '{pipe}': the update task has exited")
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(phases[1:]), encoding="utf-8")
    os.replace(temporary, path)
    return phases[0]

