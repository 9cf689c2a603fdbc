#!/usr/bin/env python3
"""Benchmark of the fleet scan's controller cost: CPU-seconds and peak memory per host.

    .venv/bin/python bench/fleet_scan.py --hosts 1000 --repeat 3                   # mtk lab scan, end to end
    .venv/bin/python bench/fleet_scan.py --mode controller --hosts 1000,10000 --repeat 3
    .venv/bin/python bench/fleet_scan.py --hosts 200 --latency 0.5 --forks 20,50   # with modelled latency
    .venv/bin/python bench/fleet_scan.py --hosts 50 --latency 0.5 --transport winrm,inprocess --repeat 3
    .venv/bin/python bench/fleet_scan.py --mode floor --hosts 200 --repeat 3      # Ansible's no-op floor
    .venv/bin/python bench/fleet_scan.py --mode share --hosts 100 --transport winrm --repeat 3  # the project's share

Modes:
- `scan` (default): `mtk lab scan` of N generated lab hosts (copies of the lab's wm1-sono-01, fresh
  installs, so every host has failing controls and full reports) with --json, --junit, --html and the
  history, in a subprocess. Reports mtk's own CPU-seconds and peak RSS (getrusage of the mtk process)
  and Ansible's (getrusage of its children: ansible-inventory, ansible-playbook and its forked
  workers; peak RSS is the largest of them), and checks one remote invocation per host (lab journal).
  `--transport winrm` scans through the lab's WinRM endpoints (`mtk lab up`: pywinrm, NTLM over
  HTTPS), whose process stands in for the hosts: its CPU is not the controller's and is not counted.
  The modelled latency is then the endpoint's, slept before each WS-Management Receive answer.
- `floor`: Ansible's own floor, to separate what the project costs from what Ansible costs anyway:
  `ansible-playbook` (through `mtk lab ansible-playbook`, so the same lab configuration, inventory,
  connection and forks as the scan) running ONE no-op module per host (`ansible.windows.win_ping`),
  with no mtk callback, collector, request or report. Its CPU per host is the least any one-task
  Ansible play costs per host here; the scan's Ansible CPU above it is what the scan's task adds
  (templating the collector and request, the facts' way back, the callback).
- `share`: the floor and the scan alternately on the same lab (floor, scan, floor, scan, ...), so both
  see the same load, and per pair the project's share of the controller CPU per host: mtk's CPU plus
  the scan's Ansible CPU above the floor (what the collector task, its lookups, its payload and result
  and the mtk_scan callback add to a one-task play).
- `controller`: mtk's per-host work without Ansible: the scan's planning, then for each host the
  collector's answer as the callback delivers it (a JSON string) -> validation -> evaluation -> every
  report and the history, exactly the code `mtk scan` runs. For fleets too big to run Ansible
  against on a small machine (no latency model: memory and CPU do not depend on it).

CPU-seconds (user + system, resource.getrusage), not wall time, are the figures to compare: on a
shared machine wall time measures the neighbours. Every figure is the median of --repeat runs with
its spread (min-max). Everything runs in a temporary directory; the repository's lab is untouched.
tests/scan/test_scan_units.py smoke-tests this script with 5 hosts.
"""

from __future__ import annotations

import argparse
import json
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

# Runs mtk's main() and records the process' own resource use and its children's (Ansible).
_MEASURED_MTK = """
import json, resource, sys
from mt_eklient.cli import main
out = sys.argv[1]
try:
    code = main(sys.argv[2:])
finally:
    def use(who):
        r = resource.getrusage(who)
        return {"cpu_s": r.ru_utime + r.ru_stime, "max_rss_kb": r.ru_maxrss}
    with open(out, "w") as handle:
        json.dump({"self": use(resource.RUSAGE_SELF), "children": use(resource.RUSAGE_CHILDREN)}, handle)
sys.exit(code)
"""

# The floor: one no-op module per host, over the scan's connection (see the module docstring).
_FLOOR_PLAY = """- name: Ansible floor - one no-op module per host
  hosts: all
  gather_facts: false
  strategy: ansible.builtin.linear
  tasks:
    - name: No-op
      ansible.windows.win_ping:
"""

# The scan's per-host controller work, without Ansible (see the module docstring).
_CONTROLLER = """
import json, os, resource, sys
from datetime import date
from mt_eklient import scan
from mt_eklient.scanresult import now, open_reports, scan_header

out, facts_path, count, reports_dir, hostvars_path, wanted = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6].split(",")
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
started = cpu()
today = date.today()
template = json.load(open(hostvars_path))
hosts = {f"wm1-bench-{i:05d}": dict(template) for i in range(1, count + 1)}
planned = scan.plan_hosts(hosts, today)
del hosts
text = open(facts_path, encoding="utf-8").read()  # the collector's answer: one JSON string
planned_at = cpu()
outputs = {"json": ("json_path", "r.json"), "junit": ("junit_path", "r.xml"), "html": ("html_path", "r.html"),
           "history": ("history_path", "h.sqlite")}
reports = open_reports(scan_header(today=today, warn_days=180, source={"kind": "bench"}, command="bench"),
                       console=open(os.devnull, "w") if "console" in wanted else None,
                       **{outputs[w][0]: os.path.join(reports_dir, outputs[w][1]) for w in wanted if w in outputs})
redactor = scan.Redactor()
with reports:
    for entry in planned:
        event = {"host": entry.name, "status": "ok", "result": {"output": [text]}, "duration": 1.0}
        outcome = scan.outcome_from_event(event, 300, redactor)
        reports.add(scan.evaluate_outcome(entry, outcome, today, 180))
    code = reports.finish(now())
done = cpu()
r = resource.getrusage(resource.RUSAGE_SELF)
json.dump({"start_cpu_s": started, "plan_cpu_s": planned_at - started, "hosts_cpu_s": done - planned_at,
           "cpu_s": done, "max_rss_kb": r.ru_maxrss, "exit_code": code}, open(out, "w"))
"""


class _InventoryLoader(yaml.SafeLoader):
    """safe_load for inventory variables: a vaulted value (the lab's WinRM password) stays unread."""


_InventoryLoader.add_constructor("!vault", lambda loader, node: "<vaulted>")


def _inventory_yaml(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_InventoryLoader) or {}


def python() -> str:
    return sys.executable


def make_inventory(directory: Path, count: int) -> list[str]:
    """The lab inventory's pattern (group_vars/lab.yml, one host_vars file per host) with `count`
    copies of the template host."""
    names = [f"wm1-bench-{i:05d}" for i in range(1, count + 1)]
    (directory / "host_vars").mkdir(parents=True)
    shutil.copytree(LAB_INVENTORY / "group_vars", directory / "group_vars")
    if (LAB_INVENTORY / "vault-password.txt").is_file():  # the lab's vaulted WinRM account
        shutil.copy(LAB_INVENTORY / "vault-password.txt", directory / "vault-password.txt")
    template = (LAB_INVENTORY / "host_vars" / f"{TEMPLATE_HOST}.yml").read_text(encoding="utf-8")
    for name in names:
        (directory / "host_vars" / f"{name}.yml").write_text(template, encoding="utf-8")
    hosts = {"all": {"children": {"lab": {"children": {"wm": {"children": {
        "wm_clients": {"hosts": {name: None for name in names}}}}}}}}}
    (directory / "hosts.yml").write_text(yaml.safe_dump(hosts, sort_keys=False), encoding="utf-8")
    return names


def run(command: list[str], env: dict[str, str], ok: tuple[int, ...] = (0, 1)) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, check=False, env=env, cwd=REPO, capture_output=True, text=True)
    if result.returncode not in ok:
        raise SystemExit(f"{' '.join(command)} exited {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def journal_counts(lab_dir: Path, names: list[str]) -> dict[str, tuple[int, int]]:
    """{host: (module calls, collector calls)} from the lab journal."""
    out = {}
    for name in names:
        path = lab_dir / f"{name}.journal.jsonl"
        entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()] \
            if path.is_file() else []
        collector = sum(1 for e in entries if e.get("module") == "ansible.windows.win_powershell"
                        and str((e.get("args") or {}).get("script")).startswith("# mtk-collector"))
        out[name] = (len(entries), collector)
    return out


def scan_once(hosts: int, latency: float, forks: int, workdir: Path, names: list[str], inventory: Path,
              lab_dir: Path, index: int | str, transport: str) -> dict[str, Any]:
    out = workdir / f"run-{hosts}-{forks}-{index}"
    out.mkdir()
    # in-process the stand-ins sleep in Ansible's workers; over WinRM the endpoint does (set at lab up)
    env = dict(os.environ, MTK_LAB_DIR=str(lab_dir), MTK_LAB_LATENCY=str(latency if transport == "inprocess" else 0))
    before = journal_counts(lab_dir, names)
    usage = out / "usage.json"
    started = time.perf_counter()
    result = run([python(), "-c", _MEASURED_MTK, str(usage), "lab", "scan", "-i", str(inventory), "--forks", str(forks),
                  "--timeout", str(max(60, int(latency * 10))), "--json", str(out / "r.json"), "--junit",
                  str(out / "r.xml"), "--html", str(out / "r.html"), "--history", str(out / "h.sqlite"), "--quiet"],
                 env)
    wall = time.perf_counter() - started
    after = journal_counts(lab_dir, names)
    used = json.loads(usage.read_text(encoding="utf-8"))
    report = json.loads((out / "r.json").read_text(encoding="utf-8"))
    calls = {(after[n][0] - before[n][0], after[n][1] - before[n][1]) for n in names}
    return {
        "exit_code": result.returncode, "evaluated": sum(1 for h in report["hosts"] if h["status"] == "ok"),
        "wall_s": wall, "mtk_cpu_s": used["self"]["cpu_s"], "ansible_cpu_s": used["children"]["cpu_s"],
        "mtk_rss_mb": used["self"]["max_rss_kb"] / 1024, "ansible_rss_mb": used["children"]["max_rss_kb"] / 1024,
        "json_kb_per_host": (out / "r.json").stat().st_size / 1024 / hosts,
        "calls_per_host": sorted(calls),
    }


def floor_once(hosts: int, forks: int, workdir: Path, inventory: Path, lab_dir: Path, index: int | str) -> dict[str, Any]:
    out = workdir / f"floor-{hosts}-{forks}-{index}"
    out.mkdir()
    play = out / "floor.yml"
    play.write_text(_FLOOR_PLAY, encoding="utf-8")
    usage = out / "usage.json"
    env = dict(os.environ, MTK_LAB_DIR=str(lab_dir), MTK_LAB_LATENCY="0")
    started = time.perf_counter()
    result = run([python(), "-c", _MEASURED_MTK, str(usage), "lab", "--inventory", str(inventory), "ansible-playbook",
                  str(play), "--forks", str(forks)], env, ok=(0,))
    wall = time.perf_counter() - started
    used = json.loads(usage.read_text(encoding="utf-8"))
    return {"exit_code": result.returncode, "ok_hosts": result.stdout.count(" ok=1 "), "wall_s": wall,
            "mtk_cpu_s": used["self"]["cpu_s"], "ansible_cpu_s": used["children"]["cpu_s"],
            "ansible_rss_mb": used["children"]["max_rss_kb"] / 1024}


def controller_once(hosts: int, workdir: Path, facts: Path, hostvars: Path, index: int, outputs: str) -> dict[str, Any]:
    out = workdir / f"controller-{hosts}-{index}"
    out.mkdir()
    usage = out / "usage.json"
    started = time.perf_counter()
    run([python(), "-c", _CONTROLLER, str(usage), str(facts), str(hosts), str(out), str(hostvars), outputs],
        dict(os.environ))
    wall = time.perf_counter() - started
    used = json.loads(usage.read_text(encoding="utf-8"))
    return {"exit_code": used["exit_code"], "wall_s": wall, "mtk_cpu_s": used["cpu_s"],
            "start_cpu_s": used["start_cpu_s"], "plan_cpu_s": used["plan_cpu_s"], "hosts_cpu_s": used["hosts_cpu_s"],
            "mtk_rss_mb": used["max_rss_kb"] / 1024,
            "json_kb_per_host": (out / "r.json").stat().st_size / 1024 / hosts if (out / "r.json").is_file() else 0.0}


def spread(values: list[float], scale: float = 1.0, digits: int = 1) -> dict[str, float]:
    scaled = [v * scale for v in values]
    return {"median": round(statistics.median(scaled), digits), "min": round(min(scaled), digits),
            "max": round(max(scaled), digits)}


def summarise(runs: list[dict[str, Any]], hosts: int) -> dict[str, Any]:
    per_host_ms = 1000.0 / hosts
    out: dict[str, Any] = {"runs": len(runs)}
    for key in ("mtk_cpu_s", "ansible_cpu_s", "hosts_cpu_s", "plan_cpu_s", "floor_cpu_s", "share_cpu_s"):
        if key in runs[0]:
            out[key.replace("_cpu_s", "_cpu_ms_per_host")] = spread([r[key] for r in runs], per_host_ms, 2)
            out[key] = spread([r[key] for r in runs], 1.0, 2)
    if "ansible_cpu_s" in runs[0]:
        out["total_cpu_ms_per_host"] = spread([r["mtk_cpu_s"] + r["ansible_cpu_s"] for r in runs], per_host_ms, 2)
    for key in ("mtk_rss_mb", "ansible_rss_mb", "json_kb_per_host", "wall_s", "start_cpu_s"):
        if key in runs[0]:
            out[key] = spread([r[key] for r in runs], 1.0, 2)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("scan", "floor", "share", "controller"), default="scan",
                        help="see above (default: %(default)s)")
    parser.add_argument("--hosts", default="200", help="comma-separated host counts (default: %(default)s)")
    parser.add_argument("--latency", type=float, default=0.0,
                        help="scan mode: modelled latency in seconds, MTK_LAB_LATENCY: in-process slept per module "
                        "call in Ansible's worker, over WinRM by the endpoint before each Receive answer "
                        "(default: %(default)s)")
    parser.add_argument("--forks", default="20", help="scan mode: comma-separated --forks values (default: %(default)s)")
    parser.add_argument("--outputs", default="console,json,junit,html,history",
                        help="controller mode: what the scan writes (default: %(default)s, as `mtk scan` with every "
                        "report option)")
    parser.add_argument("--transport", default="inprocess",
                        help="scan mode, comma-separated: inprocess (the stand-ins run in Ansible's workers) and/or "
                        "winrm (the lab's WinRM endpoints) (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per configuration (default: %(default)s)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every run and the summaries as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary lab and reports")
    args = parser.parse_args(argv)
    counts = [int(h) for h in args.hosts.split(",") if h.strip()]
    forks_list = [int(f) for f in args.forks.split(",") if f.strip()]

    workdir = Path(tempfile.mkdtemp(prefix="mtk-bench-"))
    rows: list[dict[str, Any]] = []
    failed = False
    try:
        for hosts in counts:
            inventory = workdir / f"inventory-{hosts}"
            names = make_inventory(inventory, hosts)
            if args.mode == "controller":
                facts = workdir / "facts.json"
                if not facts.is_file():
                    env = dict(os.environ, MTK_LAB_DIR=str(workdir / "lab-template"))
                    run([python(), "-m", "mt_eklient.cli", "lab", "up"], env, ok=(0,))
                    answer = run([python(), "-m", "mt_eklient.cli", "lab", "facts", TEMPLATE_HOST], env, ok=(0,))
                    facts.write_text(answer.stdout, encoding="utf-8")
                hostvars = workdir / "hostvars.json"
                template = {}
                for path in sorted((inventory / "group_vars").glob("*.yml")):
                    template.update(_inventory_yaml(path))
                template.update(_inventory_yaml(inventory / "host_vars" / f"{names[0]}.yml"))
                hostvars.write_text(json.dumps(template), encoding="utf-8")
                runs = [controller_once(hosts, workdir, facts, hostvars, i, args.outputs) for i in range(args.repeat)]
                rows.append({"mode": "controller", "hosts": hosts, "outputs": args.outputs, **summarise(runs, hosts),
                             "each": runs})
                continue
            for transport in [t for t in args.transport.split(",") if t.strip()]:
                lab_dir = workdir / f"lab-{hosts}-{transport}"
                # Over WinRM the latency is the endpoint's: each Receive answers that much later, server
                # side, as a slow network would (docs/lab.md); in-process scan_once sets it per call.
                env = dict(os.environ, MTK_LAB_DIR=str(lab_dir),
                           MTK_LAB_LATENCY=str(args.latency if transport == "winrm" else 0))
                run([python(), "-m", "mt_eklient.cli", "lab", "--inventory", str(inventory), "up",
                     *(["--in-process"] if transport == "inprocess" else [])], env, ok=(0,))
                try:
                    for forks in forks_list:
                        if args.mode == "share":
                            pairs = [(floor_once(hosts, forks, workdir, inventory, lab_dir, f"{transport}-{i}"),
                                      scan_once(hosts, args.latency, forks, workdir, names, inventory, lab_dir,
                                                f"{transport}-{i}", transport)) for i in range(args.repeat)]
                            failed |= any(f["ok_hosts"] != hosts or r["calls_per_host"] != [(1, 1)]
                                          or r["evaluated"] != hosts for f, r in pairs)
                            runs = [dict(r, floor_cpu_s=f["ansible_cpu_s"],
                                         share_cpu_s=r["mtk_cpu_s"] + r["ansible_cpu_s"] - f["ansible_cpu_s"])
                                    for f, r in pairs]
                            rows.append({"mode": "share", "transport": transport, "hosts": hosts, "forks": forks,
                                         "latency_s": args.latency, "calls_per_host": sorted(
                                             {c for r in runs for c in r["calls_per_host"]}),
                                         **summarise(runs, hosts), "each": runs})
                            continue
                        if args.mode == "floor":
                            runs = [floor_once(hosts, forks, workdir, inventory, lab_dir, f"{transport}-{i}")
                                    for i in range(args.repeat)]
                            failed |= any(r["ok_hosts"] != hosts for r in runs)
                            rows.append({"mode": "floor", "transport": transport, "hosts": hosts, "forks": forks,
                                         **summarise(runs, hosts), "each": runs})
                            continue
                        runs = [scan_once(hosts, args.latency, forks, workdir, names, inventory, lab_dir,
                                          f"{transport}-{i}", transport) for i in range(args.repeat)]
                        failed |= any(r["calls_per_host"] != [(1, 1)] or r["evaluated"] != hosts for r in runs)
                        rows.append({"mode": "scan", "transport": transport, "hosts": hosts, "forks": forks,
                                     "latency_s": args.latency,
                                     "calls_per_host": sorted({c for r in runs for c in r["calls_per_host"]}),
                                     **summarise(runs, hosts), "each": runs})
                finally:
                    run([python(), "-m", "mt_eklient.cli", "lab", "down"], env, ok=(0,))
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
               "load_average": [round(x, 1) for x in os.getloadavg()]}
    print(f"machine: {machine['cpus']} CPU(s), Python {machine['python']}, {machine['platform']}, "
          f"load average {machine['load_average']}")
    print("figures: median [min-max] of the runs; CPU = user + system seconds (getrusage)")

    def fmt(value: dict[str, float] | None) -> str:
        return f"{value['median']} [{value['min']}-{value['max']}]" if value else "-"
    for r in rows:
        head = f"{r['mode']}: {r['hosts']} hosts" + (
            f", {r['transport']}, forks {r['forks']}, latency {r['latency_s']}s" if r["mode"] in ("scan", "share")
            else f", {r['transport']}, forks {r['forks']}, one no-op module per host" if r["mode"] == "floor"
            else f", writing {r['outputs']}") + f", {r['runs']} runs"
        print(head)
        if r["mode"] == "floor":
            print(f"  Ansible CPU per host   {fmt(r.get('ansible_cpu_ms_per_host'))} ms   (the floor)")
            print(f"  Ansible peak RSS       {fmt(r.get('ansible_rss_mb'))} MB (largest process)")
            print(f"  wall (noisy)           {fmt(r.get('wall_s'))} s")
            continue
        print(f"  mtk CPU per host       {fmt(r.get('mtk_cpu_ms_per_host'))} ms   (whole run {fmt(r.get('mtk_cpu_s'))} s)")
        if r["mode"] == "share":
            print(f"  Ansible floor per host {fmt(r.get('floor_cpu_ms_per_host'))} ms   (one no-op module, same lab)")
        if r["mode"] in ("scan", "share"):
            print(f"  Ansible CPU per host   {fmt(r.get('ansible_cpu_ms_per_host'))} ms")
            print(f"  total CPU per host     {fmt(r.get('total_cpu_ms_per_host'))} ms")
            print(f"  Ansible peak RSS       {fmt(r.get('ansible_rss_mb'))} MB (largest process)")
            print(f"  remote calls per host  {r['calls_per_host']} (module calls, collector calls)")
        if r["mode"] == "share":
            print(f"  project's share        {fmt(r.get('share_cpu_ms_per_host'))} ms per host "
                  "(mtk + the scan's Ansible CPU above the floor)")
        if r["mode"] == "controller":
            print(f"  per host (evaluate + reports + history) {fmt(r.get('hosts_cpu_ms_per_host'))} ms; "
                  f"planning {fmt(r.get('plan_cpu_ms_per_host'))} ms; start-up {fmt(r.get('start_cpu_s'))} s")
        print(f"  mtk peak RSS           {fmt(r.get('mtk_rss_mb'))} MB")
        print(f"  JSON report per host   {fmt(r.get('json_kb_per_host'))} kB")
        print(f"  wall (noisy)           {fmt(r.get('wall_s'))} s")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "rows": rows}, indent=2) + "\n", encoding="utf-8")
    if failed:
        print("FAILED: every host must be evaluated after exactly one remote invocation (floor: every host ok)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
