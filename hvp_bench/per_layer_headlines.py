"""README's per-layer table and its two checks (a rerun, a wider depth range), for the pages.

Every entry is a method's per-layer cost over the same formulation's gradient, paired in
the rounds they were timed in (per_layer_own_gradient.csv, which the run's derive step writes
with hvp_bench.paired.per_layer_over_own_gradient): the median over the repeats, with a 95% percentile bootstrap interval over the
repeats and the rounds. Digits follow the interval: two significant digits where it is
wider than ±10% of the median, three otherwise. Rendered through hvp_bench.headlines.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from hvp_bench.cost_headlines import method_rows, variant_row
from hvp_bench.paired import OWN_GRADIENT
from hvp_bench.pooled import POOLED, run_dirs
from hvp_bench.words import significant

INTERVAL = "95% percentile bootstrap over repeats and rounds, each method paired with its gradient in the rounds"


def own_gradient_costs(run_dir: str | Path) -> pd.DataFrame:
    """The run's OWN_GRADIENT table; FileNotFoundError saying how to write it."""
    path = Path(run_dir) / OWN_GRADIENT
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: `hvp-bench --config ... --out {run_dir} --redraw` writes it")
    return pd.read_csv(path)


def interval_text(row) -> str:
    """"1.6× [1.1, 2.4]": the ratio and its interval, to the digits its width allows."""
    digits = 2 if max(row.ratio - row.lo, row.hi - row.ratio) > 0.1 * row.ratio else 3
    return f"{significant(row.ratio, digits)}× [{significant(row.lo, digits)}, {significant(row.hi, digits)}]"


def _pairs(costs: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(method, its row name, variant) of every table row the run has."""
    return [(m, name, v) for m, name in method_rows() for v in dict.fromkeys(costs["variant"])
            if variant_row(costs, v, m) is not None]


def per_layer_lines(run_dir: str | Path) -> list[str]:
    """The per-layer cost of every HVP over its own formulation's gradient, in the homework's
    formulation and the tuned one (configs/bench_per_layer.toml)."""
    run_dir = Path(run_dir)
    costs = own_gradient_costs(run_dir)
    meta = json.loads((run_dir / "meta.json").read_text())
    config, env = meta["config"], meta["environment"]
    task, tuned = config["variants"][:2]

    def cell(variant: str, method: str) -> str:
        if method == "gradient":
            return "1 (its own reference)"
        return interval_text(variant_row(costs, variant, method))

    within = [abs(r.hi - r.ratio) <= 0.25 * r.ratio and abs(r.ratio - r.lo) <= 0.25 * r.ratio
              for r in costs[costs["variant"] == tuned].itertuples()]
    lines = [f"Per extra layer, over the same formulation's gradient (`{run_dir.as_posix()}`: {env.get('cpu_count')}-core "
             f"{env.get('cpu')}, jax {env.get('jax')}, width {config['width']}, {config['dtype']}, {len(config['depths'])} "
             f"depths from {min(config['depths'])} to {max(config['depths'])} layers, {config['repeats']} repeats of "
             f"{config['num_runs']} rounds, every method timed in each round):", "",
             f"| method | the homework's formulation (`{task}`) | tuned (`{tuned}`) |", "|---|---|---|"]
    lines += [f"| {name} | {cell(task, method)} | {cell(tuned, method)} |" for method, name in method_rows()
              if method == "gradient" or variant_row(costs, task, method) is not None]
    lines += ["", f"Each entry: the median over the repeats of that repeat's per-layer cost (a Theil-Sen slope over the "
                  f"depths of the median time) over the per-layer cost of its own formulation's gradient; in brackets a {INTERVAL}. "
                  f"{sum(within)} of {len(within)} of the tuned column's intervals lie within ±25% of their median."]
    return lines


def depth_range_lines(run_dir: str | Path, alive_run: str = "bench_per_layer_cpu") -> list[str]:
    """The per-layer table of a study over 50-1000 layers (configs/bench_per_layer_deep.toml),
    dead depths included, beside the same study over depths where the network is alive
    (the sibling directory `alive_run`): do the two ranges give the same figures?"""
    run_dir = Path(run_dir)
    deep, alive = (own_gradient_costs(d) for d in (run_dir, run_dir.parent / alive_run))
    meta = json.loads((run_dir / "meta.json").read_text())
    depths = meta["config"]["depths"]
    first_dead = pd.read_csv(run_dir / "variants.csv")["first_dead"].dropna()
    lines = [f"Per extra layer over the same formulation's gradient, fitted over {len(depths)} depths from "
             f"{min(depths)} to {max(depths)} layers (`{run_dir.as_posix()}`; the output is all zero from "
             f"{int(first_dead.min())} layers on) beside the alive range (`{run_dir.parent.name}/{alive_run}`), each the "
             f"median over {meta['config']['repeats']} repeats [{INTERVAL}]:", "",
             "| method | formulation | 50-1000 layers | alive range | intervals overlap |", "|---|---|---|---|---|"]
    overlap, pairs = 0, _pairs(alive)
    for method, name, variant in pairs:
        a, b = variant_row(deep, variant, method), variant_row(alive, variant, method)
        agree = a.lo <= b.hi and b.lo <= a.hi
        overlap += agree
        lines.append(f"| {name} | `{variant}` | {interval_text(a)} | {interval_text(b)} | {'yes' if agree else '**no**'} |")
    lines += ["", f"The intervals of the two ranges overlap for {overlap} of {len(pairs)} (method, formulation) pairs."]
    return lines


def rerun_lines(run_dir: str | Path, original: str = "bench_per_layer_cpu") -> list[str]:
    """A sceptic's check: a second run of a repeated study, from a fresh clone, against the
    intervals quoted from the first (the sibling directory `original`)."""
    run_dir = Path(run_dir)
    again, first = (own_gradient_costs(d) for d in (run_dir, run_dir.parent / original))
    meta = json.loads((run_dir / "meta.json").read_text())
    session = meta["sessions"][0]
    rows, inside, in_range = [], 0, 0
    for method, name, variant in _pairs(first):
        if (again_row := variant_row(again, variant, method)) is None:
            continue
        quoted = variant_row(first, variant, method)
        ok = quoted.lo <= again_row.ratio <= quoted.hi
        inside += ok
        in_range += quoted.rep_min <= again_row.ratio <= quoted.rep_max
        rows.append(f"| {name} | `{variant}` | {interval_text(quoted)} | {interval_text(again_row)} | "
                    f"{'yes' if ok else '**no**'} |")
    return [f"The same study run again from a fresh clone of the commit {session['git_commit'][:7]}, "
            f"{meta['config']['repeats']} repeats (`{run_dir.as_posix()}`, load average "
            f"{session['load_average_at_start'][0]:.1f} at its start): {inside} of {len(rows)} medians land inside the "
            f"intervals quoted from the first run, and {in_range} of {len(rows)} inside the range of the first run's "
            "own repeats.", "",
            "| method | formulation | first run | second run | second run's median inside the first's interval |",
            "|---|---|---|---|---|", *rows]


POOLED_INTERVAL = ("95% percentile bootstrap over the runs, then the repeats within each, then the rounds, each method "
                   "paired with its gradient in the rounds")


def _within(row, share: float = 0.25) -> bool:
    return row.hi - row.ratio <= share * row.ratio and row.ratio - row.lo <= share * row.ratio


def pooled_lines(parent: str | Path) -> list[str]:
    """README's per-layer table: every HVP's per-layer cost over its own formulation's gradient, pooled over
    whole runs started hours apart (configs/bench_per_layer_runs.toml; hvp_bench.pooled writes pooled.csv)."""
    parent = Path(parent)
    costs = pd.read_csv(parent / POOLED)
    metas = [json.loads((d / "meta.json").read_text()) for d in run_dirs(parent)]
    config, env = metas[0]["config"], metas[0]["environment"]
    task, tuned = config["variants"][:2]
    starts = ", ".join(f"{m['started'][:16].replace('T', ' ')} ({m['sessions'][0]['git_commit'][:7]})"
                       for m in metas)

    def cell(variant: str, method: str) -> str:
        return "1 (its own reference)" if method == "gradient" else interval_text(variant_row(costs, variant, method))

    tuned_rows = list(costs[costs["variant"] == tuned].itertuples())
    dirty = sum(any(session.get("git_dirty") is not False for session in m["sessions"]) for m in metas)
    clean = "each from a clean commit" if not dirty else f"{dirty} of them from an uncommitted tree"
    lines = [f"Per extra layer, over the same formulation's gradient (`{parent.as_posix()}`: {len(metas)} runs of "
             f"the same study, started {starts} UTC, {clean}; {env.get('cpu_count')}-core "
             f"{env.get('cpu')}, jax {env.get('jax')}, width {config['width']}, {config['dtype']}, depths "
             f"{', '.join(map(str, config['depths']))}, each run {config['repeats']} repeats of {config['num_runs']} "
             "rounds, every method timed in each round):", "",
             f"| method | the homework's formulation (`{task}`) | tuned (`{tuned}`) |", "|---|---|---|"]
    lines += [f"| {name} | {cell(task, method)} | {cell(tuned, method)} |" for method, name in method_rows()
              if method == "gradient" or variant_row(costs, task, method) is not None]
    lines += ["", f"Each entry: the median over every repeat of every run of that repeat's per-layer cost (a Theil-Sen "
                  f"slope over the depths of the median time) over the per-layer cost of its own formulation's "
                  f"gradient; in brackets a {POOLED_INTERVAL}. {sum(map(_within, tuned_rows))} of {len(tuned_rows)} "
                  "of the tuned column's intervals lie within ±25% of their median."]
    return lines


def between_runs_lines(parent: str | Path) -> list[str]:
    """How much of the pooled table's spread lies between its runs: each run's own median beside the pooled one."""
    parent = Path(parent)
    costs = pd.read_csv(parent / POOLED)
    names = [d.name for d in run_dirs(parent)]
    own = {d.name: pd.read_csv(d / OWN_GRADIENT) for d in run_dirs(parent)}
    lines = [f"Each run's own median beside the pooled one (`{parent.as_posix()}`), and the share of the variance of "
             "the log per-repeat ratios that lies between runs (one-way random effects; 0: the runs differ no more "
             "than their repeats do):", "",
             f"| method | formulation | pooled | {' | '.join(names)} | between runs |",
             "|---|---|---|" + "---|" * len(names) + "---|"]
    for method, name, variant in _pairs(costs):
        row = variant_row(costs, variant, method)
        runs = " | ".join(f"{significant(variant_row(own[n], variant, method).ratio, 2)}×" for n in names)
        share = "n/a" if pd.isna(row.between_runs) else f"{row.between_runs:.0%}"
        lines.append(f"| {name} | `{variant}` | {significant(row.ratio, 2)}× | {runs} | {share} |")
    shares = costs["between_runs"].dropna()
    lines += ["", f"Between runs lies a median {shares.median():.0%} of that variance (from {shares.min():.0%} to "
                  f"{shares.max():.0%} over the {len(shares)} entries); the repeats of one run see only the rest."]
    return lines


def _half_width(costs: pd.DataFrame, variant: str) -> float:
    """The median over a column's entries of the interval's larger half-width, relative to the median."""
    rows = costs[costs["variant"] == variant]
    return float(pd.concat([rows["hi"] / rows["ratio"] - 1, 1 - rows["lo"] / rows["ratio"]], axis=1).max(axis=1).median())


def depth_choice_lines(parent: str | Path, first: str = "bench_per_layer_cpu") -> list[str]:
    """Why the pooled study times 1000-6000 layers: the tuned gradient's median call at the shallowest and
    deepest depth, and the tuned column's typical interval half-width, of the first study (`results/<first>`)
    and of the pooled study's first run: one run each, like for like."""
    parent = Path(parent)
    old, new = parent.parent / first, run_dirs(parent)[0]
    tuned = json.loads((old / "meta.json").read_text())["config"]["variants"][1]
    lines = [f"The tuned gradient's median call at the shallowest and the deepest depth, and the median over the tuned "
             f"column of the larger half of each interval relative to its median (`{tuned}`), one run of each study:", "",
             "| study | depths | the tuned gradient's median call, shallowest → deepest | tuned column's median "
             "half-width |", "|---|---|---|---|"]
    for run in (old, new):
        costs = own_gradient_costs(run)
        summary = pd.read_csv(run / "summary.csv")
        grad = summary[(summary["variant"] == tuned) & (summary["method"] == "gradient")].sort_values("depth")
        lo, hi = grad.iloc[0], grad.iloc[-1]
        lines.append(f"| `{run.parent.name}/{run.name}`{' (its first run)' if run == new else ''} | "
                     f"{int(lo['depth'])}-{int(hi['depth'])} | {lo['median_s'] * 1e6:.0f} µs → {hi['median_s'] * 1e6:.0f} µs "
                     f"(×{hi['median_s'] / lo['median_s']:.1f}) | ±{_half_width(costs, tuned):.0%} |")
    return lines
