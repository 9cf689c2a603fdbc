#!/usr/bin/env python3
"""Benchmark of playbooks/scan.yml under ansible-runner (as AWX runs it) next to a direct `mtk lab scan`.

    .venv/bin/python bench/runner_scan.py [--hosts 1000] [--latency 0.5] [--forks 50] [--json out.json]

Both scan the same generated lab (bench/fleet_scan.py's inventory: copies of wm1-sono-01) with the
same modelled latency per remote call (MTK_LAB_LATENCY) and forks. For each it reports wall time,
hosts/second, the CPU seconds the controller spent (this process' children: ansible-runner,
ansible-playbook and its workers, mtk) and so the controller's cost per host, and checks that every
host was evaluated after exactly one collector call. For the runner it also splits the job into its
tasks (from the job events). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet_scan import REPO, is_collector, journal, make_inventory, mtk_command


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else name


def collector_calls(lab_dir: Path, names: list[str]) -> dict[str, int]:
    return {name: sum(1 for e in journal(lab_dir, name) if is_collector(e)) for name in names}


def measure(command: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float, float]:
    cpu, started = children_cpu(), time.perf_counter()
    result = subprocess.run(command, check=False, env=env, cwd=REPO, capture_output=True, text=True)
    return result, time.perf_counter() - started, children_cpu() - cpu


def task_seconds(events_dir: Path) -> dict[str, float]:
    """Wall seconds of each task: first start to last end of its host events."""
    spans: dict[str, list[datetime]] = defaultdict(list)
    for path in events_dir.glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8")).get("event_data") or {}
        if data.get("start") and data.get("end") and data.get("task"):
            spans[data["task"].split(" - ")[0].split(",")[0]] += [datetime.fromisoformat(data["start"]),
                                                                   datetime.fromisoformat(data["end"])]
    return {task: round((max(t) - min(t)).total_seconds(), 1) for task, t in spans.items()}


def run(hosts: int, latency: float, forks: int, workdir: Path) -> list[dict[str, Any]]:
    inventory = workdir / "inventory"
    names = make_inventory(inventory, hosts)
    lab_dir = workdir / "lab"
    # In-process lab (the figures in docs/performance.md were measured so): no WinRM endpoints.
    env = dict(os.environ, MTK_LAB_DIR=str(lab_dir), MTK_LAB_INVENTORY=str(inventory), MTK_LAB_LATENCY="0",
               MTK_LAB_TRANSPORT="inprocess",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("ANSIBLE_CONFIG", None)
    subprocess.run([*mtk_command(), "lab", "up"], check=True, env=env, cwd=REPO, capture_output=True)
    env["MTK_LAB_LATENCY"] = str(latency)
    ideal = math.ceil(hosts / forks) * latency
    rows = []

    before = collector_calls(lab_dir, names)
    report = workdir / "direct.json"
    result, wall, cpu = measure([*mtk_command(), "lab", "scan", "-i", str(inventory), "--forks", str(forks),
                                 "--timeout", "600", "--json", str(report), "--no-history", "--quiet"], env)
    after = collector_calls(lab_dir, names)
    data = json.loads(report.read_text(encoding="utf-8"))
    rows.append({"how": "mtk lab scan", "exit": result.returncode, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
                 "evaluated": sum(1 for h in data["hosts"] if h["status"] == "ok"),
                 "calls": sorted({after[n] - before[n] for n in names})})

    private = workdir / "runner"
    (private / "env").mkdir(parents=True)
    envvars = json.loads(subprocess.run([*mtk_command(), "lab", "env", "--json"], check=True, env=env, cwd=REPO,
                                        capture_output=True, text=True).stdout)
    envvars.update(MTK_LAB_LATENCY=str(latency), MTK_HISTORY=str(workdir / "history.sqlite"))
    (private / "env" / "envvars").write_text(json.dumps(envvars), encoding="utf-8")
    (private / "env" / "extravars").write_text(json.dumps({"mt_scan_timeout": 600}), encoding="utf-8")
    before = collector_calls(lab_dir, names)
    result, wall, cpu = measure([tool("ansible-runner"), "run", str(private), "-p", "playbooks/scan.yml",
                                 "--project-dir", str(REPO), "--inventory", str(inventory), "--ident", "bench",
                                 "--forks", str(forks)], env)
    after = collector_calls(lab_dir, names)
    artifacts = private / "artifacts" / "bench"
    data = json.loads((artifacts / "mtk-scan" / "scan.json").read_text(encoding="utf-8"))
    rows.append({"how": "ansible-runner scan.yml", "exit": int((artifacts / "rc").read_text()),
                 "status": (artifacts / "status").read_text().strip(), "wall_s": round(wall, 1),
                 "cpu_s": round(cpu, 1), "evaluated": sum(1 for h in data["hosts"] if h["status"] == "ok"),
                 "calls": sorted({after[n] - before[n] for n in names}),
                 "tasks_s": task_seconds(artifacts / "job_events")})
    for row in rows:
        row.update(hosts=hosts, forks=forks, latency_s=latency, ideal_s=round(ideal, 1),
                   hosts_per_s=round(hosts / row["wall_s"], 1), cpu_ms_per_host=round(1000 * row["cpu_s"] / hosts))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=1000, help="simulated hosts (default: %(default)s)")
    parser.add_argument("--latency", type=float, default=0.5,
                        help="modelled seconds per remote call, MTK_LAB_LATENCY (default: %(default)s)")
    parser.add_argument("--forks", type=int, default=50, help="forks for both scans (default: %(default)s)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary lab, reports and runner artefacts")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="mtk-bench-runner-"))
    try:
        rows = run(args.hosts, args.latency, args.forks, workdir)
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
               "load_1min": round(os.getloadavg()[0], 1)}
    print(f"machine: {machine['cpus']} CPU(s), Python {machine['python']}, {machine['platform']}, "
          f"load {machine['load_1min']}")
    print(f"{'how':<24} {'hosts':>5} {'forks':>5} {'latency':>7} {'wall s':>7} {'ideal s':>7} {'hosts/s':>7} "
          f"{'CPU s':>6} {'CPU ms/host':>11} {'evaluated':>9} {'calls/host':>10}")
    for r in rows:
        print(f"{r['how']:<24} {r['hosts']:>5} {r['forks']:>5} {r['latency_s']:>7} {r['wall_s']:>7} {r['ideal_s']:>7} "
              f"{r['hosts_per_s']:>7} {r['cpu_s']:>6} {r['cpu_ms_per_host']:>11} {r['evaluated']:>9} "
              f"{','.join(map(str, r['calls'])):>10}")
    print("runner tasks (wall s):", json.dumps(rows[-1]["tasks_s"]))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "runs": rows}, indent=2) + "\n", encoding="utf-8")
    bad = [r for r in rows if r["calls"] != [1] or r["evaluated"] != r["hosts"]]
    if bad:
        print("FAILED: every host must be evaluated after exactly one remote invocation", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
