"""The pytest session's lab over real WinRM (docs/lab.md): `mtk lab up` once (one endpoint per host),
the WM clients built once through Ansible's winrm connection, the built state kept as a snapshot.

tests/conftest.py serves it: `lab_session` (session scope) and `built_lab` (module scope, the built
snapshot restored first). A test that changes the lab does it inside `lab.preserved()`, which puts
every host's state and journal back afterwards; the endpoints stay up throughout, so a restore is a
file write, not a rebuild. The inventory is a copy whose vaulted ansible_password is CANARY, so any
test can check that the password reached no output, report or lab file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PLAYBOOK = REPO / "playbooks" / "build_wm.yml"
CANARY = "CANARY-winrm-5e2d7a41-do-not-print"
# The lab inventory's buildable WM clients (tests/build checks the inventory agrees).
BUILT = ("wm0-lab-01", "wm0-pacs-01", "wm1-sono-01", "wm2-anest-01")
# One batch: the playbook's default 25% batches would build one host at a time.
BUILD_EXTRA = ("-e", "mtk_build_batch=100%")
COLLECTOR_MARKER = "# mtk-collector"

Snapshot = dict[str, bytes]  # file name in the lab directory -> content


def mtk_command() -> list[str]:
    beside = Path(sys.executable).parent / "mtk"
    return [str(beside)] if beside.is_file() else [sys.executable, "-m", "mt_eklient.cli"]


def recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP counts per host of an ansible-playbook run."""
    if "PLAY RECAP" not in output:
        return {}
    rows = re.findall(r"^(\S+)\s+:\s+(.*)$", output.split("PLAY RECAP", 1)[1], re.MULTILINE)
    return {host: {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)} for host, counts in rows}


def vaulted_inventory(target: Path, password: str) -> Path:
    """A copy of inventories/lab whose vaulted ansible_password is `password`."""
    from ansible.parsing.vault import VaultLib, VaultSecret

    shutil.copytree(REPO / "inventories" / "lab", target)
    secret = (target / "vault-password.txt").read_bytes().strip()
    encrypted = VaultLib([("default", VaultSecret(secret))]).encrypt(password).decode().replace("\n", "\n  ")
    group_vars = target / "group_vars" / "all.yml"
    text = group_vars.read_text(encoding="utf-8")
    start = text.index("ansible_password: !vault |")
    end = text.index("\n#", start)
    group_vars.write_text(text[:start] + f"ansible_password: !vault |\n  {encrypted}" + text[end:], encoding="utf-8")
    return target


class LabSession:
    """One lab directory served over WinRM; `run` calls mtk with the lab's environment."""

    def __init__(self, root: Path, password: str = CANARY):
        self.root = root
        self.dir = root / "state"
        self.password = password
        self.inventory = vaulted_inventory(root / "inventory", password)
        self.history = root / "history.sqlite"
        self.env = dict(os.environ, MTK_LAB_DIR=str(self.dir), MTK_LAB_INVENTORY=str(self.inventory),
                        MTK_LAB_LATENCY="0", MTK_HISTORY=str(self.history), ANSIBLE_NOCOLOR="1",
                        ANSIBLE_FORCE_COLOR="0",
                        MTK_LAB_WINRM_IDLE="900")  # a killed test run leaves no listener for long
        for name in ("MTK_LAB_TRANSPORT", "ANSIBLE_CONFIG", "ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_VAULT_PASSWORD_FILE"):
            self.env.pop(name, None)
        self.outputs: list[str] = []  # every stdout/stderr, for the canary checks
        self.first_run: subprocess.CompletedProcess[str] | None = None
        self.calls: dict[str, int] = {}
        self.built: Snapshot = {}

    # -- running mtk ------------------------------------------------------------------------------

    def run(self, *args: str, expect: int | None = 0, timeout: float = 600, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([*mtk_command(), *args], cwd=cwd or self.root, env=env or self.env,
                                capture_output=True, text=True, timeout=timeout, check=False,
                                stdin=subprocess.DEVNULL)
        self.outputs += [result.stdout, result.stderr]
        if expect is not None and result.returncode != expect:
            raise AssertionError(f"mtk {' '.join(args)}: exit {result.returncode}, expected {expect}\n"
                                 f"{result.stdout[-6000:]}\n{result.stderr[-3000:]}")
        return result

    def play(self, *args: str, expect: int | None = 0, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
        """playbooks/build_wm.yml through `mtk lab ansible-playbook` with the given options."""
        return self.run("lab", "ansible-playbook", str(PLAYBOOK), *args, expect=expect, env=env)

    def build(self, limit: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.play("--limit", limit, *BUILD_EXTRA, *extra)

    def up(self) -> None:
        self.run("lab", "up")
        # Today 12:00 on every host's clock: outside every lab profile's maintenance window, so whether
        # a build reboots does not depend on when the tests run (tests/build/test_maintenance_window.py).
        self.run("lab", "clock", "all", datetime.now(UTC).replace(hour=12, minute=0, second=0).isoformat())

    def down(self) -> None:
        self.run("lab", "down", expect=None)

    def build_all(self, shared: Path | None = None) -> None:
        """Build BUILT once and keep the result as the `built` snapshot.

        `shared`: a directory every pytest-xdist worker of this run sees. The first worker builds and
        leaves the result there; the others put it onto their own endpoints (a restore, as between
        test modules) instead of building the same four hosts again."""
        if shared is None:
            self._build_all()
            return
        import fcntl
        import pickle

        saved = shared / "lab-built.pickle"
        with open(shared / "lab-built.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # the other workers wait for the first build
            if not saved.is_file():
                self._build_all()
                run = self.first_run
                saved.write_bytes(pickle.dumps({"built": self.built, "calls": self.calls, "first_run": (
                    run.args, run.returncode, run.stdout, run.stderr) if run else None}))
                return
            done = pickle.loads(saved.read_bytes())  # written by this test run, in its own temp dir
        self.built, self.calls = done["built"], done["calls"]
        if done["first_run"]:
            self.first_run = subprocess.CompletedProcess(*done["first_run"])
            self.outputs += [self.first_run.stdout, self.first_run.stderr]
        self.restore()

    def _build_all(self) -> None:
        self.first_run = self.build(",".join(BUILT))
        self.calls = {h: len(self.journal(h)) for h in BUILT}
        self.built = self.snapshot()

    # -- reading the lab --------------------------------------------------------------------------

    def hosts(self) -> list[str]:
        return sorted(p.stem for p in self.dir.glob("*.json"))

    def state(self, host: str) -> dict[str, Any]:
        return json.loads((self.dir / f"{host}.json").read_text(encoding="utf-8"))

    def journal(self, host: str) -> list[dict[str, Any]]:
        path = self.dir / f"{host}.journal.jsonl"
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def collector_calls(self) -> dict[str, int]:
        return {h: sum(1 for e in self.journal(h) if str((e.get("args") or {}).get("script", ""))
                       .startswith(COLLECTOR_MARKER)) for h in self.hosts()}

    def facts(self, host: str) -> dict[str, Any]:
        return json.loads(self.run("lab", "facts", host).stdout)

    def endpoint(self, host: str) -> dict[str, Any]:
        return json.loads((self.dir / "winrm" / "endpoints" / f"{host}.json").read_text(encoding="utf-8"))

    # -- snapshots --------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """Every host's state and journal as they are now."""
        return {p.name: p.read_bytes() for p in self.dir.iterdir()
                if p.is_file() and (p.name.endswith(".journal.jsonl") or p.suffix == ".json")}

    def states(self, snapshot: Snapshot | None = None) -> dict[str, dict[str, Any]]:
        """{host: state} of a snapshot (default: the built one)."""
        taken = self.built if snapshot is None else snapshot
        return {name[:-len(".json")]: json.loads(data) for name, data in taken.items()
                if name.endswith(".json") and not name.endswith(".journal.jsonl")}

    def restore(self, snapshot: Snapshot | None = None) -> None:
        """Put back a snapshot (default: the built lab), under each host's lab lock, then wait until
        every endpoint listens again (a restored host may have been refused or locked out)."""
        import fcntl

        taken = self.built if snapshot is None else snapshot
        for name, data in sorted(taken.items()):
            host = name.split(".", 1)[0]
            with open(self.dir / f"{host}.lock", "a+") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                target = self.dir / name
                temporary = target.with_name(f".{name}.restore")
                temporary.write_bytes(data)
                os.replace(temporary, target)  # a new mtime: the endpoints see the fault change at once
        self.wait_listening()

    def wait_listening(self, timeout: float = 5.0) -> None:
        for host in self.hosts():
            lab = self.state(host)["lab"]
            if (lab.get("winrm_fault") or {}).get("kind") == "winrm-refused" or not lab.get("reachable", True):
                continue  # meant to refuse
            info = self.endpoint(host)
            deadline = time.monotonic() + timeout
            while True:
                try:
                    socket.create_connection((info["address"], info["port"]), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"{host}'s WinRM endpoint did not listen again within {timeout}s")
                    time.sleep(0.05)

    def restore_host(self, host: str) -> None:
        """Put one host back as built (its state and journal), as a rebuild would leave it."""
        self.restore({name: data for name, data in self.built.items() if name.split(".", 1)[0] == host})

    @contextmanager
    def preserved(self) -> Iterator[LabSession]:
        """Whatever the body does to the lab (build, drift, reset, faults) is undone afterwards."""
        saved = self.snapshot()
        try:
            yield self
        finally:
            self.restore(saved)

    # -- secrets ----------------------------------------------------------------------------------

    def assert_password_nowhere(self, *texts: str, files: list[Path] = ()) -> None:
        """The password in no output of this session, no given text or file, and no lab file (state,
        journal, endpoint log; the endpoints keep only an NT hash)."""
        lab_files = [p for p in self.root.rglob("*") if p.is_file() and self.inventory not in p.parents]
        for text in [*self.outputs, *texts]:
            assert self.password not in text, \
                f"password found in output: ...{text[max(0, text.find(self.password) - 200):][:400]}..."
        for path in [*lab_files, *files]:
            if path.is_file():
                assert self.password.encode() not in path.read_bytes(), f"password found in {path}"
