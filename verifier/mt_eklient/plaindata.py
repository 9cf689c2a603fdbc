"""Profile and catalog models as plain JSON data, without pydantic's serializer.

`model_dump(mode="json")` builds a model's validator and serializer on first use; models loaded
from the cache (datacache.py) have built neither, and building them is most of what a cached
`mtk verify` would still spend in pydantic. `plain` gives the same result for this package's
models (tests/test_datacache.py compares the two on every profile and catalog control).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel


def plain(value: Any, exclude_defaults: bool = False, exclude_none: bool = False, exclude_unset: bool = False) -> Any:
    """`value.model_dump(mode="json", exclude_defaults=..., exclude_none=..., exclude_unset=...)` for
    models; JSON data for the rest."""
    if isinstance(value, BaseModel):
        out: dict[str, Any] = {}
        for name, field in type(value).model_fields.items():
            if exclude_unset and name not in value.model_fields_set:
                continue
            item = getattr(value, name)
            if exclude_none and item is None:
                continue
            if exclude_defaults and not field.is_required() and item == field.get_default(call_default_factory=True):
                continue
            out[name] = plain(item, exclude_defaults, exclude_none, exclude_unset)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item, exclude_defaults, exclude_none, exclude_unset) for item in value]
    if isinstance(value, dict):
        return {_key(k): plain(v, exclude_defaults, exclude_none, exclude_unset) for k, v in value.items()}
    if isinstance(value, date):
        return value.isoformat()
    return value


def _key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, date):
        return key.isoformat()
    return str(key)
