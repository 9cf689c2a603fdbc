"""Static checks of the build: playbook syntax, ansible-lint (production profile), role layout,
no control value typed in a task, and the PowerShell appliers' contract (parsed with tree-sitter)."""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tree_sitter_powershell
import yaml
from mt_eklient.catalog import load_catalog_dir
from tree_sitter import Language, Node, Parser

REPO = Path(__file__).resolve().parents[2]
ROLES = sorted(p for p in (REPO / "roles").iterdir() if p.is_dir())
PLAYBOOKS = sorted((REPO / "playbooks").glob("*.yml"))
APPLIERS = sorted((REPO / "roles").glob("*/files/*.ps1"))
BIN = Path(sys.executable).parent
PARSER = Parser(Language(tree_sitter_powershell.language()))

# docs/design.md, "Build appliers": the parameters of each applier (the changes of the change set).
APPLIER_PARAMS = {
    "registry": {"Changes"},
    "audit_policy": {"Changes"},
    "security_policy": {"Changes"},
    "defender": {"Changes"},
    "applocker": {"PolicyXml", "Changes"},
    "firewall_rules": {"Group", "Changes"},
    "firewall_disable": {"Names"},
}
EXPECTED_ROLES = {"mt_preflight", "mt_segmentation", "mt_whitelisting", "mt_antivirus", "mt_patching", "mt_policies",
                  "mt_monitoring", "mt_nameplate", "mt_verify", "mt_scan"}


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "ANSIBLE_NOCOLOR": "1",
            "NO_COLOR": "1", "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}


# ---------------------------------------------------------------- Ansible

@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=lambda p: p.name)
def test_playbook_syntax(playbook):
    result = subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,", str(playbook)],
                            cwd=REPO, env=_env(), capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_make_lint_runs_ansible_lint_with_the_production_profile():
    """ansible-lint runs once per `make test`, in `make lint` (it takes longer than most test modules)."""
    lint = re.search(r"^lint:.*?(?=^\S|\Z)", (REPO / "Makefile").read_text(), re.MULTILINE | re.DOTALL)
    assert lint, "the Makefile has no lint target"
    assert re.search(r"ansible-lint --profile production --offline .*playbooks roles requirements\.yml", lint.group(0))
    assert re.search(r"^test: .*\blint\b", (REPO / "Makefile").read_text(), re.MULTILINE)


def test_ansible_cfg_resolves_real_collections():
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "ansible.cfg")
    text = (REPO / "ansible.cfg").read_text()
    assert "shadow" not in text.lower() and "mt_eklient/lab" not in text and "collections_path" not in text
    assert cfg["defaults"]["roles_path"] == "./roles"


def test_collections_are_pinned():
    pins = {c["name"]: c["version"] for c in yaml.safe_load((REPO / "requirements.yml").read_text())["collections"]}
    assert pins == {"ansible.windows": ">=2.8.0,<2.9.0", "community.windows": ">=2.4.0,<2.5.0"}


def test_roles_layout_and_prefixed_variables():
    assert {r.name for r in ROLES} == EXPECTED_ROLES
    for role in ROLES:
        for part in ("meta/argument_specs.yml", "meta/main.yml", "defaults/main.yml", "tasks/main.yml", "README.md"):
            assert (role / part).is_file(), f"{role.name}: missing {part}"
        defaults = yaml.safe_load((role / "defaults/main.yml").read_text()) or {}
        spec = yaml.safe_load((role / "meta/argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
        # mt_build, the plan mt_preflight sets, is the one input the build roles share: required, no default.
        shared = {name for name in spec if name == "mt_build"}
        assert all(spec[name].get("required") is True for name in shared), f"{role.name}: mt_build must be required"
        assert set(defaults) == set(spec) - shared, f"{role.name}: defaults and argument_specs differ"
        for name in defaults:
            assert name.startswith(f"{role.name}_"), f"{role.name}: variable {name} lacks the role prefix"
        for name, value in defaults.items():
            assert not re.search(r"(?i)password|secret|token", name) or value in ("", None), f"secret in {name}"


def test_build_roles_read_the_plan_fact_as_it_is():
    """A role variable defaulting to "{{ mt_build }}" made every read render the whole plan (~100 kB on a fresh host) to
    text and parse it back (Ansible's non-native templating): ~30 % of a lab build's controller CPU.
    The roles read mt_build itself, and validate it through their argument specs."""
    for role in ROLES:
        defaults = yaml.safe_load((role / "defaults/main.yml").read_text()) or {}
        assert not any("mt_build }}" in str(value) for value in defaults.values()), role.name
        uses_plan = any("mt_build." in path.read_text() for path in (role / "tasks").glob("*.yml"))
        spec = yaml.safe_load((role / "meta/argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
        assert uses_plan == ("mt_build" in spec) or role.name == "mt_preflight", role.name


def test_the_plan_fact_holds_every_key_the_build_reads():
    """mt_build_preflight keeps in the fact mt_build only BUILD_FACT_KEYS (Ansible copies a host's
    facts for every task): a role, handler or plugin reading any other key would find it missing."""
    plugins = REPO / "roles" / "mt_preflight" / "action_plugins"
    source = (plugins / "mt_build_preflight.py").read_text()
    kept = set(re.findall(r'"(\w+)"', source.split("BUILD_FACT_KEYS = ", 1)[1].split(")", 1)[0])) | {"reboot_controls"}
    readers = [*(REPO / "roles").glob("*/tasks/*.yml"), *PLAYBOOKS]
    read = {(p.name, key) for p in readers for key in re.findall(r"\bmt_build\.(\w+)", p.read_text())}
    verify = (REPO / "roles" / "mt_verify" / "action_plugins" / "mt_build_verify.py").read_text()
    read |= {("mt_build_verify.py", key) for key in re.findall(r'plan(?:\.get\(|\[)"(\w+)"', verify)}
    assert {key for _, key in read} >= {"apply", "resolved_with", "reboot_controls"}, read  # the patterns still find the reads
    assert {(name, key) for name, key in read if key not in kept} == set()


def _tasks(path: Path) -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text()) or []


def _values(node: Any, key: str | None = None) -> Iterator[tuple[str | None, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("name", "msg", "fail_msg", "success_msg", "label"):
                continue  # prose for the technician
            yield from _values(v, k)
    elif isinstance(node, list):
        for item in node:
            yield from _values(item, key)
    else:
        yield key, node


def _catalog_literals() -> set[str]:
    """Identifiers a task would contain if it typed a control value (registry names, services, ...)."""
    catalog = load_catalog_dir(REPO / "verifier" / "mt_eklient" / "catalog")
    out: set[str] = set()
    for control in catalog.controls:
        for key in ("name", "guid", "sid", "key"):
            if key in control.check and control.check["method"] != "local_group":
                out.add(str(control.check[key]))
    return {v for v in out if len(v) > 3}


def test_no_control_value_is_typed_in_a_task():
    literals = _catalog_literals()
    suspicious = re.compile(r"HKLM|HKEY_|HKCU|S-1-\d|\{?[0-9a-f]{8}-[0-9a-f]{4}-|\b59(85|86)\b|SMB1|\bSe[A-Z]\w+Right\b",
                            re.IGNORECASE)
    files = [*sorted((REPO / "roles").glob("*/tasks/*.yml")), *sorted((REPO / "roles").glob("*/handlers/*.yml")),
             *PLAYBOOKS]
    assert files
    for path in files:
        for key, value in _values(_tasks(path)):
            if not isinstance(value, str):
                continue
            assert not suspicious.search(value), f"{path.relative_to(REPO)}: {key}: {value!r} looks like a control value"
            for literal in literals:
                assert literal not in value, f"{path.relative_to(REPO)}: {key}: {value!r} types {literal!r} from the catalog"


def test_registry_controls_go_through_one_applier_call():
    policies = _tasks(REPO / "roles" / "mt_policies" / "tasks" / "main.yml")
    registry_calls = [t for t in policies if "registry.ps1" in str(t.get("ansible.windows.win_powershell", ""))]
    assert len(registry_calls) == 1 and "loop" not in registry_calls[0]
    for path in (REPO / "roles").glob("*/tasks/*.yml"):
        assert "win_regedit" not in path.read_text(), f"{path}: registry values go through the registry applier"


def test_rollout_shape_of_build_wm():
    preflight, build = yaml.safe_load((REPO / "playbooks" / "build_wm.yml").read_text())
    assert preflight["any_errors_fatal"] is True and [r["role"] for r in preflight["roles"]] == ["mt_preflight"]
    assert isinstance(build["serial"], list) and "mtk_build_canary" in build["serial"][0]
    assert "max_fail_percentage" in build
    roles = [r["role"] for r in build["roles"]]
    assert roles[0] == "mt_segmentation" and roles[-2:] == ["mt_nameplate", "mt_verify"]
    reboots = [h for h in build["handlers"] if "ansible.windows.win_reboot" in h]
    assert len(reboots) == 1 and any("in_maintenance_window" in str(c) for c in reboots[0]["when"])
    for path in (REPO / "roles").glob("*/tasks/*.yml"):
        assert "win_reboot" not in path.read_text(), f"{path}: reboots only through the playbook's handler"


def test_segmentation_order_keeps_winrm():
    tasks = _tasks(REPO / "roles" / "mt_segmentation" / "tasks" / "main.yml")
    modules = [next(k for k in t if "." in k) for t in tasks]
    assert modules == ["ansible.windows.win_powershell", "ansible.windows.win_firewall",
                       "ansible.windows.win_powershell"]
    # The managed group (the management rule first in it, applying.py) before any default-deny.
    assert "firewall_rules.ps1" in str(tasks[0])
    # Open rules are disabled last: the managed group (the management rule in it) is complete by then.
    assert "firewall_disable.ps1" in str(tasks[-1])


# ---------------------------------------------------------------- PowerShell appliers

def _walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _text(node: Node) -> str:
    return node.text.decode("utf-8", errors="replace") if node.text is not None else ""


CHANGING_COMMAND = re.compile(r"^(set|new|remove|add|clear|enable|disable|start|stop|restart|install|uninstall)-",
                              re.IGNORECASE)
CHANGING_NATIVE = {"auditpol.exe": "/set", "secedit.exe": "/configure"}
CHANGING_METHODS = {"setvalue", "deletevalue", "createsubkey", "deletesubkey", "deletesubkeytree"}


def _guarded(node: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type == "if_statement":
            condition = next((c for c in parent.children if c.type == "pipeline"), None)
            if condition is not None and "ShouldProcess" in _text(condition):
                return True
        parent = parent.parent
    return False


def test_appliers_exist_for_the_design():
    names = {p.read_text().splitlines()[0].split(":", 1)[1].strip() for p in APPLIERS}
    assert names == set(APPLIER_PARAMS)


@pytest.mark.parametrize("path", APPLIERS, ids=lambda p: p.name)
def test_applier_contract(path):
    source = path.read_text()
    first = source.splitlines()[0]
    match = re.fullmatch(r"# mtk-applier: (\w+)", first)
    assert match, f"{path.name}: the first line must be '# mtk-applier: NAME'"
    name = match.group(1)
    tree = PARSER.parse(source.encode())
    errors = [n for n in _walk(tree.root_node) if n.type == "ERROR" or n.is_missing]
    assert not errors, f"{path.name}: syntax error near {_text(errors[0])[:60]!r}"
    assert re.search(r"\[CmdletBinding\(SupportsShouldProcess\)\]\s*param\s*\(", source), "needs SupportsShouldProcess"
    params = set(re.findall(r"\]\s*\$(\w+)\b", source[source.index("param("):source.index("\n)\n") + 2]))
    assert params == APPLIER_PARAMS[name], f"{path.name}: parameters {params}"
    assert "$Ansible.Changed =" in source and "$Ansible.Diff =" in source
    assert len(source.splitlines()) <= 150, f"{path.name}: appliers stay small"
    assert not re.search(r"\b(Get-WmiObject|Win32_Product|auditpol(\.exe)? /get /category)", source)
    # Every change is gated by ShouldProcess, so check mode (-WhatIf) changes nothing.
    for node in _walk(tree.root_node):
        if node.type == "command":
            command_name = next((c for c in node.children if c.type == "command_name"), None)
            word = _text(command_name) if command_name is not None else ""
            changing = bool(CHANGING_COMMAND.match(word)) or (
                word.lower() in CHANGING_NATIVE and CHANGING_NATIVE[word.lower()] in _text(node))
            if changing:
                assert _guarded(node), f"{path.name}:{node.start_point[0] + 1}: {word} outside ShouldProcess"
        elif node.type == "invokation_expression":
            member = next((c for c in node.children if c.type == "member_name"), None)
            if member is not None and _text(member).lower() in CHANGING_METHODS:
                assert _guarded(node), f"{path.name}:{node.start_point[0] + 1}: .{_text(member)}() outside ShouldProcess"


# What an applier may not do: read the host (the collector read it once; changeset.py decided).
READING = re.compile(r"\b(Get-(?!Mtk)[A-Za-z]+|Import-Csv|auditpol(\.exe)?\s+/(get|backup)|secedit(\.exe)?\s+/export)\b|"
                     r"\.(GetValue|GetValueNames|GetValueKind|GetSubKeyNames)\(|OpenSubKey\([^)]*\$false\)",
                     re.IGNORECASE)


@pytest.mark.parametrize("path", APPLIERS, ids=lambda p: p.name)
def test_appliers_only_apply(path):
    """No applier reads or compares: it is given the changes and carries them out."""
    code = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
    code = re.sub(r"<#.*?#>", "", code, flags=re.DOTALL)
    found = READING.search(code)
    assert not found, f"{path.name}: reads the host ({found.group(0)}): the change set decides, the applier applies"
    assert re.search(r"param\(\s*(\[Parameter\(Mandatory\)\]\[string\]\$\w+,\s*)?\[(object|string)\[\]\]\$(Changes|Names)",
                     path.read_text()), f"{path.name}: takes a change list"


def test_registry_applier_is_shared_not_copied():
    copies = [p for p in APPLIERS if p.name == "registry.ps1"]
    assert len(copies) == 1
    defaults = yaml.safe_load((REPO / "roles" / "mt_nameplate" / "defaults" / "main.yml").read_text())
    assert defaults["mt_nameplate_applier"].endswith("mt_policies/files/registry.ps1")
