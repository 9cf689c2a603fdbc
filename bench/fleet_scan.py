#!/usr/bin/env python3
"""Benchmark of `mtk lab scan`: N simulated hosts, a modelled per-call latency, --forks K, over the
lab's WinRM endpoints (latency on the server side of the network) or in-process.

    .venv/bin/python bench/fleet_scan.py [--hosts 200] [--latency 0.5] [--forks 20,50] [--json out.json]

For every K it reports
- wall time and hosts/second of the whole scan (inventory, collection, evaluation, reports),
  against the ideal: ceil(hosts / K) x latency, i.e. K hosts every `latency` seconds;
- controller-side evaluation time per host (evaluate() alone, as each host result records it);
- remote invocations per host, read from the lab journal: must be exactly 1 (the collector).

Everything runs in a temporary lab (MTK_LAB_DIR) with a generated inventory that repeats the lab's
wm1-sono-01 host; nothing in the repository's lab state is touched. Not part of the test suite
(tests/scan/test_scan_bench.py only smoke-tests it with 5 hosts and no latency).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
LAB_INVENTORY = REPO / "inventories" / "lab"
TEMPLATE_HOST = "wm1-sono-01"


def mtk_command() -> list[str]:
    beside = Path(sys.executable).parent / "mtk"
    return [str(beside)] if beside.is_file() else [sys.executable, "-m", "mt_eklient.cli"]


def make_inventory(directory: Path, count: int) -> list[str]:
    """The lab inventory's pattern (group_vars/lab.yml, one host_vars file per host) with `count`
    copies of the template host."""
    names = [f"wm1-bench-{i:03d}" for i in range(1, count + 1)]
    (directory / "host_vars").mkdir(parents=True)
    shutil.copytree(LAB_INVENTORY / "group_vars", directory / "group_vars")
    shutil.copy(LAB_INVENTORY / "vault-password.txt", directory / "vault-password.txt")
    template = (LAB_INVENTORY / "host_vars" / f"{TEMPLATE_HOST}.yml").read_text(encoding="utf-8")
    for name in names:
        (directory / "host_vars" / f"{name}.yml").write_text(template, encoding="utf-8")
    hosts = {"all": {"children": {"lab": {"children": {"wm": {"children": {
        "wm_clients": {"hosts": {name: None for name in names}}}}}}}}}
    (directory / "hosts.yml").write_text(yaml.safe_dump(hosts, sort_keys=False), encoding="utf-8")
    return names


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, check=False, env=env, cwd=REPO, capture_output=True, text=True)
    if result.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def journal(lab_dir: Path, host: str) -> list[dict[str, Any]]:
    path = lab_dir / f"{host}.journal.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def is_collector(entry: dict[str, Any]) -> bool:
    script = (entry.get("args") or {}).get("script")
    return entry.get("module") == "ansible.windows.win_powershell" and str(script).startswith("# mtk-collector")


def bench(hosts: int, latency: float, forks: int, workdir: Path, transport: str = "winrm") -> dict[str, Any]:
    lab_dir = workdir / f"lab-{transport}-{forks}"
    inventory = workdir / f"inventory-{transport}-{forks}"
    names = make_inventory(inventory, hosts)
    # Over WinRM the endpoints (started by `lab up`) sleep server-side, on the network path; in-process
    # the stand-in sleeps inside Ansible's worker.
    env = dict(os.environ, MTK_LAB_DIR=str(lab_dir), MTK_LAB_LATENCY=str(latency))
    run([*mtk_command(), "lab", "--inventory", str(inventory), "up",
         *(["--in-process"] if transport == "inprocess" else [])], env)
    before = {name: len(journal(lab_dir, name)) for name in names}

    report = workdir / f"report-{transport}-{forks}.json"
    started = time.perf_counter()
    try:
        result = run([*mtk_command(), "lab", "scan", "-i", str(inventory), "--forks", str(forks),
                      "--timeout", str(max(60, int(latency * 10))), "--json", str(report), "--no-history", "--quiet"],
                     env)
    finally:
        wall = time.perf_counter() - started
        run([*mtk_command(), "lab", "down"], env)

    data = json.loads(report.read_text(encoding="utf-8"))
    evaluated = [h for h in data["hosts"] if h["status"] == "ok"]
    eval_ms = [h["duration_ms"] for h in evaluated if h.get("duration_ms") is not None]
    calls, collector_calls = {}, {}
    for name in names:
        new = journal(lab_dir, name)[before[name]:]
        calls[name] = len(new)
        collector_calls[name] = sum(1 for e in new if is_collector(e))
    ideal = math.ceil(hosts / forks) * latency
    return {
        "transport": transport, "hosts": hosts, "forks": forks, "latency_s": latency, "exit_code": result.returncode,
        "evaluated": len(evaluated),
        "wall_s": round(wall, 2), "hosts_per_s": round(hosts / wall, 1),
        "ideal_s": round(ideal, 2), "ideal_hosts_per_s": round(hosts / ideal, 1) if ideal else None,
        "efficiency": round(ideal / wall, 2) if ideal else None,
        "overhead_s": round(wall - ideal, 2),
        "eval_ms_median": round(statistics.median(eval_ms), 2) if eval_ms else None,
        "eval_ms_p95": round(sorted(eval_ms)[int(0.95 * (len(eval_ms) - 1))], 2) if eval_ms else None,
        "eval_ms_max": round(max(eval_ms), 2) if eval_ms else None,
        "remote_calls_per_host": sorted(set(calls.values())),
        "collector_calls_per_host": sorted(set(collector_calls.values())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=200, help="simulated hosts (default: %(default)s)")
    parser.add_argument("--latency", type=float, default=0.5,
                        help="modelled seconds per remote call, MTK_LAB_LATENCY (default: %(default)s)")
    parser.add_argument("--forks", default="20", help="comma-separated --forks values (default: %(default)s)")
    parser.add_argument("--transport", default="winrm",
                        help="comma-separated: winrm (the lab's WinRM endpoints), inprocess (default: %(default)s)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary lab and reports")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="mtk-bench-"))
    rows = []
    try:
        for transport in [t.strip() for t in args.transport.split(",") if t.strip()]:
            for forks in [int(f) for f in args.forks.split(",") if f.strip()]:
                rows.append(bench(args.hosts, args.latency, forks, workdir, transport))
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    print(f"machine: {machine['cpus']} CPU(s), Python {machine['python']}, {machine['platform']}")
    print(f"{'transport':>9} {'hosts':>5} {'forks':>5} {'latency':>7} {'wall s':>7} {'ideal s':>7} {'hosts/s':>8} {'ideal/s':>8} "
          f"{'eff.':>5} {'eval ms (median/p95/max)':>26} {'calls/host':>10}")
    for r in rows:
        evals = f"{r['eval_ms_median']}/{r['eval_ms_p95']}/{r['eval_ms_max']}"
        print(f"{r['transport']:>9} {r['hosts']:>5} {r['forks']:>5} {r['latency_s']:>7} {r['wall_s']:>7} {r['ideal_s']:>7} "
              f"{r['hosts_per_s']:>8} {r['ideal_hosts_per_s']!s:>8} {r['efficiency']!s:>5} {evals:>26} "
              f"{','.join(map(str, r['remote_calls_per_host'])):>10}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "runs": rows}, indent=2) + "\n", encoding="utf-8")
    bad = [r for r in rows if r["remote_calls_per_host"] != [1] or r["collector_calls_per_host"] != [1]
           or r["evaluated"] != r["hosts"]]
    if bad:
        print("FAILED: every host must be evaluated after exactly one remote invocation", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
