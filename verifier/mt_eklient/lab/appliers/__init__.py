"""Python emulations of the project's PowerShell appliers (`roles/*/files/*.ps1`, marker line
`# mtk-applier: NAME`), with the semantics docs/design.md gives them: each carries out the changes
it is given (the controller's change set, mt_eklient.applying) and compares nothing; what Windows
refuses fails as it would there. Each takes the win_powershell `parameters` and returns an Outcome
whose diff is the changes' own before/after; bad input raises ApplierError (the script would throw).
Check mode runs on a throw-away copy of the state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

State = dict[str, Any]


class ApplierError(Exception):
    pass


@dataclass
class Outcome:
    changed: bool
    applied: int
    before: Any  # $Ansible.Diff.before / .after, before Convert-OutputObject
    after: Any
    result: Any  # $Ansible.Result
    warnings: list[str] = field(default_factory=list)


Applier = Callable[[State, dict[str, Any], bool], Outcome]


def take(params: dict[str, Any], applier: str, allowed: dict[str, type | tuple[type, ...]],
         required: tuple[str, ...] = ()) -> dict[str, Any]:
    """Parameters by their canonical (PowerShell, case-insensitive) names, type-checked."""
    canonical = {k.lower(): k for k in allowed}
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = canonical.get(key.lower())
        if name is None:
            raise ApplierError(f"the {applier} applier takes {', '.join(allowed)}; got unknown parameter {key!r}")
        if value is not None and not isinstance(value, allowed[name]):
            raise ApplierError(f"{applier}: parameter {name} must be {_type_name(allowed[name])}, "
                               f"got {type(value).__name__}")
        out[name] = value
    missing = [r for r in required if out.get(r) is None]
    if missing:
        raise ApplierError(f"{applier}: missing parameter(s) {', '.join(missing)}")
    return out


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({list: "a list", dict: "a mapping", str: "a string", bool: "a boolean"}.get(k, k.__name__)
                       for k in kinds)


def lower_keys(item: Any, where: str, allowed: set[str], required: set[str]) -> dict[str, Any]:
    """One entry of a list parameter (hashtable keys are case-insensitive in PowerShell)."""
    if not isinstance(item, dict):
        raise ApplierError(f"{where}: expected a mapping, got {type(item).__name__}")
    out = {str(k).lower(): v for k, v in item.items()}
    unknown = sorted(set(out) - allowed)
    if unknown:
        raise ApplierError(f"{where}: unknown key(s) {', '.join(unknown)} (expected {', '.join(sorted(allowed))})")
    missing = sorted(required - set(out))
    if missing:
        raise ApplierError(f"{where}: missing key(s) {', '.join(missing)}")
    return out


def _table() -> dict[str, Applier]:
    from . import applocker, audit, defender, fwdisable, fwrules, registry, secpol

    return {"registry": registry.apply, "audit_policy": audit.apply, "security_policy": secpol.apply,
            "defender": defender.apply, "applocker": applocker.apply, "firewall_rules": fwrules.apply,
            "firewall_disable": fwdisable.apply}


def get(name: str) -> Applier | None:
    return _table().get(name)


def names() -> list[str]:
    return sorted(_table())
