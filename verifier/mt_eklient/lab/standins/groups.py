"""ansible.windows.win_group_membership: members of a local group, compared by SID."""

from __future__ import annotations

from typing import Any

from ..accounts import UnknownAccount, name_of, sid_of
from . import Ctx, ModuleFailure, State


def run(state: State, params: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
    groups = state["local_groups"]
    target = params["name"]
    sid = next((s for s, g in groups.items() if g["name"].lower() == target.split("\\")[-1].lower()
                or s.upper() == target.upper()), None)
    if sid is None:
        raise ModuleFailure(f"Could not find local group {target}", name=target)
    group = groups[sid]
    try:
        wanted: list[str] = []
        for member in params["members"]:
            member_sid = sid_of(state, member)
            if member_sid not in wanted:
                wanted.append(member_sid)
    except UnknownAccount as err:
        raise ModuleFailure(str(err), name=group["name"]) from None
    current = list(group["members"])
    added = [m for m in wanted if m not in current] if params["state"] in ("present", "pure") else []
    if params["state"] == "absent":
        removed = [m for m in wanted if m in current]
    elif params["state"] == "pure":
        removed = [m for m in current if m not in wanted]
    else:
        removed = []
    group["members"] = [m for m in current if m not in removed] + added
    changed = bool(added or removed)
    ctx.applied += len(added) + len(removed)
    result = {"changed": changed, "name": group["name"],
              "members": [name_of(state, m) for m in group["members"]]}
    if params["state"] in ("present", "pure"):
        result["added"] = [name_of(state, m) for m in added]
    if params["state"] in ("absent", "pure"):
        result["removed"] = [name_of(state, m) for m in removed]
    return result
