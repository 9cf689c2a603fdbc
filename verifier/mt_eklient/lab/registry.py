"""The simulated registry: typed values under case-insensitive key paths, like Windows.

Stored in the state as `{"HKLM\\Path\\As\\First\\Written": {"ValueName": {"type": "REG_DWORD",
"value": 1}}}`. The key and value names keep the case they were created with; every lookup is
case-insensitive. A key exists when it is stored or when a stored key lies below it (Windows
creates parent keys implicitly). The default value has the name "".
"""

from __future__ import annotations

from typing import Any

REG_TYPES = ("REG_NONE", "REG_SZ", "REG_EXPAND_SZ", "REG_BINARY", "REG_DWORD", "REG_MULTI_SZ", "REG_QWORD")

# Type names used by win_regedit and by the catalog / registry applier.
TYPE_BY_WORD = {
    "none": "REG_NONE", "string": "REG_SZ", "expandstring": "REG_EXPAND_SZ", "binary": "REG_BINARY",
    "dword": "REG_DWORD", "multistring": "REG_MULTI_SZ", "qword": "REG_QWORD",
}
# .NET RegistryValueKind names, which win_regedit's diff shows.
KIND_NAME = {
    "REG_NONE": "None", "REG_SZ": "String", "REG_EXPAND_SZ": "ExpandString", "REG_BINARY": "Binary",
    "REG_DWORD": "DWord", "REG_MULTI_SZ": "MultiString", "REG_QWORD": "QWord",
}

_HIVES = {
    "HKLM": "HKLM", "HKEY_LOCAL_MACHINE": "HKLM", "HKCU": "HKCU", "HKEY_CURRENT_USER": "HKCU",
    "HKU": "HKU", "HKEY_USERS": "HKU", "HKCR": "HKCR", "HKEY_CLASSES_ROOT": "HKCR",
    "HKCC": "HKCC", "HKEY_CURRENT_CONFIG": "HKCC",
}

Value = dict[str, Any]  # {"type": "REG_*", "value": ...}


class RegistryPathError(ValueError):
    pass


def normalise_key(path: str) -> str:
    """`HKLM:\\X`, `HKLM\\X`, `HKEY_LOCAL_MACHINE\\X`, `Registry::HKLM\\X` -> `HKLM\\X`."""
    text = path.strip()
    if text.lower().startswith("registry::"):
        text = text[len("registry::"):]
    text = text.replace("/", "\\")
    hive, _, rest = text.partition("\\")
    hive = hive.rstrip(":").upper()
    if hive not in _HIVES:
        raise RegistryPathError(f"{path!r} is not a registry path in HKLM, HKCU, HKU, HKCR or HKCC")
    parts = [p for p in rest.split("\\") if p]
    return "\\".join([_HIVES[hive], *parts])


def _fold(text: str) -> str:
    return text.casefold()


class Registry:
    """A view over `state["registry"]`; changes go straight into the state dict."""

    def __init__(self, data: dict[str, dict[str, Value]]):
        self.data = data

    def _stored_key(self, path: str) -> str | None:
        wanted = _fold(normalise_key(path))
        for key in self.data:
            if _fold(key) == wanted:
                return key
        return None

    def key_exists(self, path: str) -> bool:
        wanted = _fold(normalise_key(path))
        prefix = wanted + "\\"
        return any(_fold(k) == wanted or _fold(k).startswith(prefix) for k in self.data)

    def values(self, path: str) -> dict[str, Value]:
        key = self._stored_key(path)
        return dict(self.data[key]) if key else {}

    def get(self, path: str, name: str) -> Value | None:
        key = self._stored_key(path)
        if key is None:
            return None
        for stored, value in self.data[key].items():
            if _fold(stored) == _fold(name):
                return value
        return None

    def subkeys(self, path: str) -> list[str]:
        """Names of the direct subkeys (case as stored)."""
        prefix = _fold(normalise_key(path)) + "\\"
        names: dict[str, str] = {}
        for key in self.data:
            if _fold(key).startswith(prefix):
                child = key[len(prefix):].split("\\", 1)[0]
                names.setdefault(_fold(child), child)
        return sorted(names.values(), key=str.casefold)

    def create_key(self, path: str) -> bool:
        if self.key_exists(path):
            if self._stored_key(path) is None:
                self.data[normalise_key(path)] = {}  # implicit parent made explicit; not a change
            return False
        self.data[normalise_key(path)] = {}
        return True

    def set(self, path: str, name: str, reg_type: str, value: Any) -> bool:
        """Set a value; True when the type or data changed. Data compare is case-sensitive like
        win_regedit's `-cne`."""
        if reg_type not in REG_TYPES:
            raise ValueError(f"unknown registry type {reg_type!r}")
        self.create_key(path)
        key = self._stored_key(path)
        assert key is not None
        values = self.data[key]
        stored_name = next((n for n in values if _fold(n) == _fold(name)), name)
        new = {"type": reg_type, "value": value}
        if values.get(stored_name) == new:
            return False
        values[stored_name] = new
        return True

    def delete_value(self, path: str, name: str) -> bool:
        key = self._stored_key(path)
        if key is None:
            return False
        for stored in list(self.data[key]):
            if _fold(stored) == _fold(name):
                del self.data[key][stored]
                return True
        return False

    def delete_key(self, path: str) -> bool:
        """Delete a key and its subtree."""
        wanted = _fold(normalise_key(path))
        doomed = [k for k in self.data if _fold(k) == wanted or _fold(k).startswith(wanted + "\\")]
        for key in doomed:
            del self.data[key]
        return bool(doomed)


def diff_value(value: Value) -> dict[str, Any]:
    """win_regedit's Get-DiffValue: .NET kind name, hex for DWORD/QWORD/binary."""
    reg_type, data = value["type"], value["value"]
    if reg_type == "REG_DWORD":
        data = f"0x{int(data) & 0xFFFFFFFF:08x}"
    elif reg_type == "REG_QWORD":
        data = f"0x{int(data) & 0xFFFFFFFFFFFFFFFF:016x}"
    elif reg_type in ("REG_BINARY", "REG_NONE"):
        data = [f"0x{b:02x}" for b in bytes.fromhex(data or "")]
    return {"type": KIND_NAME[reg_type], "value": data}
