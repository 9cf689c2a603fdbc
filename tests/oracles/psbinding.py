"""Cmdlet parameter-set binding check of PowerShell scripts against Microsoft's documented syntax.

Reads `cmdlets.json` (../shared/data/windows-reference: the SYNTAX sections of Microsoft's PowerShell
reference, per docset) and checks every cmdlet call in a script the way PowerShell's parameter
binder would reject it:

- every named parameter (or unambiguous prefix) exists, and ONE documented parameter set holds all
  of them - the parameters a splatted hashtable (`@settings`) can carry included: keys of hashtable
  literals, `$x.Key = ...`, `$x['Key'] = ...` and the hashtable a helper function of the same file
  returns;
- mandatory parameters of that set are given, by name, by position or (one) from the pipeline;
- the cmdlet is documented for every docset asked for, or defined in the same file.

A splat whose keys are only known at run time (`$set[$name] = ...`) is returned as unresolved; the
caller supplies its possible keys (from the Python that computes them) or reports it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tree_sitter_powershell
from tree_sitter import Language, Node, Parser

PARSER = Parser(Language(tree_sitter_powershell.language()))

# PowerShell's common parameters (about_CommonParameters); the reference leaves them out.
COMMON = ("Verbose", "Debug", "ErrorAction", "WarningAction", "InformationAction", "ErrorVariable",
          "WarningVariable", "InformationVariable", "OutVariable", "OutBuffer", "PipelineVariable")
COMMON_SWITCHES = ("Verbose", "Debug")
SWITCH = "SwitchParameter"
_WRAPPERS = {"logical_expression", "bitwise_expression", "comparison_expression", "additive_expression",
             "multiplicative_expression", "format_expression", "range_expression", "array_literal_expression",
             "unary_expression", "pipeline_chain", "pipeline", "left_assignment_expression",
             "parenthesized_expression"}


@dataclass
class Reference:
    """cmdlet (lower case) -> docset -> parameter set -> parameter -> {mandatory, positional, type}."""

    cmdlets: dict[str, dict[str, dict[str, dict[str, dict[str, Any]]]]]
    names: dict[str, str]  # lower -> documented spelling
    modules: dict[str, str]  # cmdlet (lower) -> module
    module_docsets: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, supplement: dict[str, Any] | None = None) -> Reference:
        raw = json.loads(path.read_text(encoding="utf-8"))["cmdlets"]
        raw = {**(supplement or {}), **raw}
        cmdlets, names, modules = {}, {}, {}
        module_docsets: dict[str, set[str]] = {}
        for name, entry in raw.items():
            key = name.lower()
            names[key] = name
            modules[key] = entry["module"]
            cmdlets[key] = {ds: doc["parameter_sets"] for ds, doc in entry["docsets"].items()}
            module_docsets.setdefault(entry["module"], set()).update(entry["docsets"])
        return cls(cmdlets, names, modules, module_docsets)

    def sets_for(self, cmdlet: str, docset: str, order: list[str]) -> tuple[str, dict[str, Any]] | None:
        """(docset used, parameter sets) of a cmdlet for one docset. Core cmdlets are documented once
        (powershell-5.1). A module Microsoft documents only for a later docset (Dism: winserver2025-ps)
        is judged by the nearest later docset that has it; a cmdlet missing from a docset that does
        document its module did not exist there: None."""
        docs = self.cmdlets[cmdlet]
        if "powershell-5.1" in docs:
            return "powershell-5.1", docs["powershell-5.1"]
        if docset in docs:
            return docset, docs[docset]
        if docset in self.module_docsets.get(self.modules[cmdlet], set()):
            return None
        for later in order[order.index(docset) + 1:]:
            if later in docs:
                return later, docs[later]
        return None


@dataclass
class Call:
    line: int
    cmdlet: str
    # ("param", name) | ("param:", name) (value attached with a colon) | ("value", text) | ("splat", variable)
    elements: list[tuple[str, str]]
    piped: bool

    @property
    def splats(self) -> list[str]:
        return [v for kind, v in self.elements if kind == "splat"]


@dataclass
class Splat:
    keys: set[str]
    dynamic: list[int]  # lines where a key is computed at run time


@dataclass
class Unresolved:
    file: str
    line: int
    cmdlet: str
    variable: str


def text(node: Node) -> str:
    return node.text.decode("utf-8", errors="replace") if node.text is not None else ""


def walk(node: Node, skip_functions: bool = False) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        children = [c for c in current.children if not (skip_functions and c.type == "function_statement")]
        stack.extend(reversed(children))


def unwrap(node: Node) -> Node:
    while node.type in _WRAPPERS and len(node.named_children) == 1:
        node = node.named_children[0]
    return node


def _literal(node: Node) -> str | None:
    """The value of a constant key (bare word or quoted string without variables)."""
    node = unwrap(node)
    if node.type == "key_expression":
        node = unwrap(node.named_children[0]) if node.named_children else node
    if node.type in ("simple_name", "generic_token"):
        return text(node)
    if node.type == "string_literal":
        raw = text(node)
        if raw[:1] == "'" or (raw[:1] == '"' and "$" not in raw):
            return raw[1:-1]
    return None


# ---------------------------------------------------------------- splat keys


class Script:
    def __init__(self, label: str, source: bytes):
        self.label = label
        self.root = PARSER.parse(source).root_node
        self.functions: dict[str, Node] = {}
        for node in walk(self.root):
            if node.type == "function_statement":
                name = next((c for c in node.children if c.type == "function_name"), None)
                if name is not None:
                    self.functions[text(name).lower()] = node

    def scope_of(self, node: Node) -> Node:
        parent = node.parent
        while parent is not None and parent.type != "function_statement":
            parent = parent.parent
        return parent if parent is not None else self.root

    def splat_keys(self, scope: Node, variable: str, seen: frozenset[tuple[int, str]] = frozenset()) -> Splat:
        marker = (scope.start_byte, variable.lower())
        if marker in seen:
            return Splat(set(), [])
        seen = seen | {marker}
        out = Splat(set(), [])
        body = scope if scope.type != "function_statement" else next(
            c for c in scope.children if c.type == "script_block")
        for node in walk(body, skip_functions=True):
            if node.type != "assignment_expression":
                continue
            left = unwrap(node.children[0])
            right = node.children[-1]
            if left.type == "variable" and text(left).lower() == f"${variable.lower()}":
                if text(node.children[1]).strip() != "=":
                    out.dynamic.append(node.start_point[0] + 1)
                    continue
                self._value_keys(scope, right, out, seen)
            elif left.type == "member_access":
                target, member = unwrap(left.children[0]), left.children[-1]
                if target.type == "variable" and text(target).lower() == f"${variable.lower()}":
                    key = _literal(member.named_children[0]) if member.named_children else None
                    if key is None:
                        out.dynamic.append(node.start_point[0] + 1)
                    else:
                        out.keys.add(key)
            elif left.type == "element_access":
                target = unwrap(left.children[0])
                if target.type == "variable" and text(target).lower() == f"${variable.lower()}":
                    index = next((c for c in left.named_children[1:]), None)
                    key = _literal(index) if index is not None else None
                    if key is None:
                        out.dynamic.append(node.start_point[0] + 1)
                    else:
                        out.keys.add(key)
        return out

    def _value_keys(self, scope: Node, right: Node, out: Splat, seen: frozenset[tuple[int, str]]) -> None:
        value = unwrap(right)
        if value.type == "hash_literal_expression":
            for entry in (n for n in walk(value) if n.type == "hash_entry" and _owner(n) == value):
                key = _literal(entry.children[0])
                if key is None:
                    out.dynamic.append(entry.start_point[0] + 1)
                else:
                    out.keys.add(key)
            return
        if value.type == "command":
            name = next((c for c in value.children if c.type == "command_name"), None)
            function = self.functions.get(text(name).lower()) if name is not None else None
            if function is not None:
                returned = self.returned_keys(function, seen)
                out.keys |= returned.keys
                out.dynamic += returned.dynamic
                return
        out.dynamic.append(right.start_point[0] + 1)

    def returned_keys(self, function: Node, seen: frozenset[tuple[int, str]]) -> Splat:
        """Keys of the hashtable(s) a function returns: its top-level bare `$var` or `return $var`."""
        out = Splat(set(), [])
        body = next(c for c in function.children if c.type == "script_block")
        statements = next((n for n in walk(body) if n.type == "statement_list"), None)
        for statement in statements.named_children if statements is not None else []:
            node = unwrap(statement)
            if node.type == "flow_control_statement" and text(node).lower().startswith("return"):
                node = unwrap(node.named_children[-1]) if node.named_children else node
            if node.type == "variable":
                found = self.splat_keys(function, text(node)[1:], seen)
                out.keys |= found.keys
                out.dynamic += found.dynamic
            elif node.type == "hash_literal_expression":
                self._value_keys(function, node, out, seen)
        return out

    def calls(self) -> Iterator[tuple[Node, Call | None]]:
        for node in walk(self.root):
            if node.type != "command":
                continue
            name = next((c for c in node.children if c.type == "command_name"), None)
            expr = next((c for c in node.children if c.type == "command_name_expr"), None)
            if name is None and expr is not None:
                name = next((c for c in expr.children if c.type == "command_name"), None)
            if name is None:
                yield node, None
                continue
            elements = next((c for c in node.children if c.type == "command_elements"), None)
            found: list[tuple[str, str]] = []
            for item in elements.children if elements is not None else []:
                if item.type == "command_argument_sep":
                    if ":" in text(item) and found and found[-1][0] == "param":
                        found[-1] = ("param:", found[-1][1])
                elif item.type == "command_parameter":
                    raw = text(item)
                    found.append(("param:" if raw.endswith(":") else "param", raw.lstrip("-").rstrip(":")))
                elif unwrap(item).type == "variable" and text(item).startswith("@"):
                    found.append(("splat", text(item)[1:]))
                else:
                    found.append(("value", text(item)))
            previous = node.prev_sibling
            piped = previous is not None and text(previous) == "|"
            yield node, Call(node.start_point[0] + 1, text(name), found, piped)


def _owner(entry: Node) -> Node | None:
    parent = entry.parent
    while parent is not None and parent.type != "hash_literal_expression":
        parent = parent.parent
    return parent


# ---------------------------------------------------------------- binding


def _resolve(name: str, parameters: dict[str, str]) -> tuple[str | None, str | None]:
    """(parameter, error) for a name as written: exact, else an unambiguous prefix."""
    lower = name.lower()
    if lower in parameters:
        return parameters[lower], None
    matches = sorted({v for k, v in parameters.items() if k.startswith(lower)})
    if len(matches) == 1:
        return matches[0], None
    if not matches:
        return None, f"-{name} is not a parameter"
    return None, f"-{name} is ambiguous ({', '.join('-' + m for m in matches)})"


def bind(call: Call, sets: dict[str, dict[str, Any]], splat_keys: Iterable[str]) -> str | None:
    """None when the call binds to one parameter set, else why not."""
    everything: dict[str, str] = {p.lower(): p for p in COMMON}
    types: dict[str, str] = {}
    for parameters in sets.values():
        for parameter, spec in parameters.items():
            everything[parameter.lower()] = parameter
            types.setdefault(parameter, spec.get("type", ""))
    given: list[str] = []
    positional = 0
    elements = list(call.elements)
    index = 0
    while index < len(elements):
        kind, value = elements[index]
        index += 1
        if kind == "value":
            positional += 1
            continue
        if kind == "splat":
            continue
        parameter, error = _resolve(value, everything)
        if error:
            return error
        assert parameter is not None
        if parameter in given:
            return f"-{parameter} is given twice"
        given.append(parameter)
        takes_value = kind == "param:" or (types.get(parameter) != SWITCH and parameter not in COMMON_SWITCHES)
        if takes_value:
            if index >= len(elements) or elements[index][0] != "value":
                return f"-{parameter} needs a value"
            index += 1
    for written in splat_keys:
        parameter, error = _resolve(written, everything)
        if error:
            return f"splatted key {written!r}: {error}"
        assert parameter is not None
        if parameter in given:
            return f"-{parameter} is given twice"
        given.append(parameter)
    own = [p for p in given if p not in COMMON]
    fitting = {name: params for name, params in sets.items() if all(p in params for p in own)}
    if not fitting:
        for i, first in enumerate(own):
            for second in own[i + 1:]:
                if not any(first in ps and second in ps for ps in sets.values()):
                    a = [n for n, ps in sets.items() if first in ps]
                    b = [n for n, ps in sets.items() if second in ps]
                    return (f"-{first} and -{second} are in different parameter sets "
                            f"({'/'.join(a)}, {'/'.join(b)})")
        return f"no parameter set takes {' '.join('-' + p for p in own)}"
    reasons = []
    for name, params in fitting.items():
        free_positional = [p for p, s in params.items() if s.get("positional") and p not in own]
        if positional > len(free_positional):
            reasons.append(f"{positional} positional argument(s) but set {name} takes {len(free_positional)}")
            continue
        missing = [p for p, s in params.items() if s.get("mandatory") and p not in own]
        by_position = [p for p in missing if params[p].get("positional")][:positional]
        missing = [p for p in missing if p not in by_position]
        if len(missing) > (1 if call.piped else 0):
            reasons.append(f"set {name} needs {' '.join('-' + p for p in missing)}")
            continue
        return None
    return "; ".join(reasons)


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)
    checked: int = 0  # cmdlet calls bound against the reference
    substituted: set[str] = field(default_factory=set)  # "Cmdlet: docset -> docset used"


def check_script(label: str, source: bytes, reference: Reference, docsets: list[str], order: list[str],
                 runtime_keys: dict[tuple[str, str], Iterable[str]] | None = None) -> Report:
    """Every cmdlet call of one script bound for every docset in `docsets`.
    runtime_keys: (script label, splat variable) -> the keys a run-time-built splat can hold."""
    script = Script(label, source)
    report = Report()
    runtime_keys = {(f.lower(), v.lower()): list(k) for (f, v), k in (runtime_keys or {}).items()}
    for node, call in script.calls():
        if call is None:
            report.problems.append(f"{label}:{node.start_point[0] + 1}: dynamic command {text(node)[:50]!r} "
                                   "cannot be checked")
            continue
        key = call.cmdlet.lower()
        if key in script.functions or key.endswith(".exe"):
            continue
        if key not in reference.cmdlets:
            report.problems.append(f"{label}:{call.line}: {call.cmdlet}: not documented in Microsoft's reference "
                                   "nor defined in this file")
            continue
        keys: set[str] = set()
        for variable in call.splats:
            found = script.splat_keys(script.scope_of(node), variable)
            keys |= found.keys
            if found.dynamic:
                supplied = runtime_keys.get((label.lower(), variable.lower()))
                if supplied is None:
                    report.unresolved.append(Unresolved(label, call.line, call.cmdlet, variable))
                    continue
                keys |= set(supplied)
        spelled = reference.names[key]
        failures: dict[str, list[str]] = {}
        for docset in docsets:
            found_sets = reference.sets_for(key, docset, order)
            if found_sets is None:
                failures.setdefault(f"not documented for {docset}", []).append(docset)
                continue
            used, sets = found_sets
            if used not in (docset, "powershell-5.1"):
                report.substituted.add(f"{spelled}: {docset} judged by {used}")
            report.checked += 1
            error = bind(call, sets, sorted(keys))
            if error:
                failures.setdefault(error, []).append(docset)
        for error, where in failures.items():
            suffix = "" if len(where) == len(docsets) else f" (on {', '.join(where)})"
            report.problems.append(f"{label}:{call.line}: {spelled}: {error}{suffix}")
    return report
