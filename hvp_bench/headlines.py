"""hvp_bench's numbers in README and docs/, written by code from committed result files.

Each function takes a run directory and returns the lines of one block
`<!-- headlines:hvp_bench.FUNCTION RUN_DIR -->` (expkit.headlines rewrites them;
tests/test_readme.py fails when text and files disagree):
- headline_lines: the homework's three routes at the shallowest and deepest depth;
- duration_lines: how long README's main job takes, over repeated fresh-clone runs;
- per_layer_lines: each HVP's per-layer cost in gradients, from a repeated study (the
  median over repeats, an interval that holds every repeat's own estimate);
- depth_range_lines, rerun_lines: that study over 50-1000 layers, and run a second time;
- peer_lines: PyTorch against JAX, like for like;
- pytree_lines: the parameters as a pytree against one flat vector, paired in the same rounds.

    python -m hvp_bench.headlines results/hvp_homework_cpu   # headline_lines
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import pandas as pd

from hvp_bench.config import TASK_METHODS
from hvp_bench.words import duration, label, significant
# Rendered as hvp_bench.<name> in the pages: the cost tables live in their own module.
from hvp_bench.cost_headlines import (PER_LAYER_METHODS, block_lines, blocks16_lines, lever_lines,  # noqa: F401
                                     framework_lines, gpu_lever_lines, method_rows, own_gradient_lines,
                                     program_lines, width_lines)
from hvp_bench.per_layer_headlines import (between_runs_lines, depth_choice_lines, depth_range_lines,  # noqa: F401
                                          per_layer_lines, pooled_lines, rerun_lines)

def headline_lines(run_dir: str | Path) -> list[str]:
    """Median time per call of the task's three routes at the shallowest and deepest depth."""
    run_dir = Path(run_dir)
    summary = pd.read_csv(run_dir / "summary.csv")
    meta = json.loads((run_dir / "meta.json").read_text())
    rows = summary[(summary["variant"] == "scan") & (summary["status"] == "ok")]
    low, high = int(rows["depth"].min()), int(rows["depth"].max())
    env = meta["environment"]
    lines = [f"Median time per call, {low} and {high} hidden layers (`{run_dir.as_posix()}`, "
             f"{env.get('cpu_count')}-core {env.get('cpu')}, jax {env.get('jax')}, {meta['config']['dtype']}"
             + (f", the runs of {repeats} repeats pooled" if (repeats := meta["config"].get("repeats", 1)) > 1 else "")
             + "):", ""]
    at = {m: rows[rows["method"] == m].set_index("depth")["median_s"] for m in TASK_METHODS}
    for method in TASK_METHODS:
        lines.append(f"- {label(method)}: {duration(at[method][low])} → {duration(at[method][high])} "
                     f"({at[method][high] / at[method][low]:.0f}× for {high / low:.0f}× the depth)")
    lines += ["", _dense_over_hvp(run_dir, high)]
    return lines


def _dense_over_hvp(run_dir: Path, depth: int) -> str:
    """Building the Hessian over one autodiff HVP at `depth`: two digits, the repeats' range, and what ran."""
    runs = pd.read_csv(run_dir / "runs.csv")
    runs = runs[(runs["variant"] == "scan") & (runs["status"] == "ok") & (runs["depth"] == depth)]
    runs = runs.assign(repeat=runs["repeat"] if "repeat" in runs else 0)
    medians = runs.groupby(["repeat", "method"])["time_s"].median().unstack()
    ratios = (medians["hessian_then_hvp"] / medians["hvp_rev_rev"]).sort_values()
    dead = not runs[runs["method"] == "hvp_rev_rev"]["nonzero"].astype(bool).any()
    forms = runs.groupby("method")["gelu"].first() if "gelu" in runs else None
    text = (f"At {depth} layers, building the Hessian once costs as much as about {float(f'{ratios.median():.2g}'):.0f} "
            f"autodiff HVPs (the median of {len(ratios)} repeats' ratios of medians"
            + (f", which range from {ratios.iloc[0]:.0f} to {ratios.iloc[-1]:.0f}" if len(ratios) > 1 else "") + ")")
    notes = ["the network's output is all zero there"] if dead else []
    if forms is not None and forms["hessian_then_hvp"] != forms["hvp_rev_rev"]:
        notes.append(f"the Hessian is built with the GELU's {forms['hessian_then_hvp']} form, the HVP runs its "
                     f"{forms['hvp_rev_rev']} form: the same function, written two ways")
    return text + ("; " + "; ".join(notes) if notes else "") + "."


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


def _interval(median: float, lo: float, hi: float) -> str:
    return f"{significant(median)}× [{significant(lo)}, {significant(hi)}]"


def _verdict(lo: float, hi: float) -> str:
    return "JAX faster" if lo > 1 else "PyTorch faster" if hi < 1 else "not resolved"


def peer_lines(run_dir: str | Path) -> list[str]:
    """JAX against PyTorch per extra layer, like for like: over the depths both timed, each
    framework's best variant, and the plain formulations (JAX's scan, eager PyTorch)."""
    run_dir = Path(run_dir)
    meta = json.loads((run_dir / "meta.json").read_text())
    config, env = meta["config"], meta["environment"]
    lines = [f"Per extra layer, PyTorch's cost over JAX's (`{run_dir.as_posix()}`: {env.get('backend', 'cpu')}, "
             f"torch {env.get('torch')}, width {config['width']}, batch {config['batch']}, {config['dtype']}; "
             f"95% CIs; each side fitted over the depths both timed):", "",
             "| comparison | method | JAX | PyTorch | PyTorch / JAX | |", "|---|---|---|---|---|---|"]
    flags, header = set(), len(lines)
    for stem, which in (("peers_per_layer", "best of each"), ("peers_per_layer_plain", "scan against eager")):
        path = run_dir / f"{stem}.csv"
        if not path.is_file():
            continue
        table = pd.read_csv(path).set_index("method")
        for method in ("gradient", "best_hvp"):
            if method not in table.index:
                continue
            r = table.loc[method]
            name = "gradient" if method == "gradient" else "best HVP"
            side = {fw: f"{significant(r[f'{fw}_s'] * 1e6)} µs (`{r[f'{fw}_variant']}`"
                        + ("" if method == "gradient" else f", {r[f'{fw}_method']}") + ")" for fw in ("jax", "torch")}
            status = "" if r.ratio_status == "ok" else f" ({r.ratio_status}, over {int(r.depths)} depths)"
            if r.ratio_status != "ok":
                flags.add(r.ratio_status)
            lines.append(f"| {which} | {name} | {side['jax']} | {side['torch']} | "
                         f"{_interval(r.ratio, r.ratio_lo, r.ratio_hi)}{status} | {_verdict(r.ratio_lo, r.ratio_hi)} |")
    if len(lines) == header:  # PyTorch timed at one depth only: per call there
        depths = pd.read_csv(run_dir / "peers_by_depth.csv").set_index("method")
        at = {m: depths.loc[m] for m in ("gradient", "best_hvp") if m in depths.index}
        lines = lines[:1] + ["", f"PyTorch was timed at {int(next(iter(at.values())).depth)} layers only: no per-layer "
                             "figure. Per call there, PyTorch's fastest over JAX's fastest: " + ", ".join(
                                 f"{'gradient' if m == 'gradient' else 'best HVP'} {significant(r.ratio)}×"
                                 for m, r in at.items()) + "."]
    if flags:
        lines += ["", "Flagged fits are indicative, not headlines: fewer than 7 depths, or a line whose halves "
                      "disagree (expkit.robust)."]
    return lines


def pytree_lines(run_dir: str | Path) -> list[str]:
    """What the parameters as a pytree cost against one flat vector, paired in the same rounds
    (pytree_over_flat.csv, hvp_bench.paired), at the deepest depth of the run."""
    run_dir = Path(run_dir)
    table = pd.read_csv(run_dir / "pytree_over_flat.csv")
    meta = json.loads((run_dir / "meta.json").read_text())
    config, env = meta["config"], meta["environment"]
    depth = int(table["depth"].max())
    rows = table[(table["depth"] == depth) & table["method"].isin(PER_LAYER_METHODS)].set_index("method")
    level = f"{rows['level'].iloc[0]:.0%}"
    lines = [f"Time per call with the parameters as a pytree over the same call with one flat vector, at {depth} "
             f"layers (`{run_dir.as_posix()}`: {env.get('cpu_count')}-core {env.get('cpu')}, jax {env.get('jax')}, "
             f"the homework's formulation, width {config['width']}, {config['dtype']}, {config['repeats']} repeats of "
             f"{config['num_runs']} shuffled rounds; commit {env.get('git_commit', '')[:7]}):", "",
             f"| method | pytree / flat, median over rounds [{level} bootstrap CI] | range of the repeats' medians |",
             "|---|---|---|"]
    for method, name in method_rows():
        if method in rows.index:
            r = rows.loc[method]
            lines.append(f"| {name} | {r.ratio:.3f} [{r.lo:.3f}, {r.hi:.3f}] | {r.rep_min:.3f}-{r.rep_max:.3f} |")
    return lines


if __name__ == "__main__":
    print("\n".join(headline_lines(sys.argv[1])))
