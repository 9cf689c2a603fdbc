"""Argument specs of the REAL ansible.windows / community.windows modules, read at run time from
the installed collections (site-packages), never from the lab's shadow tree.

The documentation (`DOCUMENTATION` in `plugins/modules/<module>.py`, read with `ast`, not
imported) gives options, types, choices, aliases and defaults; the PowerShell `$spec` adds no_log
and cross-option constraints; legacy modules' `-failifempty $true` adds required options.
"""

from __future__ import annotations

import ast
import os
import site
import sys
from functools import cache
from pathlib import Path

import yaml

from . import paths
from .argspec import ArgSpec, from_documentation, merge_powershell_spec
from .pslit import PsParseError, legacy_required, parse_spec


class RealModuleNotFound(LookupError):
    pass


def _under(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def collection_roots() -> list[Path]:
    """Directories holding an `ansible_collections` tree with the real collections: the
    MTK_LAB_REAL_COLLECTIONS override, then sys.path and site-packages, skipping the shadow tree."""
    candidates = [Path(p) for p in os.environ.get("MTK_LAB_REAL_COLLECTIONS", "").split(os.pathsep) if p]
    candidates += [Path(p) for p in [*sys.path, *site.getsitepackages()] if p]
    roots: list[Path] = []
    for base in candidates:
        usable = (base / "ansible_collections").is_dir() and not _under(base, paths.SHADOW_COLLECTIONS)
        if usable and base.resolve() not in [r.resolve() for r in roots]:
            roots.append(base)
    return roots


def module_source(fqcn: str) -> tuple[Path, Path | None]:
    """The real module's documentation file and PowerShell script."""
    namespace, collection, module = fqcn.split(".")
    for root in collection_roots():
        doc = root / "ansible_collections" / namespace / collection / "plugins" / "modules" / f"{module}.py"
        if doc.is_file():
            ps1 = doc.with_suffix(".ps1")
            return doc, ps1 if ps1.is_file() else None
    raise RealModuleNotFound(f"the real module {fqcn} is not installed (looked in {', '.join(map(str, collection_roots()))})")


def documentation(doc_path: Path) -> dict:
    tree = ast.parse(doc_path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "DOCUMENTATION" for t in node.targets):
            return yaml.safe_load(ast.literal_eval(node.value)) or {}
    raise RealModuleNotFound(f"{doc_path} has no DOCUMENTATION")


@cache
def load_spec(fqcn: str) -> ArgSpec:
    doc_path, ps1 = module_source(fqcn)
    spec = from_documentation(fqcn, documentation(doc_path).get("options") or {})
    if ps1 is not None:
        script = ps1.read_text(encoding="utf-8-sig")
        try:
            ps_spec = parse_spec(script)
        except PsParseError:
            ps_spec = None  # the documentation alone still catches the common mistakes
        if ps_spec is not None:
            merge_powershell_spec(spec, ps_spec)
        for name in legacy_required(script):
            if name in spec.options:
                spec.options[name].required = True
    return spec


def real_module_path(fqcn: str) -> str:
    return str(module_source(fqcn)[0])


if __name__ == "__main__":  # debugging aid: python -m mt_eklient.lab.realspec ansible.windows.win_regedit
    print(load_spec(sys.argv[1]))
