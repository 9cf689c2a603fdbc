"""The facts document: loading and JSON Schema validation (schemas/facts.schema.json).

The collector (collector/collect.ps1) and the simulated lab both produce it; the evaluator reads it.
Every problem becomes one `Problem` whose field is the JSON path (`firewall.profiles.Domain.enabled`,
`hotfixes[0].id`).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mt_eklient.errors import InputError, Problem

if TYPE_CHECKING:  # jsonschema is imported only to explain an invalid document (it is slow to import)
    from jsonschema import Draft202012Validator, ValidationError

FACTS_SCHEMA_PATH = Path(__file__).parent / "schemas" / "facts.schema.json"

_REQUIRED = re.compile(r"^'(?P<name>.+)' is a required property$")


@cache
def facts_schema() -> dict[str, Any]:
    """The facts JSON Schema (draft 2020-12), read once."""
    return json.loads(FACTS_SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def _validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator, FormatChecker

    return Draft202012Validator(facts_schema(), format_checker=FormatChecker())


def _json_path(parts: list[str | int]) -> str:
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _problem(error: ValidationError, source: str) -> Problem:
    parts: list[str | int] = list(error.absolute_path)
    message = error.message
    if isinstance(error.instance, dict | list) and message.startswith(shown := repr(error.instance)):
        message = ("an object" if isinstance(error.instance, dict) else "an array") + message[len(shown) :]
    if error.validator == "required" and (match := _REQUIRED.match(message)):
        parts.append(match["name"])
        message = "required property is missing"
    elif error.validator == "contains" and parts == ["errors"]:
        section = error.validator_value.get("properties", {}).get("section", {}).get("const", "?")
        message = f"section '{section}' is null but errors has no entry for it"
    return Problem(source, None, _json_path(parts), message)


@cache
def _fast_validator() -> Any:
    import jsonschema_rs

    return jsonschema_rs.validator_for(facts_schema(), validate_formats=True)


def validate_facts(doc: Any, source: str) -> dict[str, Any]:
    """Return `doc` when it is a valid facts document, else raise InputError (one problem per error).

    jsonschema-rs answers "valid" at a fraction of jsonschema's cost (a scan validates one document
    per host); jsonschema, the reference, judges and explains everything else."""
    try:
        if _fast_validator().is_valid(doc):
            return doc
    except ValueError:  # values of str or dict subclasses (Ansible's, the lab's): jsonschema judges
        pass
    errors = sorted(
        _validator().iter_errors(doc), key=lambda e: ([str(p) for p in e.absolute_path], e.message)
    )
    if errors:
        raise InputError([_problem(error, source) for error in errors])
    return doc


def _decode(raw: bytes) -> str:
    # Windows PowerShell 5.1's `>` writes UTF-16 with a BOM; Out-File -Encoding utf8 writes a UTF-8 BOM.
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    return raw.decode("utf-8-sig")


def load_facts(path: str | Path) -> dict[str, Any]:
    """Read and validate a facts document (JSON file)."""
    source = str(path)
    try:
        text = _decode(Path(path).read_bytes())
    except OSError as exc:
        raise InputError.single(source, f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InputError.single(
            source, f"not valid UTF-8/UTF-16 text: {exc.reason} at byte {exc.start}"
        ) from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError.single(
            source, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", line=exc.lineno
        ) from exc
    return validate_facts(doc, source)
