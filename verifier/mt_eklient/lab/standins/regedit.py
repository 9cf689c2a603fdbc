"""ansible.windows.win_regedit, following win_regedit.ps1: data conversion per type, change when
type or data differs (string compare is case-sensitive), diff of {path: {name: {type, value}}}."""

from __future__ import annotations

import re
from typing import Any

from ..registry import TYPE_BY_WORD, Registry, RegistryPathError, diff_value
from . import Ctx, ModuleFailure, State


def _binary(data: Any) -> str:
    """Convert-RegExportHexStringToByteArray, or a YAML byte list; stored as hex text."""
    if data is None:
        return ""
    if isinstance(data, str):
        text = re.sub(r"[^a-f0-9\\,x\-:]", "", re.sub(r"^hex:", "", data.lower())).replace(",", ":")
        if not text:
            return ""
        if len(text) == 1:
            return bytes([int(text, 16)]).hex()
        if ":" not in text and len(text) % 2 == 0:
            return bytes(int(text[i:i + 2], 16) for i in range(0, len(text), 2)).hex()
        if ":" in text:
            return bytes(int(p, 16) for p in re.split(r":+", text) if p).hex()
        return ""
    if isinstance(data, int) and not isinstance(data, bool):
        if data > 255:
            raise ModuleFailure(f"cannot convert binary data '{data}' to byte array, please specify this value "
                                "as a yaml byte array or a comma separated hex value string")
        return bytes([data]).hex()
    if isinstance(data, list):
        try:
            return bytes(int(b) for b in data).hex()
        except (ValueError, TypeError):
            raise ModuleFailure(f"cannot convert binary data {data!r} to byte array") from None
    raise ModuleFailure(f"cannot convert binary data {data!r} to byte array")


def _number(data: Any, bits: int) -> int:
    if data is None:
        return 0
    if isinstance(data, str):
        text = data.strip().lower()
        try:
            data = int(text, 16) if text.startswith("0x") else int(text)
        except ValueError:
            raise ModuleFailure(f"Cannot convert value \"{data}\" to type \"System.UInt64\". Error: "
                                "\"Input string was not in a correct format.\"") from None
    if isinstance(data, bool) or not isinstance(data, int):
        raise ModuleFailure(f"Cannot convert value \"{data}\" to type \"System.UInt64\"")
    name = "dword" if bits == 32 else "qword"
    if data > (1 << bits) - 1:
        raise ModuleFailure(f"data cannot be larger than 0x{'f' * (bits // 4)} when type is {name}")
    return data & ((1 << bits) - 1)  # Windows stores the bits; the lab keeps them unsigned


def convert_data(data: Any, word: str, named: bool) -> Any:
    if word in ("binary", "none"):
        return _binary(data)
    if word in ("dword", "qword"):
        return _number(data, 32 if word == "dword" else 64)
    if word == "multistring":
        if data is None:
            return []
        items = data if isinstance(data, list) else [data]
        return [str(item) for item in items]
    if data is None:
        return "" if named else None
    return str(data)


def run(state: State, params: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
    path, name, data, word = params["path"], params["name"], params["data"], params["type"]
    if params["hive"]:
        raise ModuleFailure(f"hive at path '{params['hive']}' is not valid or accessible, cannot load hive")
    result: dict[str, Any] = {"changed": False, "data_changed": False, "data_type_changed": False}
    if name is None and word != "string":
        ctx.warnings.append("the data type when name is not specified can only be 'string', the type has "
                            "automatically been converted")
        word = "string"
    if not re.match(r"^HK(CC|CR|CU|LM|U):\\", path):
        raise ModuleFailure(f"path: {path} is not a valid powershell path, see module documentation for examples.")
    try:
        reg = Registry(state["registry"])
        key_exists = reg.key_exists(path)
    except RegistryPathError as err:
        raise ModuleFailure(str(err)) from None
    name = name or ""
    diff: dict[str, Any] = {"before": "", "after": ""}

    if params["state"] == "absent":
        if not key_exists:
            pass
        elif params["delete_key"] and not name:
            reg.delete_key(path)
            result["changed"] = True
            diff = {"before": {path: {}}, "after": {}}
        else:
            existing = reg.get(path, name)
            if existing is not None:
                reg.delete_value(path, name)
                result["changed"] = True
                diff = {"before": {path: {name: diff_value(existing)}}, "after": {path: {}}}
    else:
        if not key_exists:
            reg.create_key(path)
            result["changed"] = True
            diff = {"before": {}, "after": {path: {}}}
            if ctx.check_mode:  # the real module cannot look further in check mode once the key is new
                return dict(result, diff=diff)
        else:
            diff = {"before": {path: {}}, "after": {path: {}}}
        if data is not None or name:
            new = {"type": TYPE_BY_WORD[word], "value": convert_data(data, word, bool(name))}
            existing = reg.get(path, name)
            if data is None and existing is None and not name:
                return dict(result, diff=diff)
            if existing is not None:
                result["data_type_changed"] = existing["type"] != new["type"]
                result["data_changed"] = existing["value"] != new["value"]
                diff["before"].setdefault(path, {})[name] = diff_value(existing)
            if existing is None or result["data_changed"] or result["data_type_changed"]:
                reg.set(path, name, new["type"], new["value"])
                result["changed"] = True
            diff["after"].setdefault(path, {})[name] = diff_value(new)
    if result["changed"]:
        ctx.applied += 1
    return dict(result, diff=diff)
