"""Where the lab keeps its files. One JSON state, one journal and one lock file per host."""

from __future__ import annotations

import os
import re
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parents[2]  # verifier/mt_eklient/lab -> repository root
ANSIBLE_DIR = PACKAGE_DIR / "ansible"
SHADOW_COLLECTIONS = ANSIBLE_DIR / "collections"
LAB_INVENTORY = REPO_ROOT / "inventories" / "lab"

# Inventory hostnames become file names: refuse anything that could escape the lab directory.
_HOST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


def lab_dir() -> Path:
    """The state directory: $MTK_LAB_DIR, else `<repo>/lab/state` (git-ignored)."""
    override = os.environ.get("MTK_LAB_DIR")
    return Path(override) if override else REPO_ROOT / "lab" / "state"


def check_host(host: str) -> str:
    if not _HOST_RE.match(host):
        raise ValueError(f"invalid lab host name {host!r}")
    return host


def state_path(host: str) -> Path:
    return lab_dir() / f"{check_host(host)}.json"


def journal_path(host: str) -> Path:
    return lab_dir() / f"{check_host(host)}.journal.jsonl"


def lock_path(host: str) -> Path:
    return lab_dir() / f"{check_host(host)}.lock"
