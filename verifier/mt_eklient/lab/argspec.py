"""Validate module arguments the way Ansible.Basic (the C# module utility every ansible.windows
module runs under) does, from an argument spec built out of the module's documentation.

A misspelt option, an invalid choice, a wrong type or a missing required option fails in the lab
exactly where it would fail on Windows, with the same message text, which `ansible-lint` cannot
catch for PowerShell modules. The order of checks follows Ansible.Basic: aliases and unsupported
options, mutually_exclusive, required, defaults, types and choices, required_together,
required_one_of, required_if, required_by, then suboptions.

One deliberate difference: a list or dict given for a `str`/`path` option fails here, where
Ansible.Basic would quietly pass its .NET type name on as the string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

NO_LOG_MASK = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
_SENSITIVE = re.compile(r"password|passwd|secret|token", re.IGNORECASE)
BOOLEANS_TRUE = ("y", "yes", "on", "1", "true", "t", "1.0")
BOOLEANS_FALSE = ("n", "no", "off", "0", "false", "f", "0.0")
TYPES = ("str", "int", "float", "bool", "list", "dict", "path", "raw", "json", "sid")


class ArgSpecError(ValueError):
    """Invalid arguments; the message is what the real module would fail with."""


@dataclass
class Option:
    name: str
    type: str = "str"
    required: bool = False
    default: Any = None
    choices: list[Any] | None = None
    aliases: tuple[str, ...] = ()
    elements: str | None = None
    no_log: bool = False
    suboptions: ArgSpec | None = None


@dataclass
class ArgSpec:
    module: str
    options: dict[str, Option] = field(default_factory=dict)
    mutually_exclusive: list[list[str]] = field(default_factory=list)
    required_one_of: list[list[str]] = field(default_factory=list)
    required_together: list[list[str]] = field(default_factory=list)
    required_if: list[list[Any]] = field(default_factory=list)
    required_by: dict[str, list[str]] = field(default_factory=dict)
    supports_check_mode: bool = True


# ---------------------------------------------------------------- building specs

def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def from_documentation(module: str, options: dict[str, Any]) -> ArgSpec:
    """An ArgSpec from the `options:` of a module's DOCUMENTATION (suboptions recursively)."""
    spec = ArgSpec(module=module)
    for name, doc in (options or {}).items():
        doc = doc or {}
        kind = str(doc.get("type", "str"))
        if kind not in TYPES:
            kind = "raw"
        sub = doc.get("suboptions") or doc.get("options")
        spec.options[name] = Option(
            name=name, type=kind, required=bool(doc.get("required", False)), default=doc.get("default"),
            choices=_as_list(doc.get("choices")) or None, aliases=tuple(str(a) for a in _as_list(doc.get("aliases"))),
            elements=str(doc["elements"]) if doc.get("elements") else None, no_log=bool(doc.get("no_log", False)),
            suboptions=from_documentation(f"{module}.{name}", sub) if sub else None,
        )
    return spec


def merge_powershell_spec(spec: ArgSpec, ps: dict[str, Any]) -> ArgSpec:
    """Add what only the PowerShell `$spec` carries: no_log and the cross-option constraints. The
    documented options stay the contract (an option only the script knows is still refused)."""
    def lists(key: str) -> list[list[Any]]:
        return [_as_list(item) for item in _as_list(ps.get(key))]

    spec.mutually_exclusive = spec.mutually_exclusive or lists("mutually_exclusive")
    spec.required_one_of = spec.required_one_of or lists("required_one_of")
    spec.required_together = spec.required_together or lists("required_together")
    spec.required_if = spec.required_if or lists("required_if")
    spec.required_by = spec.required_by or {str(k): _as_list(v) for k, v in (ps.get("required_by") or {}).items()}
    if "supports_check_mode" in ps:
        spec.supports_check_mode = bool(ps["supports_check_mode"])
    for name, ps_option in (ps.get("options") or {}).items():
        option = spec.options.get(name)
        if option is None or not isinstance(ps_option, dict):
            continue
        option.no_log = option.no_log or bool(ps_option.get("no_log", False))
        option.required = option.required or bool(ps_option.get("required", False))  # the script enforces it
        if option.suboptions is not None and isinstance(ps_option.get("options"), dict):
            merge_powershell_spec(option.suboptions, ps_option)
    return spec


# ---------------------------------------------------------------- type conversion

def dotnet_type(value: Any) -> str:
    """The .NET type name Ansible.Basic would print for a JSON value."""
    if isinstance(value, bool):
        return "System.Boolean"
    if isinstance(value, int):
        return "System.Int32" if -2**31 <= value < 2**31 else "System.Int64"
    if isinstance(value, float):
        return "System.Double"
    if isinstance(value, str):
        return "System.String"
    if isinstance(value, (list, tuple)):
        return "System.Collections.ArrayList"
    if isinstance(value, dict):
        return "System.Collections.Hashtable"
    return type(value).__name__


def ps_str(value: Any) -> str:
    """.NET ToString() of a JSON scalar."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _to_str(value: Any) -> str:
    if isinstance(value, (dict, list, tuple)):
        raise TypeError(f"{dotnet_type(value)} cannot be converted to a string")
    return ps_str(value)


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("Input string was not in a correct format.")
    if isinstance(value, int):
        result = value
    elif isinstance(value, float) and value.is_integer():
        result = int(value)
    else:
        text = _to_str(value).strip()
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError("Input string was not in a correct format.")
        result = int(text)
    if not -2**31 <= result < 2**31:
        raise ValueError("Value was either too large or too small for an Int32.")
    return result


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError("Input string was not in a correct format.")
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(_to_str(value).strip())
    except ValueError:
        raise ValueError("Input string was not in a correct format.") from None


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _to_str(value).lower().strip()
    if text in BOOLEANS_TRUE:
        return True
    if text in BOOLEANS_FALSE:
        return False
    raise ValueError(f"The value '{text}' is not a valid boolean. Valid booleans include: "
                     + ", ".join(BOOLEANS_TRUE + BOOLEANS_FALSE))


def _to_list(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str):
        return [part.strip() for part in value.split(",")]
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    raise ValueError(f"{dotnet_type(value)} cannot be converted to a list")


def _to_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}"):
            try:
                loaded = json.loads(value)
            except json.JSONDecodeError as err:
                raise ValueError(str(err)) from None
            if isinstance(loaded, dict):
                return loaded
        elif "=" in value:
            pairs = [p for p in re.split(r"[, ]+", value) if p]
            return {k: (v if sep else None) for k, sep, v in (p.partition("=") for p in pairs)}
        raise ValueError("string cannot be converted to a dict, must either be a JSON string or in the key=value form")
    raise ValueError(f"{dotnet_type(value)} cannot be converted to a dict")


def _to_path(value: Any) -> str:
    text = _to_str(value)
    if text.startswith("\\\\?\\"):
        return text
    if any(c in text for c in '"<>|') or any(ord(c) < 32 for c in text):
        raise ValueError("string value contains invalid path characters, cannot convert to path")
    return text


def _to_json(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, str):
        return value
    raise ValueError(f"{dotnet_type(value)} cannot be converted to json")


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "str": _to_str, "int": _to_int, "float": _to_float, "bool": _to_bool, "list": _to_list,
    "dict": _to_dict, "path": _to_path, "raw": lambda v: v, "json": _to_json, "sid": _to_str,
}


# ---------------------------------------------------------------- validation

def _context(msg: str, context: Sequence[str], prefix: str = " ") -> str:
    return f"{msg}{prefix}found in {' -> '.join(context)}" if context else msg


def _legal_inputs(spec: ArgSpec) -> list[str]:
    aliases = sorted(a for o in spec.options.values() for a in o.aliases)
    return sorted(spec.options) + aliases


def validate(spec: ArgSpec, params: dict[str, Any], context: Sequence[str] = ()) -> dict[str, Any]:
    """Checked and converted parameters with defaults and None for options not given."""
    legal = _legal_inputs(spec)
    by_fold = {name.lower(): name for name in legal}
    given: dict[str, Any] = {}
    unsupported = []
    for key, value in params.items():
        correct = by_fold.get(str(key).lower())
        if correct is None:
            unsupported.append(str(key))
        else:
            given[correct] = value  # Ansible.Basic accepts a case-insensitive match and renames it
    if unsupported:
        msg = f"Unsupported parameters for ({spec.module.rsplit('.', 1)[-1]}) module: {', '.join(unsupported)}"
        raise ArgSpecError(f"{_context(msg, context)}. Supported parameters include: {', '.join(legal)}")

    for name, option in spec.options.items():
        for alias in option.aliases:
            if alias in given:
                given[name] = given.pop(alias)

    for group in spec.mutually_exclusive:
        if sum(1 for k in group if k in given) > 1:
            raise ArgSpecError(_context(f"parameters are mutually exclusive: {', '.join(group)}", context))

    missing = [n for n, o in spec.options.items() if o.required and n not in given]
    if missing:
        raise ArgSpecError(_context(f"missing required arguments: {', '.join(missing)}", context))
    for name, option in spec.options.items():
        if name not in given and option.default is not None:
            given[name] = option.default

    for name, option in spec.options.items():
        value = given.get(name)
        if value is None:
            continue
        try:
            value = CONVERTERS[option.type](value)
        except (ValueError, TypeError) as err:
            raise ArgSpecError(_context(f"argument for {name} is of type {dotnet_type(value)} and we were "
                                        f"unable to convert to {option.type}: {err}", context)) from None
        given[name] = value
        if option.choices:
            values = value if option.type == "list" else [value]
            lowered = {ps_str(c).lower() for c in option.choices}
            bad = [ps_str(v) for v in values if ps_str(v).lower() not in lowered]
            if bad:
                which = "one or more of" if option.type == "list" else "one of"
                raise ArgSpecError(_context(f"value of {name} must be {which}: "
                                            f"{', '.join(ps_str(c) for c in option.choices)}. "
                                            f"Got no match for: {', '.join(bad)}", context))

    for group in spec.required_together:
        found = [k in given for k in group]
        if any(found) and not all(found):
            raise ArgSpecError(_context(f"parameters are required together: {', '.join(group)}", context))
    for group in spec.required_one_of:
        if not any(k in given for k in group):
            raise ArgSpecError(_context(f"one of the following is required: {', '.join(group)}", context))
    for check in spec.required_if:
        key, val, requirements = check[0], check[1], _as_list(check[2])
        any_of = len(check) > 3 and bool(check[3])
        if given.get(key) is None or ps_str(given[key]) != ps_str(val):
            continue
        absent = [r for r in requirements if r not in given]
        if (any_of and len(absent) == len(requirements)) or (not any_of and absent):
            raise ArgSpecError(_context(f"{key} is {ps_str(val)} but {'any' if any_of else 'all'} of the "
                                        f"following are missing: {', '.join(absent)}", context))
    for key, requirements in spec.required_by.items():
        if key in given:
            absent = [r for r in requirements if r not in given]
            if absent:
                raise ArgSpecError(_context(f"missing parameter(s) required by '{key}': {', '.join(absent)}", context))

    for name, option in spec.options.items():
        given.setdefault(name, None)
        value = given[name]
        if value is None:
            continue
        if option.type == "dict" and option.suboptions is not None:
            given[name] = validate(option.suboptions, value, [*context, name])
        elif option.type == "list" and option.elements:
            given[name] = [_element(option, item, [*context, name]) for item in value]
    return given


def _element(option: Option, item: Any, context: list[str]) -> Any:
    kind = option.elements or "raw"
    try:
        converted = CONVERTERS.get(kind, CONVERTERS["raw"])(item)
    except (ValueError, TypeError) as err:
        raise ArgSpecError(_context(f"argument for list entry {option.name} is of type {dotnet_type(item)} and "
                                    f"we were unable to convert to {kind}: {err}", context[:-1])) from None
    if kind == "dict" and option.suboptions is not None:
        return validate(option.suboptions, converted, context)
    return converted


# ---------------------------------------------------------------- masking

def is_secret(spec: ArgSpec | None, name: str) -> bool:
    option = spec.options.get(name) if spec else None
    return bool(option and option.no_log) or bool(_SENSITIVE.search(name))


def mask(spec: ArgSpec | None, params: Any) -> Any:
    """Arguments with secrets replaced: no_log options of the real spec, and any key whose name
    says password/secret/token (also inside free-form dicts such as win_powershell's parameters)."""
    if isinstance(params, list):
        return [mask(spec, item) for item in params]
    if not isinstance(params, dict):
        return params
    out = {}
    for key, value in params.items():
        option = spec.options.get(key) if spec else None
        if is_secret(spec, str(key)) and value is not None:
            out[key] = NO_LOG_MASK
        else:
            out[key] = mask(option.suboptions if option else None, value)
    return out
