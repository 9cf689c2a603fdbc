"""The facts document: loading and JSON Schema validation (schemas/facts.schema.json).

The collector (collector/collect.ps1) and the simulated lab both produce it; the evaluator reads it.
Every problem becomes one `Problem` whose field is the JSON path (`firewall.profiles.Domain.enabled`,
`hotfixes[0].id`).

A facts document comes from the host being verified, so it is bounded before anything reads it
(docs/security.md): at most MAX_FACTS_BYTES of JSON text and MAX_FACTS_DEPTH levels of nesting.
A document over a limit raises FactsRefused, which the scan and `mtk verify` report as one host
error. Lone UTF-16 surrogates (`"\\ud800"`, which no real text holds and no UTF-8 file can carry)
become U+FFFD.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mt_eklient.errors import InputError, Problem
from mt_eklient.textsafe import well_formed

if TYPE_CHECKING:  # jsonschema is imported only to explain an invalid document (it is slow to import)
    from jsonschema import Draft202012Validator, ValidationError

FACTS_SCHEMA_PATH = Path(__file__).parent / "schemas" / "facts.schema.json"

# A real facts document is well under 2 MB (thousands of firewall rules and programs included); the
# deepest schema path (firewall.rules[].remote_addresses[]) is 5 levels.
MAX_FACTS_BYTES = 16 * 1024 * 1024
MAX_FACTS_DEPTH = 32

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


class FactsRefused(InputError):
    """The document is over a limit or cannot be parsed at all: one host error, not a schema problem."""


# A parsed string can hold a lone surrogate only if the JSON text has one, raw or as a \uD800-\uDFFF
# escape; a text without either skips the repair pass (most hosts: it copies every string).
_SURROGATE_SOURCE = re.compile(r"[\ud800-\udfff]|\\u[dD][89abcdefABCDEF]")


def bound_facts(doc: Any, source: str, repair: bool = True) -> Any:
    """Check the depth limit without recursion and, with `repair`, replace lone surrogates in place;
    returns `doc`."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_FACTS_DEPTH:
            raise FactsRefused.single(source, f"facts nested deeper than {MAX_FACTS_DEPTH} levels (refused)")
        if not repair:
            if isinstance(node, dict | list):
                children = node.values() if isinstance(node, dict) else node
                stack.extend((v, depth + 1) for v in children if isinstance(v, dict | list))
        elif isinstance(node, dict):
            items = [(well_formed(k) if isinstance(k, str) else k, well_formed(v) if isinstance(v, str) else v)
                     for k, v in node.items()]
            node.clear()
            node.update(items)
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    node[index] = well_formed(item)
                elif isinstance(item, dict | list):
                    stack.append((item, depth + 1))
    return doc


def parse_facts_text(text: str, source: str) -> Any:
    """json.loads under the size limit; FactsRefused for an oversized or too deeply nested text,
    InputError for text that is not JSON."""
    if len(text) > MAX_FACTS_BYTES:
        raise FactsRefused.single(source, f"facts document of {len(text)} characters is over the limit of "
                                  f"{MAX_FACTS_BYTES} (refused)")
    try:
        return bound_facts(json.loads(text), source, repair=_SURROGATE_SOURCE.search(text) is not None)
    except RecursionError:
        raise FactsRefused.single(source, f"facts nested deeper than {MAX_FACTS_DEPTH} levels (refused)") from None


def validate_facts(doc: Any, source: str, bounded: bool = False) -> dict[str, Any]:
    """Return `doc` when it is a valid facts document, else raise InputError (one problem per error).

    The limits apply first (FactsRefused). jsonschema-rs answers "valid" at a fraction of jsonschema's
    cost (a scan validates one document per host); jsonschema, the reference, judges and explains
    everything else. `bounded`: the document came from parse_facts_text, which applied the limits."""
    if not bounded:
        bound_facts(doc, source)
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
        if Path(path).stat().st_size > 4 * MAX_FACTS_BYTES:  # UTF-16 doubles; refuse before reading
            raise FactsRefused.single(source, f"facts file over the limit of {MAX_FACTS_BYTES} characters (refused)")
        text = _decode(Path(path).read_bytes())
    except OSError as exc:
        raise InputError.single(source, f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InputError.single(
            source, f"not valid UTF-8/UTF-16 text: {exc.reason} at byte {exc.start}"
        ) from exc
    try:
        doc = parse_facts_text(text, source)
    except json.JSONDecodeError as exc:
        raise InputError.single(
            source, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", line=exc.lineno
        ) from exc
    return validate_facts(doc, source, bounded=True)
