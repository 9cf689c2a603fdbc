"""PowerShell checks that run without Windows.

(a) Every *.ps1 in the repository parses with tree-sitter's PowerShell grammar (no ERROR/MISSING node).
(b) The collector (files whose first line is `# mtk-collector`) is read-only, by allow lists rather
    than deny lists: every command it invokes, every .NET method it calls and every .NET type it
    reaches statically (`[Type]::Member`, `[Type]::new()`) is on a list of reading ones; OpenSubKey
    only opens read-only; nothing is assigned to an object's property (no `.Attributes = ...`);
    ForEach-Object runs script blocks only (never `-MemberName`); auditpol/secedit only read, nothing
    is redirected to a file, and Remove-Item appears only as the cleanup of its own uniquely named
    temp file.

Why Remove-Item is allowed at all: `auditpol /backup` and `secedit /export` can only write to a file,
so the collector must delete its own temp file. It is allowed in exactly one spelling, on `$tempFile`,
and every assignment of `$tempFile` must build a fresh name under the temp directory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import mt_eklient
import pytest
import tree_sitter_powershell
from tree_sitter import Language, Node, Parser

REPO = Path(__file__).resolve().parents[1]
COLLECTOR = REPO / "verifier" / "mt_eklient" / "collector" / "collect.ps1"
SCHEMA = REPO / "verifier" / "mt_eklient" / "schemas" / "facts.schema.json"
SKIP_DIRS = {".venv", ".git", "node_modules", "__pycache__", ".tox", ".mypy_cache", ".ruff_cache"}

PARSER = Parser(Language(tree_sitter_powershell.language()))

# Commands the collector may invoke (case-insensitive). Functions defined in the collector itself are
# allowed too, unless their names use a changing verb (their bodies are checked like the rest).
READ_ONLY_COMMANDS = {
    "convertfrom-csv",
    "convertfrom-json",
    "convertto-json",
    "foreach-object",
    "get-applockerpolicy",
    "get-ciminstance",
    "get-command",
    "get-content",
    "get-date",
    "get-hotfix",
    "get-mpcomputerstatus",
    "get-mppreference",
    "get-netfirewalladdressfilter",
    "get-netfirewallapplicationfilter",
    "get-netfirewallportfilter",
    "get-netfirewallprofile",
    "get-netfirewallrule",
    "get-service",
    "get-smbserverconfiguration",
    "get-variable",
    "get-windowsoptionalfeature",
    "join-path",
    "out-null",
    "select-object",
    "sort-object",
    "where-object",
    # native tools, arguments checked below
    "auditpol.exe",
    "secedit.exe",
    # only as the cleanup of $tempFile, checked below
    "remove-item",
}
CHANGING_VERB = re.compile(
    r"^(set|new|add|remove|clear|invoke|start|stop|restart|suspend|resume|enable|disable|install|uninstall|"
    r"register|unregister|update|import|export|copy|move|rename|write|out|push|pop|grant|revoke|block|"
    r"unblock|mount|dismount|reset|repair|save|publish|send|lock|unlock|protect|unprotect)-",
    re.IGNORECASE,
)
NATIVE_FIRST_ARGUMENT = {"auditpol.exe": {"/get", "/backup", "/list"}, "secedit.exe": {"/export"}}
NATIVE_FORBIDDEN_ARGUMENT = re.compile(
    r"^/(set|restore|clear|remove|resourcesacl|configure|import|generaterollback|refreshpolicy)\b",
    re.IGNORECASE,
)
TEMP_CLEANUP = "Remove-Item -LiteralPath $tempFile -Force -ErrorAction SilentlyContinue -WhatIf:$false"
TEMP_ASSIGNMENT = re.compile(
    r"^Join-Path \(\[IO\.Path\]::GetTempPath\(\)\) \('mtk-[a-z]+-\{0\}\.[a-z]+' -f \[guid\]::NewGuid\(\)\)$"
)

# .NET methods: writes are named for a clear message; anything else must be on the reading list.
WRITE_METHODS = {
    "setvalue",
    "deletevalue",
    "createsubkey",
    "deletesubkey",
    "deletesubkeytree",
    "setaccesscontrol",
    "setinfo",
    "put",
    "putex",
    "setpassword",
    "commitchanges",
    "deletetree",
    "add",
    "remove",
    "delete",
    "create",
    "moveto",
    "copyto",
    "copy",
    "move",
    "replace",
    "writealltext",
    "writeallbytes",
    "writealllines",
    "appendalltext",
    "appendalllines",
    "kill",
    "start",
    "stop",
    "invokemethod",
}
READ_METHODS = {
    "addseconds",
    "close",
    "contains",
    "containskey",
    "getbytes",
    "getsubkeynames",
    "gettemppath",
    "gettype",
    "getvalue",
    "getvaluekind",
    "getvaluenames",
    "invoke",
    "invokemember",
    "newguid",
    "new",
    "openbasekey",
    "opensubkey",
    "split",
    "tolowerinvariant",
    "tostring",
    "touint32",
    "touint64",
    "touniversaltime",
    "toupperinvariant",
    "translate",
    "trim",
    "trimend",
}


# .NET types the collector may reach with `::` (static members, `::new`); anything else, such as
# [IO.File], [IO.StreamWriter] or [IO.FileStream], is rejected however harmless its member looks.
STATIC_TYPES = {
    "bitconverter",
    "datetime",
    "datetimekind",
    "environment",
    "globalization.cultureinfo",
    "guid",
    "io.path",
    "microsoft.win32.registryhive",
    "microsoft.win32.registrykey",
    "microsoft.win32.registryvalueoptions",
    "microsoft.win32.registryview",
    "security.principal.securityidentifier",
}
# The only property the collector sets: win_powershell's result flag, to say it changed nothing.
ALLOWED_PROPERTY_ASSIGNMENTS = {"$ansible.changed"}


def parse(source: bytes) -> Node:
    return PARSER.parse(source).root_node


def walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def line(node: Node) -> int:
    return node.start_point[0] + 1


def text(node: Node) -> str:
    return node.text.decode("utf-8", errors="replace") if node.text is not None else ""


def syntax_problems(label: str, source: bytes) -> list[str]:
    return [
        f"{label}:{line(node)}: {'missing ' + node.type if node.is_missing else 'syntax error'} near "
        f"{text(node)[:60]!r}"
        for node in walk(parse(source))
        if node.type == "ERROR" or node.is_missing
    ]


def ps1_files() -> list[Path]:
    return sorted(
        path
        for path in REPO.rglob("*.ps1")
        if not SKIP_DIRS.intersection(path.relative_to(REPO).parts[:-1]) and path.is_file()
    )


def is_collector(source: bytes) -> bool:
    first = source.decode("utf-8-sig", errors="replace").splitlines()[:1]
    return bool(first) and first[0].strip() == "# mtk-collector"


def _arguments(command: Node) -> list[Node]:
    elements = next((c for c in command.children if c.type == "command_elements"), None)
    if elements is None:
        return []
    return [c for c in elements.children if c.type != "command_argument_sep"]


def _unwrap(node: Node) -> Node:
    """The expression under the grammar's single-child precedence wrappers."""
    while node.child_count == 1:
        node = node.children[0]
    return node


def _call_arguments(invocation: Node) -> list[str]:
    argument_list = next((c for c in invocation.children if c.type == "argument_list"), None)
    if argument_list is None:
        return []
    return [text(n).strip("'\"") for n in walk(argument_list) if n.type == "argument_expression"]


def collector_violations(source: bytes, label: str = "collector") -> list[str]:
    root = parse(source)
    problems = syntax_problems(label, source)
    local_functions = {
        text(c).lower()
        for node in walk(root)
        if node.type == "function_statement"
        for c in node.children
        if c.type == "function_name"
    }
    for name in sorted(local_functions):
        if CHANGING_VERB.match(name):
            problems.append(f"{label}: function {name} is named with a changing verb")

    for node in walk(root):
        where = f"{label}:{line(node)}"
        if node.type == "command":
            for child in node.children:
                if child.type == "command_invokation_operator" and text(child) == ".":
                    problems.append(f"{where}: dot-sourcing is not allowed")
            name_node = next((c for c in node.children if c.type == "command_name"), None)
            expr = next((c for c in node.children if c.type == "command_name_expr"), None)
            if name_node is None and expr is not None:
                name_node = next((c for c in expr.children if c.type == "command_name"), None)
            if name_node is None:
                problems.append(f"{where}: dynamic command invocation {text(node)[:60]!r}")
                continue
            name = text(name_node).lower()
            if name in READ_ONLY_COMMANDS:
                pass
            elif CHANGING_VERB.match(name):
                problems.append(f"{where}: {text(name_node)} changes the host")
            elif name not in local_functions:
                problems.append(f"{where}: {text(name_node)} is not on the read-only allow list")
            args = [text(a).strip("'\"") for a in _arguments(node)]
            if name in NATIVE_FIRST_ARGUMENT:
                if not args or args[0].lower() not in NATIVE_FIRST_ARGUMENT[name]:
                    problems.append(
                        f"{where}: {name} may only be called with {sorted(NATIVE_FIRST_ARGUMENT[name])}"
                    )
                problems += [
                    f"{where}: {name} {a} changes the host"
                    for a in args
                    if NATIVE_FORBIDDEN_ARGUMENT.match(a)
                ]
            if name == "remove-item" and " ".join(text(node).split()) != TEMP_CLEANUP:
                problems.append(f"{where}: Remove-Item is only allowed as `{TEMP_CLEANUP}`")
            if name == "foreach-object" and any(a.type != "script_block_expression" for a in _arguments(node)):
                problems.append(f"{where}: ForEach-Object only with script blocks (-MemberName can call any method)")
        elif node.type in ("invokation_expression", "member_access") and node.children and \
                node.children[0].type == "type_literal":
            type_name = text(node.children[0]).strip("[]").lower()
            if type_name not in STATIC_TYPES:
                problems.append(f"{where}: [{text(node.children[0]).strip('[]')}]:: is not on the read-only type list")
        if node.type == "invokation_expression":
            member = next((c for c in node.children if c.type == "member_name"), None)
            if member is None:
                continue
            method = text(member).lower()
            args = _call_arguments(node)
            if method in WRITE_METHODS:
                problems.append(f"{where}: .{text(member)}() writes")
            elif method not in READ_METHODS:
                problems.append(f"{where}: .{text(member)}() is not on the read-only method list")
            elif method == "invoke" and args[:1] != ["Members"]:
                problems.append(f"{where}: .Invoke() is only allowed as .Invoke('Members')")
            elif method == "invokemember" and args[1:2] != ["GetProperty"]:
                problems.append(f"{where}: .InvokeMember() is only allowed with 'GetProperty'")
            elif method == "opensubkey" and (len(args) != 2 or args[1].lower() != "$false"):
                problems.append(f"{where}: .OpenSubKey() must open read-only: (name, $false)")
        elif node.type == "redirection" or (node.type == "generic_token" and ">" in text(node)):
            problems.append(f"{where}: output redirection {text(node)!r} is not allowed")
        elif node.type == "assignment_expression":
            left = text(node.children[0]).strip()
            # The target must be a variable or an element of one ($facts['registry'] = ...).
            targets = [_unwrap(node.children[0])]
            if targets[0].type == "array_literal_expression":  # $hive, $subPath = ...
                targets = [_unwrap(c) for c in targets[0].children if c.type != ","]
            for index, target in enumerate(targets):
                while target.type == "element_access":
                    target = _unwrap(target.children[0])
                targets[index] = target
            if any(t.type != "variable" for t in targets) and left.lower() not in ALLOWED_PROPERTY_ASSIGNMENTS:
                problems.append(f"{where}: assignment to a property ({left[:40]}) may change the host")
            if left.lower() == "$tempfile":
                right = " ".join(text(node.children[-1]).split())
                if not TEMP_ASSIGNMENT.match(right):
                    problems.append(f"{where}: $tempFile must be a fresh name under the temp directory")
        elif node.type == "foreach_statement" and any(text(c).lower() == "$tempfile" for c in node.children):
            problems.append(f"{where}: $tempFile must not be a loop variable")
    return problems


# ------------------------------------------------------------------------------------------------
# (a) every *.ps1 parses


def test_repository_has_powershell_files() -> None:
    assert COLLECTOR in ps1_files()


@pytest.mark.parametrize("path", ps1_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_ps1_parses(path: Path) -> None:
    problems = syntax_problems(str(path.relative_to(REPO)), path.read_bytes())
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "snippet",
    [
        "function Get-X { if ($a) { 'b' }\n",
        "param([Parameter(Mandatory)] $Request\n$x = 1\n",
        "$h = @{ a = 1\n",
        "try { Get-Date } catch {\n",
    ],
)
def test_parse_check_catches_broken_powershell(snippet: str) -> None:
    problems = syntax_problems("broken.ps1", snippet.encode())
    assert problems
    assert all(p.startswith("broken.ps1:") for p in problems)


# ------------------------------------------------------------------------------------------------
# (b) the collector is read-only


def collector_files() -> list[Path]:
    return [p for p in ps1_files() if is_collector(p.read_bytes())]


def test_the_collector_is_marked() -> None:
    assert COLLECTOR in collector_files()


@pytest.mark.parametrize("path", collector_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_collector_is_read_only(path: Path) -> None:
    problems = collector_violations(path.read_bytes(), str(path.relative_to(REPO)))
    assert not problems, "\n".join(problems)


def test_check_sees_the_collectors_commands() -> None:
    """Guard against a vacuous walker: the commands the collector must use are found."""
    root = parse(COLLECTOR.read_bytes())
    names = {text(n).lower() for n in walk(root) if n.type == "command_name"}
    assert {"auditpol.exe", "secedit.exe", "get-netfirewallrule", "get-mppreference", "remove-item"} <= names
    assert "get-wmiobject" not in names
    code = bytearray(COLLECTOR.read_bytes())
    for comment in (n for n in walk(root) if n.type == "comment"):
        code[comment.start_byte : comment.end_byte] = b" " * (comment.end_byte - comment.start_byte)
    assert b"win32_product" not in code.lower(), "never Win32_Product (slow, triggers MSI self-repair)"


MUTATIONS = [
    ("Set-ItemProperty -Path 'HKLM:\\SOFTWARE\\X' -Name Y -Value 1", "Set-ItemProperty"),
    ("New-Item -Path 'HKLM:\\SOFTWARE\\X'", "New-Item"),
    ("Add-MpPreference -ExclusionPath 'C:\\'", "Add-MpPreference"),
    ("Invoke-Expression 'Get-Date'", "Invoke-Expression"),
    ("iex 'Get-Date'", "iex"),
    ("Start-Process cmd.exe", "Start-Process"),
    ("Out-File -FilePath C:\\x.txt -InputObject 1", "Out-File"),
    ("reg.exe add HKLM\\SOFTWARE\\X /v Y /d 1", "reg.exe"),
    ("$key.SetValue('Y', 1)", ".SetValue()"),
    ("[Microsoft.Win32.Registry]::SetValue('HKEY_LOCAL_MACHINE\\X', 'Y', 1)", ".SetValue()"),
    ("$key.DeleteValue('Y')", ".DeleteValue()"),
    ("$group.Add('WinNT://x/y')", ".Add()"),
    ("$service.StopService()", ".StopService()"),
    ("[IO.File]::WriteAllText('C:\\x', 'y')", ".WriteAllText()"),
    ("$base.OpenSubKey('SOFTWARE', $true)", ".OpenSubKey()"),
    ("$base.OpenSubKey('SOFTWARE', 'ReadWriteSubTree')", ".OpenSubKey()"),
    ("$base.OpenSubKey('SOFTWARE', [Microsoft.Win32.RegistryKeyPermissionCheck]::ReadWriteSubTree)", ".OpenSubKey()"),
    ("$base.OpenSubKey('SOFTWARE')", ".OpenSubKey()"),
    ("$w = [IO.StreamWriter]::new('C:\\x.txt')", "[IO.StreamWriter]::"),
    ("$f = [IO.FileStream]::new('C:\\x.txt', 'Truncate')", "[IO.FileStream]::"),
    ("[System.IO.File]::Open('C:\\x.txt', 'Create')", "[System.IO.File]::"),
    ("(Get-Item -LiteralPath 'C:\\x.txt').Attributes = 'Hidden'", "assignment to a property"),
    ("$item.LastWriteTime = [datetime]::Now", "assignment to a property"),
    ("$a, $item.Attributes = 1, 'Hidden'", "assignment to a property"),
    ("$key | ForEach-Object -MemberName SetValue -ArgumentList 'Y', 1", "ForEach-Object only with script blocks"),
    ("$key | ForEach-Object SetValue 'Y' 1", "ForEach-Object only with script blocks"),
    ("$key.'SetValue'('Y', 1)", "is not on the read-only method list"),
    ("$group.Invoke('Add', 'WinNT://x/y')", ".Invoke()"),
    (
        "& auditpol.exe /set /subcategory:'{0cce9215-69ae-11d9-bed3-505054503030}' /success:enable",
        "auditpol.exe",
    ),
    ("& auditpol.exe /get /category:* /restore /file:x.csv", "/restore"),
    ("secedit.exe /configure /db x.sdb /cfg x.inf", "secedit.exe"),
    ("Remove-Item -LiteralPath 'C:\\Windows\\System32' -Recurse -Force", "Remove-Item"),
    (
        "Remove-Item -LiteralPath $tempFile -Recurse -Force -ErrorAction SilentlyContinue -WhatIf:$false",
        "Remove-Item",
    ),
    ("$tempFile = 'C:\\Windows\\win.ini'", "$tempFile"),
    ("& $command", "dynamic command invocation"),
    (". .\\other.ps1", "dot-sourcing"),
    ("Get-Date > C:\\out.txt", "redirection"),
    ("function Set-MtkThing { 'x' }", "changing verb"),
]


@pytest.mark.parametrize(("snippet", "expected"), MUTATIONS, ids=[m[0][:40] for m in MUTATIONS])
def test_mutated_collector_is_rejected(snippet: str, expected: str) -> None:
    source = COLLECTOR.read_text(encoding="utf-8") + "\n" + snippet + "\n"
    problems = collector_violations(source.encode(), "mutated.ps1")
    assert problems, f"not rejected: {snippet}"
    assert any(expected in p for p in problems), "\n".join(problems)


def test_set_itemproperty_in_collector_is_reported_with_line() -> None:
    original = COLLECTOR.read_text(encoding="utf-8")
    source = original + "Set-ItemProperty -Path 'HKLM:\\SOFTWARE\\X' -Name Y -Value 1\n"
    problems = collector_violations(source.encode(), "mutated.ps1")
    assert problems == [f"mutated.ps1:{original.count(chr(10)) + 1}: Set-ItemProperty changes the host"]


# ------------------------------------------------------------------------------------------------
# the collector's contract with the schema and the package


def test_collector_shape() -> None:
    source = COLLECTOR.read_text(encoding="utf-8")
    assert source.startswith("# mtk-collector\n")
    assert re.search(r"param\(\s*\[Parameter\(Mandatory\)\]\s*\$Request\s*\)", source)
    assert "ConvertTo-Json -InputObject $facts -Depth 8 -Compress" in source
    assert (
        "if (Get-Variable -Name Ansible -ErrorAction SilentlyContinue) {\n    $Ansible.Changed = $false"
        in source
    )
    assert f"$CollectorVersion = '{mt_eklient.__version__}'" in source


def test_collector_sections_match_the_schema() -> None:
    import json

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    source = COLLECTOR.read_text(encoding="utf-8")
    block = re.search(r"^\$facts = \[ordered\]@\{\n(.*?)^\}", source, re.MULTILINE | re.DOTALL)
    assert block
    keys = re.findall(r"^\s{4}(\w+)\s+=", block.group(1), re.MULTILINE)
    assert keys == list(schema["properties"])
    used_sections = set(re.findall(r"Get-MtkErrorEntry '(\w+)'", source))
    assert used_sections <= set(schema["properties"]["errors"]["items"]["properties"]["section"]["enum"])
    assert used_sections == set(keys) - {"schema_version", "collector", "collected_at", "errors"}
