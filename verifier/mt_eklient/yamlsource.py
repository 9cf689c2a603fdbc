"""YAML loading that remembers where every key and item stands, so errors can name a line.

Every YAML file the project reads goes through here, with two limits against hostile files
(docs/security.md): at most MAX_NODES nodes after alias expansion (a "billion laughs" alias bomb
of 1 KB would otherwise expand to 10^8 nodes) and at most MAX_DEPTH levels of nesting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InputError, Problem

if TYPE_CHECKING:
    import yaml

Path_ = tuple[str | int, ...]

# A device profile has a few hundred nodes, the largest catalog file a few thousand.
MAX_NODES = 100_000
MAX_DEPTH = 64


@dataclass
class YamlDocument:
    """Parsed data plus the 1-based line of each path (`("network", "inbound", 0, "ports")`)."""

    source: str
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int | None:
        """The line of the deepest known prefix of `path` (a missing key points at its parent)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None

    def problem(self, path: Path_, message: str) -> Problem:
        return Problem(self.source, self.line_of(path), format_path(path), message)


def format_path(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _TooBig(Exception):
    pass


def _walk(node: yaml.Node, path: Path_, lines: dict[Path_, int], problems: list[Problem], source: str,
          budget: list[int]) -> None:
    import yaml

    # Aliases make the node graph a DAG (or a cycle): counting every visit is counting the expansion.
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooBig(f"more than {MAX_NODES} values after alias expansion (an alias bomb?)")
    if len(path) > MAX_DEPTH:
        raise _TooBig(f"nested deeper than {MAX_DEPTH} levels")
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.ScalarNode) and node.tag == _TIMESTAMP and not _valid_timestamp(node):
        # YAML resolves 2027-02-30 as a date and then fails to build it: name the field instead.
        problems.append(Problem(source, node.start_mark.line + 1, format_path(path), "not a valid date (YYYY-MM-DD)"))
    elif isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            if key in seen:
                problems.append(Problem(source, key_node.start_mark.line + 1, format_path(child), "duplicate key"))
            seen.add(key)
            lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, lines, problems, source, budget)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines, problems, source, budget)


def plain_reason(context: str | None, context_line: int | None, problem: str, line: int | None) -> str:
    """PyYAML's parser wording in the words of someone editing the file, with PyYAML's own words after."""
    context, since = context or "", f" opened at line {context_line}" if context_line else ""
    if "quoted scalar" in context and "end of stream" in problem:
        plain = f"unclosed quote{since} (the file ends inside it)"
    elif "'\\t'" in problem or "'\t'" in problem:
        plain = "a tab character: indent with spaces"
    elif "flow sequence" in context:
        plain = f"unclosed [{since}, or a missing ','"
    elif "flow mapping" in context:
        plain = f"unclosed {{{since}, or a missing ','"
    elif "block" in context and ("expected <block end>" in problem or "expected key" in problem):
        plain = f"indentation: line {line} does not line up with the keys or items above it (block{since})"
    elif "mapping values are not allowed" in problem:
        plain = "a ': ' inside a value (quote the value) or wrong indentation"
    else:
        return problem
    return f"{plain} [{context + ': ' if context else ''}{problem}]"


_TIMESTAMP = "tag:yaml.org,2002:timestamp"


def _valid_timestamp(node: yaml.ScalarNode) -> bool:
    import yaml

    try:
        yaml.SafeLoader("").construct_yaml_timestamp(node)
    except ValueError:
        return False
    return True


def _compose(text: str, source: str) -> tuple[yaml.Node | None, dict[Path_, int]]:
    """The node graph and line of every path, after the limits; InputError on syntax errors,
    duplicate keys and files over the limits."""
    # Imported here: data loaded from the cache (datacache.py) needs no YAML, and PyYAML is ~10 ms.
    import yaml

    # libyaml composes the nodes (marks included: lines are kept) in a fraction of pure Python's time.
    fast_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        try:
            node = yaml.compose(text, Loader=fast_loader)
        except yaml.YAMLError:
            node = yaml.compose(text, Loader=yaml.SafeLoader)  # its messages are the clearer ones
    except yaml.YAMLError as err:
        mark, opened = getattr(err, "problem_mark", None), getattr(err, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = plain_reason(getattr(err, "context", None), opened.line + 1 if opened else None,
                              getattr(err, "problem", None) or str(err).splitlines()[0], line)
        raise InputError([Problem(source, line, "", f"malformed YAML: {reason}")]) from None
    except RecursionError:
        raise InputError.single(source, f"refused: nested deeper than {MAX_DEPTH} levels") from None
    lines: dict[Path_, int] = {}
    if node is None:
        return None, lines
    problems: list[Problem] = []
    try:
        _walk(node, (), lines, problems, source, [MAX_NODES])
    except _TooBig as err:
        raise InputError.single(source, f"refused: {err}") from None
    if problems:
        raise InputError(problems)
    return node, lines


def parse_yaml(text: str, source: str) -> YamlDocument:
    """Parse one YAML document; raise InputError (with the line) on syntax errors, duplicate keys,
    an empty file or a file over the limits."""
    node, lines = _compose(text, source)
    if node is None:
        raise InputError.single(source, "the file is empty")
    return YamlDocument(source, _construct(node, source), lines)


def _construct(node: yaml.Node, source: str) -> Any:
    # Composing succeeds on nodes that have no safe constructor (a bare `=`, the value key of
    # YAML 1.1): a problem of the file, with its line, not a crash.
    import yaml

    try:
        return yaml.SafeLoader("").construct_document(node)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        tag = _tag_of(err)
        reason = ("a bare = is YAML's value key: quote it ('=')" if tag == "tag:yaml.org,2002:value"
                  else f"unknown tag {tag!r}: quote the value or remove the tag" if tag
                  else getattr(err, "problem", None) or str(err).splitlines()[0])
        raise InputError([Problem(source, mark.line + 1 if mark else None, "", f"malformed YAML: {reason}")]) from None


def _tag_of(err: yaml.YAMLError) -> str | None:
    found = re.search(r"for the tag '([^']*)'", str(getattr(err, "problem", "") or ""))
    return found.group(1) if found else None


def safe_load(text: str, source: str) -> Any:
    """yaml.safe_load with the limits and duplicate-key check of parse_yaml; None for an empty text."""
    node, _ = _compose(text, source)
    return None if node is None else _construct(node, source)


def load_yaml(path: str | Path) -> YamlDocument:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError.single(str(path), "no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError.single(str(path), f"cannot read: {err}") from None
    return parse_yaml(text, str(path))


def find_by_id(doc_id: str, directory: Path, id_pattern: str, kind: str, field: str, source: str) -> Path:
    """`directory/<doc_id>.yml`: inventories name profiles and sites by id, never by path."""
    if not re.fullmatch(id_pattern, doc_id):
        raise InputError.single(source, f"{doc_id!r} is not a {kind} id (lower-case letters, digits and '-', as in "
                                f"the {kind}'s id; never a path)", field=field)
    path = directory / f"{doc_id}.yml"
    if not path.is_file():
        raise InputError.single(source, f"no {kind} {doc_id!r} in {directory}", field=field)
    return path
