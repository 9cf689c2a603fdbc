"""Draft profiles: fields still to fill in, and the approval a build needs.

A value that starts with `TO FILL IN` is a placeholder (written by `mtk profile draft` where the MDS2
cannot answer). Validation treats it as absent and reports it as "to fill in" instead of as an error,
so a draft validates; a profile is a draft until `governance.approved_by` and `approved_date` are
set, and an approved profile may hold no placeholder. A build refuses drafts; a scan may use one
(its reports say so).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import Problem

PLACEHOLDER = "TO FILL IN"

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class FillIn(Problem):
    """A placeholder, reported as `FILE:LINE: field: to fill in: hint`."""


def is_placeholder(value: Any) -> bool:
    return isinstance(value, str) and value.lstrip().upper().startswith(PLACEHOLDER)


def split_placeholders(data: Any, path: Path_ = ()) -> tuple[Any, dict[Path_, str]]:
    """The data without its placeholders (a mapping loses the key, a list the item), and each
    placeholder's path and hint."""
    found: dict[Path_, str] = {}
    if isinstance(data, dict):
        out: dict[Any, Any] = {}
        for key, value in data.items():
            if is_placeholder(value):
                found[(*path, key)] = _hint(value)
                continue
            out[key], inner = split_placeholders(value, (*path, key))
            found.update(inner)
        return out, found
    if isinstance(data, list):
        items = []
        for index, value in enumerate(data):
            if is_placeholder(value):
                found[(*path, index)] = _hint(value)
                continue
            item, inner = split_placeholders(value, (*path, index))
            items.append(item)
            found.update(inner)
        return items, found
    return data, found


def _hint(value: str) -> str:
    return value.strip()[len(PLACEHOLDER):].lstrip(" :-–") or "(no hint)"


def related(path: Path_, placeholders: dict[Path_, str]) -> bool:
    """Whether a problem at `path` is explained by a placeholder at, above or below it."""
    return any(path[: len(p)] == p or p[: len(path)] == path for p in placeholders)


def approved(data: Any) -> bool:
    """Approval from the raw document (usable before the profile model can be built)."""
    governance = data.get("governance") if isinstance(data, dict) else None
    if not isinstance(governance, dict):
        return False
    by = governance.get("approved_by")
    return bool(isinstance(by, str) and by.strip() and not is_placeholder(by) and governance.get("approved_date"))


def draft_refusal(profile_id: str, source: str, is_draft: bool, placeholders: int) -> str | None:
    """Why a build must not use this profile, or None."""
    if not is_draft:
        return None
    todo = f"; {placeholders} field(s) still to fill in" if placeholders else ""
    return (f"profile {profile_id} ({source}) is a draft: MT engineering has not approved it "
            f"(governance.approved_by/approved_date empty{todo}). Review it, fill it in and approve it before building")
