"""Helpers shared by the tests/scan modules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FAKE_COLLECTIONS = HERE / "fake_collections"
SAMPLE_FACTS = REPO / "tests" / "data" / "facts" / "wm1-sample.json"
CANARY = "CANARY-pw-7f3a9c1e-do-not-print"
CANARY_VAULT = "CANARY-vault-b51d0e88-do-not-print"


def mtk_command() -> list[str]:
    beside = Path(sys.executable).parent / "mtk"
    return [str(beside)] if beside.is_file() else [sys.executable, "-m", "mt_eklient.cli"]


def mtk(*args: str, env: dict[str, str], cwd: Path | str = REPO, timeout: float = 120,
        input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*mtk_command(), *args], check=False, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, input=input, stdin=None if input is not None else subprocess.DEVNULL)


def write_inventory(path: Path, hosts: dict[str, dict[str, Any]], group_vars: dict[str, Any] | None = None) -> Path:
    data = {"all": {"vars": {"ansible_connection": "local", **(group_vars or {})}, "hosts": hosts}}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def wm1(mode: str = "ok", **extra: Any) -> dict[str, Any]:
    return {"mt_class": "WM1", "mt_profile": "sonora-review-4", "mt_site": "region-vastland", "fake_mode": mode,
            **extra}


def report_hosts(path: Path) -> dict[str, dict[str, Any]]:
    return {h["host"]: h for h in json.loads(path.read_text(encoding="utf-8"))["hosts"]}


def journal_counts(journal_dir: Path) -> dict[str, int]:
    return {p.name[: -len(".jsonl")]: len(p.read_text(encoding="utf-8").splitlines())
            for p in journal_dir.glob("*.jsonl")}


def assert_no_secret(secret: str, *texts: str, files: list[Path] = ()) -> None:
    for text in texts:
        assert secret not in text, f"secret found in output: ...{text[max(0, text.find(secret) - 200):][:400]}..."
    for path in files:
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), f"secret found in {path}"
