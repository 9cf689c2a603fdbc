"""Just enough of PowerShell's literal syntax to read a module's `$spec = @{ ... }` hashtable.

The real modules keep constraints the documentation omits (no_log, required_by, mutually_exclusive
of suboptions) only in the PowerShell spec; this reads them without running PowerShell. It knows
hashtables, arrays, quoted strings, numbers, $true/$false/$null, the comma operator (unary and
binary) and variables (kept as `VarRef`, e.g. win_service's `$uint32Type`). Anything else raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class VarRef:
    name: str


class PsParseError(ValueError):
    pass


_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r]+|`\n)
  | (?P<comment><\#.*?\#>|\#[^\n]*)
  | (?P<nl>\n)
  | (?P<open>@\{|@\(|\{|\()
  | (?P<close>\}|\))
  | (?P<sq>'(?:[^']|'')*')
  | (?P<dq>"(?:[^"`]|`.|"")*")
  | (?P<num>-?0x[0-9a-fA-F]+|-?\d+(?:\.\d+)?)
  | (?P<var>\$[A-Za-z_][\w:]*)
  | (?P<cast>\[[\w.`\[\], ]+\])
  | (?P<punct>[,;=])
  | (?P<word>[A-Za-z_][\w.-]*)
""", re.VERBOSE | re.DOTALL)


def _tokens(text: str) -> Iterator[tuple[str, str]]:
    """Lazily: the parser stops at the spec's closing brace, before code this cannot read."""
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise PsParseError(f"cannot read PowerShell near {text[pos:pos + 30]!r}")
        kind = match.lastgroup or ""
        if kind not in ("ws", "comment"):
            yield kind, match.group()
        pos = match.end()


class _Parser:
    def __init__(self, tokens: Iterator[tuple[str, str]]):
        self.toks = tokens
        self.ahead: tuple[str, str] | None = None

    def peek(self) -> tuple[str, str]:
        if self.ahead is None:
            self.ahead = next(self.toks, ("eof", ""))
        return self.ahead

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        self.ahead = None
        return tok

    def skip_newlines(self) -> None:
        while self.peek()[0] == "nl":
            self.take()

    def expression(self) -> Any:
        """A comma list (binary comma) or a single term."""
        items = [self.term()]
        is_list = False
        while self.peek() == ("punct", ","):
            self.take()
            self.skip_newlines()
            items.append(self.term())
            is_list = True
        return items if is_list else items[0]

    def term(self) -> Any:
        kind, text = self.take()
        if (kind, text) == ("punct", ","):  # unary comma: a one-element array
            return [self.term()]
        if kind == "cast":  # [type] value: keep the value
            return self.term()
        if kind == "open" and text == "@{":
            return self.hashtable()
        if kind == "open" and text == "@(":
            return self.array()
        if kind == "open" and text == "(":
            self.skip_newlines()
            value = self.expression()
            self.skip_newlines()
            if self.take() != ("close", ")"):
                raise PsParseError("expected )")
            return value
        if kind == "sq":
            return text[1:-1].replace("''", "'")
        if kind == "dq":
            return re.sub(r"`(.)", r"\1", text[1:-1]).replace('""', '"')
        if kind == "num":
            return int(text, 16) if "x" in text.lower() else (float(text) if "." in text else int(text))
        if kind == "var":
            low = text.lower()
            if low in ("$true", "$false", "$null"):
                return {"$true": True, "$false": False, "$null": None}[low]
            return VarRef(text[1:])
        raise PsParseError(f"unexpected {text!r} in a PowerShell literal")

    def hashtable(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        while True:
            while self.peek()[0] == "nl" or self.peek() == ("punct", ";"):
                self.take()
            kind, text = self.take()
            if (kind, text) == ("close", "}"):
                return out
            if kind not in ("word", "sq", "dq"):
                raise PsParseError(f"expected a hashtable key, got {text!r}")
            key = text[1:-1] if kind in ("sq", "dq") else text
            if self.take() != ("punct", "="):
                raise PsParseError(f"expected = after {key}")
            self.skip_newlines()
            out[key] = self.expression()

    def array(self) -> list[Any]:
        out: list[Any] = []
        while True:
            while self.peek()[0] == "nl" or self.peek() == ("punct", ";"):
                self.take()
            if self.peek() == ("close", ")"):
                self.take()
                return out
            value = self.expression()
            # a statement's output is enumerated into the array: lists flatten one level
            out.extend(value if isinstance(value, list) else [value])


def parse_spec(script: str) -> dict[str, Any] | None:
    """The `$spec = @{...}` hashtable of a module script, or None when there is none (legacy)."""
    match = re.search(r"^\$spec\s*=\s*@\{", script, re.MULTILINE | re.IGNORECASE)
    if not match:
        return None
    parser = _Parser(_tokens(script[match.end() - 2:]))
    parser.take()  # @{
    return parser.hashtable()


_LEGACY_REQUIRED = re.compile(
    r"Get-AnsibleParam\b[^\n]*?-name\s+[\"'](?P<name>\w+)[\"'][^\n]*?-failifempty\s+\$true", re.IGNORECASE)


def legacy_required(script: str) -> list[str]:
    """Options a legacy (Parse-Args) module requires with `-failifempty $true`."""
    return sorted({m.group("name") for m in _LEGACY_REQUIRED.finditer(script)})
