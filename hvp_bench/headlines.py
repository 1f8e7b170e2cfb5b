"""README's headline numbers of a run, written by code from its summary.csv.

    python -m hvp_bench.headlines results/hvp_homework_cpu

prints the lines README shows between `<!-- headlines:hvp_bench ... -->` markers;
tests/test_readme.py regenerates them and fails when the text and the files disagree.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import pandas as pd

from hvp_bench.config import TASK_METHODS

ROUTES = {"hessian_then_hvp": "(1) build the Hessian, then multiply",
          "naive_hvp": "(2) multiply a Hessian you already have",
          "hvp_rev_rev": "(3) autodiff HVP, no Hessian (reverse-over-reverse)"}


def _time(seconds: float) -> str:
    """3 significant digits in ms below a second, in s above."""
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def headline_lines(run_dir: str | Path) -> list[str]:
    """Median time per call of the task's three routes at the shallowest and deepest depth."""
    run_dir = Path(run_dir)
    summary = pd.read_csv(run_dir / "summary.csv")
    meta = json.loads((run_dir / "meta.json").read_text())
    rows = summary[(summary["variant"] == "scan") & (summary["status"] == "ok")]
    low, high = int(rows["depth"].min()), int(rows["depth"].max())
    env = meta["environment"]
    lines = [f"Median time per call, {low} and {high} hidden layers (`{run_dir.as_posix()}`, "
             f"{env.get('cpu_count')}-core {env.get('cpu')}, jax {env.get('jax')}, {meta['config']['dtype']}):", ""]
    at = {m: rows[rows["method"] == m].set_index("depth")["median_s"] for m in TASK_METHODS}
    for method in TASK_METHODS:
        lines.append(f"- {ROUTES[method]}: {_time(at[method][low])} → {_time(at[method][high])} "
                     f"({at[method][high] / at[method][low]:.0f}× for {high / low:.0f}× the depth)")
    dense, autodiff = at["hessian_then_hvp"][high], at["hvp_rev_rev"][high]
    lines += ["", f"At {high} layers, building the Hessian once costs as much as {dense / autodiff:.0f} autodiff HVPs."]
    return lines


def duration_lines(runs_root: str | Path) -> list[str]:
    """How long README's main job took: the median and range of the whole command's wall
    time (wall.json: start-up, measuring, table and figures) of each run under `runs_root`,
    on the machine its meta.json names."""
    runs_root = Path(runs_root)
    runs = sorted(p.parent for p in runs_root.glob("*/wall.json"))
    if not runs:
        raise FileNotFoundError(f"no */wall.json under {runs_root}")
    seconds = sorted(json.loads((run / "wall.json").read_text())["wall_s"] for run in runs)
    env = json.loads((runs[0] / "meta.json").read_text())["environment"]

    def clock(s: float) -> str:
        minutes, seconds = divmod(round(s), 60)
        return f"{minutes}:{seconds:02d}"

    return [f"It takes {clock(statistics.median(seconds))} min on a {env.get('cpu_count')}-core "
            f"{env.get('cpu')} (median of {len(seconds)} runs from fresh clones, {clock(seconds[0])} to "
            f"{clock(seconds[-1])}, the whole command; `{runs_root.as_posix()}`)."]


if __name__ == "__main__":
    print("\n".join(headline_lines(sys.argv[1])))
