"""Where the lab keeps its files. One JSON state, one journal and one lock file per host."""

from __future__ import annotations

import os
import re
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
ANSIBLE_DIR = PACKAGE_DIR / "ansible"
SHADOW_COLLECTIONS = ANSIBLE_DIR / "collections"


def _repo_root() -> Path:
    """The checkout the lab belongs to: the package's own (installed editable, as `make venv` does),
    else the nearest directory from the working directory up that has inventories/lab (a package
    installed into site-packages, run inside a checkout)."""
    own = PACKAGE_DIR.parents[2]  # verifier/mt_eklient/lab -> repository root
    if (own / "inventories" / "lab").is_dir():
        return own
    here = Path.cwd()
    return next((d for d in (here, *here.parents) if (d / "inventories" / "lab").is_dir()), own)


REPO_ROOT = _repo_root()
LAB_INVENTORY = REPO_ROOT / "inventories" / "lab"
# `mtk lab up --inventory PATH` records PATH here, so later lab commands use the same inventory.
INVENTORY_FILE = "inventory"

# Inventory hostnames become file names: refuse anything that could escape the lab directory.
_HOST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


def lab_dir() -> Path:
    """The state directory: $MTK_LAB_DIR, else `<repo>/lab/state` (git-ignored)."""
    override = os.environ.get("MTK_LAB_DIR")
    return Path(override) if override else REPO_ROOT / "lab" / "state"


def lab_inventory(explicit: str | Path | None = None) -> Path:
    """The lab inventory: `explicit` (--inventory), else $MTK_LAB_INVENTORY, else the one `mtk lab
    up` was given, else the checkout's inventories/lab. No environment variable is needed."""
    if explicit:
        return Path(explicit)
    if os.environ.get("MTK_LAB_INVENTORY"):
        return Path(os.environ["MTK_LAB_INVENTORY"])
    try:
        recorded = (lab_dir() / INVENTORY_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        recorded = ""
    return Path(recorded) if recorded else LAB_INVENTORY


def record_inventory(path: str | Path | None) -> None:
    """Remember the inventory `mtk lab up` used (forget it when it used the default)."""
    target = lab_dir() / INVENTORY_FILE
    if path:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(str(Path(path).resolve()) + "\n", encoding="utf-8")
    else:
        target.unlink(missing_ok=True)


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
