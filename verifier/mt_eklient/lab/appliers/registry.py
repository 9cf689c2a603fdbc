"""`# mtk-applier: registry` (roles/mt_policies/files/registry.ps1).

Values: [{key, name, type, data}], RemoveValues: [{key, name}], ExactKeys: [{key, type, values:
{name: data}}]; HKLM only. A value is written when it is missing or its kind or formatted data
differs (case-sensitive); listed removals delete existing values; an exact key becomes its listed
values (written like Values) plus a removal of every other value it holds (names without regard to
case; subkeys untouched); nothing else is touched. Data as the script converts it: dword/qword from a number
or numeric string, multistring from a list, binary from hex text. Diff: {"KEY\\NAME": formatted
data} with null for "absent" (multistrings joined with newlines, binary as hex, DWORDs signed as
.NET reads them back). No $Ansible.Result.
"""

from __future__ import annotations

import re
from typing import Any

from ..registry import TYPE_BY_WORD, Registry, RegistryPathError, normalise_key
from . import ApplierError, Outcome, State, lower_keys, take

KINDS = ("dword", "qword", "string", "expandstring", "multistring", "binary")


def _integer(data: Any, label: str, bits: int) -> int:
    text = str(data).strip() if not isinstance(data, bool) else "x"
    if isinstance(data, float) and data.is_integer():
        text = str(int(data))
    if not re.fullmatch(r"[+-]?\d+", text):
        raise ApplierError(f"Cannot convert value \"{data}\" to type \"System.Int64\" ({label})")
    number = int(text)
    if bits == 32 and not 0 <= number <= 0xFFFFFFFF:
        raise ApplierError(f"Cannot convert value \"{data}\" to type \"System.UInt32\" ({label})")
    if bits == 64 and not -(1 << 63) <= number < (1 << 63):
        raise ApplierError(f"Cannot convert value \"{data}\" to type \"System.Int64\" ({label})")
    return number & ((1 << bits) - 1)  # stored unsigned, as the collector reads it


def convert(kind: str, data: Any, label: str) -> Any:
    """ConvertTo-MtkData."""
    if kind in ("dword", "qword"):
        return _integer(data, label, 32 if kind == "dword" else 64)
    if kind == "multistring":
        items = data if isinstance(data, list) else [] if data is None else [data]
        return ["" if i is None else ("True" if i is True else "False" if i is False else str(i)) for i in items]
    if kind == "binary":
        text = "" if data is None else str(data)
        if len(text) % 2 or not re.fullmatch(r"[0-9a-fA-F]*", text):
            raise ApplierError(f"Exception calling \"ToByte\": binary data for {label} must be hex text, got {data!r}")
        return text.lower()
    if isinstance(data, (list, dict)):
        raise ApplierError(f"{label}: {kind} data must be a scalar, got {type(data).__name__}")
    return "" if data is None else ("True" if data is True else "False" if data is False else str(data))


def formatted(value: dict[str, Any] | None) -> str | None:
    """Format-MtkData of what .NET reads back."""
    if value is None:
        return None
    data = value["value"]
    if value["type"] == "REG_DWORD":
        return str(data - (1 << 32) if data >= 1 << 31 else data)
    if value["type"] == "REG_QWORD":
        return str(data - (1 << 64) if data >= 1 << 63 else data)
    if value["type"] == "REG_MULTI_SZ":
        return "\n".join(data)
    return str(data)


def _subkey(key: str) -> str:
    hive = key.split("\\", 1)[0]
    if hive.upper() not in ("HKLM", "HKEY_LOCAL_MACHINE", "HKLM:"):
        raise ApplierError(f"only HKLM is managed, not '{key}'")
    try:
        return normalise_key(key)
    except RegistryPathError as err:
        raise ApplierError(str(err)) from None


def _exact_keys(reg: Registry, exact_keys: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """ExactKeys as the script expands them: (values to write, values to remove), before any change."""
    values: list[dict[str, Any]] = []
    removals: list[dict[str, Any]] = []
    for index, raw in enumerate(exact_keys):
        item = lower_keys(raw, f"registry: ExactKeys[{index}]", {"key", "type", "values"}, {"key", "type", "values"})
        key, wanted = item["key"], item["values"]
        if not isinstance(wanted, dict):
            raise ApplierError(f"ExactKeys: values of {key} must be a mapping")
        listed = {str(name).casefold() for name in wanted}
        values.extend({"key": key, "name": str(name), "type": item["type"], "data": data}
                      for name, data in wanted.items())
        path = _subkey(str(key))
        if not reg.key_exists(path):
            continue
        removals.extend({"key": key, "name": name} for name in reg.values(path) if name.casefold() not in listed)
    return values, removals


def apply(state: State, params: dict[str, Any], check_mode: bool) -> Outcome:
    p = take(params, "registry", {"Values": list, "RemoveValues": list, "ExactKeys": list})
    reg = Registry(state["registry"])
    values, removals = _exact_keys(reg, p.get("ExactKeys") or [])
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for index, raw in enumerate([*(p.get("Values") or []), *values]):
        item = lower_keys(raw, f"registry: Values[{index}]", {"key", "name", "type", "data"}, {"key", "name", "type"})
        key, name, kind = str(item["key"]), str(item["name"] or ""), str(item.get("type") or "")
        label = f"{key}\\{name}"
        if kind not in KINDS:
            raise ApplierError(f"unknown registry type '{kind}' for {label}")
        new = {"type": TYPE_BY_WORD[kind], "value": convert(kind, item.get("data"), label)}
        path = _subkey(key)
        current = reg.get(path, name)
        if current is not None and current["type"] == new["type"] and formatted(current) == formatted(new):
            continue
        before[label], after[label] = formatted(current), formatted(new)
        reg.set(path, name, new["type"], new["value"])
    for index, raw in enumerate([*(p.get("RemoveValues") or []), *removals]):
        item = lower_keys(raw, f"registry: RemoveValues[{index}]", {"key", "name"}, {"key", "name"})
        key, name = str(item["key"]), str(item["name"] or "")
        path = _subkey(key)
        current = reg.get(path, name)
        if current is None:
            continue
        before[f"{key}\\{name}"], after[f"{key}\\{name}"] = formatted(current), None
        reg.delete_value(path, name)
    return Outcome(changed=bool(after), applied=len(after), before=before, after=after, result={})
