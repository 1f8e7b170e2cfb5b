"""How long each test tier takes, the whole `pytest -m TIER` command timed from outside.

    python -m tests.helpers.time_tiers --out results/test_tiers_cpu [--tiers unit] [--repeats 3]

Runs each tier `repeats` times, one after another (nothing else should run meanwhile),
and writes tiers.json: every run's wall seconds and exit status, the git state and the
machine. docs/running.md quotes the median and range (expkit.headlines.test_tier_lines).
A dev tool: not part of the installed suite.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from expkit.provenance import git_state, host_info
from expkit.results import now_iso, write_json_atomic


def time_tier(tier: str) -> dict:
    """One `pytest -m TIER -q` run from the repository root: wall seconds, exit status, pytest's last line."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-m", tier, "-q", "-p", "no:cacheprovider"],
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    last = (done.stdout.strip().splitlines() or [""])[-1]
    return {"tier": tier, "wall_s": round(wall, 2), "exit": done.returncode, "pytest": last.strip("= ")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="directory for tiers.json")
    parser.add_argument("--tiers", nargs="+", default=["unit"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    state = git_state()  # before anything is written
    Path(args.out).mkdir(parents=True, exist_ok=True)
    runs = []
    for repeat in range(args.repeats):
        for tier in args.tiers:
            runs.append({"repeat": repeat, **time_tier(tier)})
            print(runs[-1], file=sys.stderr)
    write_json_atomic(Path(args.out) / "tiers.json",
                      {"made": now_iso(), **state, "command": "pytest -m TIER -q", "host": host_info(), "runs": runs})
    return 0 if all(run["exit"] == 0 for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
