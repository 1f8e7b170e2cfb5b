"""The tables and figures `hvp-bench` writes beside a run: compile times, HVP cost in
gradients (per depth, above the floor, per layer), and, with several variants, the
variant study (hvp_bench.variant_study); with PyTorch's variants among them, JAX against
PyTorch (hvp_bench.peer_tables); with a "-tree" variant beside its flat twin, the pytree
path's paired ratio (hvp_bench.paired). Everything is derived from runs.csv alone. Per-depth
tables have a `dead` column naming the methods whose result there was all zero or
non-finite ("all" where every one was); per-layer tables count the dead depths fitted."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from expkit.results import write_csv_atomic
from hvp_bench import paired, peer_tables, per_layer_figures, variant_study
from hvp_bench.config import FLOOR_METHOD
from hvp_bench.plots import save_figure
from hvp_bench.words import title
from hvp_bench.rundir import load_run, split_sweeps, variants_of
from hvp_bench.scaling import dead_points, gradient_ratios, marginal_costs


def _show(heading: str, table: pd.DataFrame) -> str:
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.float_format", "{:.3g}".format):
        return f"\n{heading}\n{table.to_string()}"


def with_dead(table: pd.DataFrame, dead: pd.DataFrame) -> pd.DataFrame:
    """`table` (depth index) with a `dead` column: the methods dead at that depth, or "all"."""
    def names(depth) -> str:
        if depth not in dead.index:
            return ""
        row = dead.loc[depth].drop(FLOOR_METHOD, errors="ignore")  # a trivial call: nothing to check
        return "all" if row.all() else ";".join(row.index[row.to_numpy(bool)])

    return table.assign(dead=[names(d) for d in table.index]) if len(table) else table


def write_bench_tables(run_dir: str | Path, n_boot: int = 2000) -> str:
    """Writes the tables (CSV) and figures of a benchmark run; returns them as text."""
    run_dir = Path(run_dir)
    all_runs, meta = load_run(run_dir)
    runs, _ = split_sweeps(all_runs, meta)  # the primary variant
    methods = list(meta.get("config", {}).get("methods", [])) or sorted(runs["method"].unique())
    compile_s = runs.pivot_table(index="depth", columns="method", values="compile_s", aggfunc="first")
    dead = dead_points(runs)
    compile_s = with_dead(compile_s.reindex(columns=methods), dead)  # a method skipped everywhere shows empty
    ratios = with_dead(gradient_ratios(runs), dead)
    above_floor = with_dead(gradient_ratios(runs, above_floor=True), dead)
    per_layer = marginal_costs(runs, n_boot) if runs["depth"].nunique() >= 2 else pd.DataFrame()
    text = _show("compile time (s), every compile a method needs", compile_s)
    text += _show("median time / median gradient time", ratios)
    text += _show("the same, with the median dispatch floor subtracted from both", above_floor)
    write_csv_atomic(run_dir / "compile_s.csv", compile_s.reset_index())
    write_csv_atomic(run_dir / "hvp_over_gradient.csv", ratios.reset_index())
    write_csv_atomic(run_dir / "hvp_over_gradient_above_floor.csv", above_floor.reset_index())
    if len(per_layer):
        text += _show("per extra layer: seconds, and in gradients (95% bootstrap CIs)", per_layer.set_index("method"))
        write_csv_atomic(run_dir / "per_layer.csv", per_layer)
    if pairs := paired.tree_pairs(list(variants_of(meta, all_runs))):
        table = pd.concat([paired.paired_ratios(all_runs, tree, flat, n_boot=n_boot) for tree, flat in pairs])
        write_csv_atomic(run_dir / "pytree_over_flat.csv", table)
        text += _show("the parameters as a pytree over one flat vector: time per call, paired within each round "
                      "(95% bootstrap CI over repeats and rounds; range of the repeats' medians)",
                      table.set_index(["numerator", "method", "depth"]).drop(columns=["denominator", "width", "level"]))
    if len(variants_of(meta, all_runs)) > 1 and all_runs["depth"].nunique() >= 2:
        costs = variant_study.per_layer_costs(all_runs, meta.get("config", {}).get("width"), n_boot)
        best = variant_study.best_per_method(costs)
        write_csv_atomic(run_dir / "variants.csv", costs)
        write_csv_atomic(run_dir / "best_variants.csv", best)
        own = paired.per_layer_over_own_gradient(all_runs, n_boot=n_boot)  # README's per-layer table
        write_csv_atomic(run_dir / paired.OWN_GRADIENT, own)
        text += _show("per extra layer over the same variant's gradient, paired in the rounds (95% percentile "
                      "bootstrap over repeats and rounds)", own.set_index(["method", "variant"]).drop(columns="level"))
        text += _show("per extra layer and vector, every variant; ratio: over the best gradient (95% CIs)",
                      costs.set_index(["method", "variant"]).sort_index().drop(columns="best_gradient_variant"))
        text += _show("the best variant of each method", best.set_index("method"))
        name = meta.get("config", {}).get("name", run_dir.name)
        save_figure(per_layer_figures.figure_per_layer(costs, title(meta, f"{name}: per-layer cost by variant",
                                                                 variant="all")), run_dir, "per_layer")
        if peer_tables.has_peers(all_runs):
            width = meta.get("config", {}).get("width")
            peers = peer_tables.write_peer_tables(run_dir, all_runs, width, n_boot)
            depths = peers["peers_by_depth"]
            for stem, which in (("peers_per_layer", "each one's best variant"),
                                ("peers_per_layer_plain", "JAX's scan and PyTorch's eager autograd")):
                if len(peers[stem]):  # none where PyTorch was timed at one depth only
                    text += _show(f"JAX against PyTorch, {which}, over the depths both timed: seconds per "
                                  "extra layer (95% CIs), ratio = PyTorch / JAX", peers[stem].set_index("method"))
            text += _show("JAX against PyTorch: lowest median time at each depth", depths.set_index(["method", "depth"]))
        if (costs["vectors"] > 1).any():
            save_figure(per_layer_figures.figure_vectors(costs, title(meta, f"{name}: blocks of vectors", variant="all")),
                        run_dir, "vectors")
    return text
