"""Helpers of the tests/winrm modules: a lab copy whose vaulted ansible_password is a canary, served
by `mtk lab up` and stopped by `mtk lab down`."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE.parent / "scan"))  # scan_helpers

from scan_helpers import assert_no_secret, mtk

CANARY = "CANARY-winrm-5e2d7a41-do-not-print"


class WinRMLab:
    def __init__(self, root: Path):
        from ansible.parsing.vault import VaultLib, VaultSecret

        self.root = root
        self.dir = root / "state"
        self.inventory = root / "inventory"
        shutil.copytree(REPO / "inventories" / "lab", self.inventory)
        secret = (self.inventory / "vault-password.txt").read_bytes().strip()
        vault = VaultLib([("default", VaultSecret(secret))])
        group_vars = self.inventory / "group_vars" / "all.yml"
        text = group_vars.read_text(encoding="utf-8")
        start = text.index("ansible_password: !vault |")
        end = text.index("\n#", start)
        encrypted = vault.encrypt(CANARY).decode().replace("\n", "\n  ")
        group_vars.write_text(text[:start] + f"ansible_password: !vault |\n  {encrypted}" + text[end:], encoding="utf-8")
        self.history = root / "history.sqlite"
        self.env = dict(os.environ, MTK_LAB_DIR=str(self.dir), MTK_LAB_INVENTORY=str(self.inventory),
                        MTK_LAB_LATENCY="0", MTK_HISTORY=str(self.history), ANSIBLE_NOCOLOR="1",
                        MTK_LAB_WINRM_IDLE="900")  # a killed test run leaves no listener for long
        for name in ("MTK_LAB_TRANSPORT", "ANSIBLE_CONFIG", "ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_VAULT_PASSWORD_FILE"):
            self.env.pop(name, None)
        self.outputs: list[str] = []

    def run(self, *args: str, expect: int | None = 0, timeout: float = 600):
        result = mtk(*args, env=self.env, cwd=self.root, timeout=timeout)
        self.outputs += [result.stdout, result.stderr]
        if expect is not None and result.returncode != expect:
            raise AssertionError(f"mtk {' '.join(args)}: exit {result.returncode}, expected {expect}\n"
                                 f"{result.stdout[-6000:]}\n{result.stderr[-3000:]}")
        return result

    def endpoint(self, host: str) -> dict:
        import json
        return json.loads((self.dir / "winrm" / "endpoints" / f"{host}.json").read_text())

    def assert_canary_nowhere(self) -> None:
        """Not in any output, log, journal, report or history; the endpoints keep only an NT hash."""
        files = [p for p in self.root.rglob("*") if p.is_file() and p.parent != self.inventory / "group_vars"]
        assert_no_secret(CANARY, *self.outputs, files=files)


@contextmanager
def running(lab: WinRMLab) -> Iterator[WinRMLab]:
    lab.run("lab", "up")
    try:
        yield lab
    finally:
        lab.run("lab", "down", expect=None)
