#!/usr/bin/env python3
"""CPU-seconds of short `mtk` calls: `mtk --help` and `mtk verify` of one host (median [min-max]).

    .venv/bin/python bench/startup.py [--repeat 5]

Each call runs in a subprocess; its CPU time (user + system) is read with resource.getrusage
(RUSAGE_CHILDREN), not wall time, which on a shared machine measures the neighbours. `mtk verify`
evaluates the simulated lab's wm1-sono-01 (fresh install) against its profile and the lab's site,
with no history, three ways:
- with the parsed-data cache (a private MTK_CACHE_DIR, filled by the warm-up call): the resolved
  baseline comes from it, as for every call after the first with the same profile, site, class
  and day;
- with the cache but the baseline resolved every call (an MTK_BENCH_CALL variable that changes
  every call: every MTK_* variable is part of the baseline's key), as on the first call of a day:
  the catalog, profile, site and merged profile still come from the cache;
- without it (MTK_CACHE_DIR empty): everything parsed and validated every call.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def mtk() -> list[str]:
    beside = Path(sys.executable).parent / "mtk"
    return [str(beside)] if beside.is_file() else [sys.executable, "-m", "mt_eklient.cli"]


def cpu_of(command: list[str], env: dict[str, str], call: int) -> float:
    if "MTK_BENCH_CALL" in env:
        env = dict(env, MTK_BENCH_CALL=str(call))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="calls of each command (default: %(default)s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mtk-startup-") as tmp:
        env = dict(os.environ, MTK_LAB_DIR=str(Path(tmp) / "lab"), MTK_CACHE_DIR=str(Path(tmp) / "cache"))
        subprocess.run([*mtk(), "lab", "up"], cwd=REPO, env=env, capture_output=True, check=True)
        facts = Path(tmp) / "facts.json"
        facts.write_text(subprocess.run([*mtk(), "lab", "facts", "wm1-sono-01"], cwd=REPO, env=env, capture_output=True,
                                        text=True, check=True).stdout, encoding="utf-8")
        verify = [*mtk(), "verify", str(facts), "--profile", "profiles/sonora-review-4.yml", "--class", "WM1",
                  "--site", "region-vastland", "--no-history"]
        commands = {
            "python -c pass": ([sys.executable, "-c", "pass"], env),
            "mtk --help": ([*mtk(), "--help"], env),
            "mtk verify (one host)": (verify, env),
            "mtk verify, new baseline": (verify, dict(env, MTK_BENCH_CALL="warm-up")),
            "mtk verify, no cache": (verify, dict(env, MTK_CACHE_DIR="")),
        }
        print(f"CPU-seconds (user + system), median [min-max] of {args.repeat} calls; load average "
              f"{[round(x, 1) for x in os.getloadavg()]}")
        for name, (command, command_env) in commands.items():
            warm = subprocess.run(command, cwd=REPO, env=command_env, capture_output=True, check=False)
            if warm.returncode not in (0, 1):  # measure the command, not its usage error
                raise SystemExit(f"{' '.join(command)}: exit {warm.returncode}\n{warm.stderr.decode()[-2000:]}")
            runs = [cpu_of(command, command_env, call) for call in range(args.repeat)]
            print(f"  {name:<24} {statistics.median(runs):.3f} [{min(runs):.3f}-{max(runs):.3f}] s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
