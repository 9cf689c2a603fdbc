"""`# mtk-applier: registry` (roles/mt_policies/files/registry.ps1).

Changes: [{item, before, after, key, name, type, data}] to write or [{item, before, after, key, name,
remove: true}] to delete; HKLM only. Nothing is compared: every change is carried out (a removal of a
value that is not there does nothing, as DeleteValue(name, $false)). Data as the script converts it:
dword/qword from a number or numeric string, multistring from a list, binary from hex text.
Diff: {item: before} / {item: after}, the changes' own values. No $Ansible.Result.
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


def _subkey(key: str) -> str:
    hive = key.split("\\", 1)[0]
    if hive.upper() not in ("HKLM", "HKEY_LOCAL_MACHINE", "HKLM:"):
        raise ApplierError(f"only HKLM is managed, not '{key}'")
    try:
        return normalise_key(key)
    except RegistryPathError as err:
        raise ApplierError(str(err)) from None


def apply(state: State, params: dict[str, Any], check_mode: bool) -> Outcome:
    p = take(params, "registry", {"Changes": list})
    reg = Registry(state["registry"])
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for index, raw in enumerate(p.get("Changes") or []):
        item = lower_keys(raw, f"registry: Changes[{index}]", {"item", "before", "after", "key", "name", "type", "data",
                                                               "remove"}, {"item", "key", "name"})
        key, name = str(item["key"]), str(item["name"] or "")
        label = f"{key}\\{name}"
        before[str(item["item"])], after[str(item["item"])] = item.get("before"), item.get("after")
        path = _subkey(key)
        if item.get("remove"):
            if reg.get(path, name) is not None:
                reg.delete_value(path, name)
            continue
        kind = str(item.get("type") or "")
        if kind not in KINDS:
            raise ApplierError(f"unknown registry type '{kind}' for {label}")
        reg.set(path, name, TYPE_BY_WORD[kind], convert(kind, item.get("data"), label))
    return Outcome(changed=bool(after), applied=len(after), before=before, after=after, result={})
