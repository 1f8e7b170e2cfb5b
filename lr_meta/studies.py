"""Runners of the long-horizon studies ("horizon", "training") behind scripts/run_lr_meta.py.

Same conventions as the task's runner (lr_meta/run.py, which dispatches here on the
config's `study`): everything is validated and the run directory checked before
anything is written; each measured point is one whole-row append to a CSV log (a kill
loses at most the point in flight, re-running resumes); summary.json and the figures
are derived from the logs at the end of every run; meta.json records the config,
environment, status and times. A run whose goals fail (hypergradients disagree beyond
`rtol`) or whose tuned schedules are not finite exits with EXIT_FAILURES after writing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jax
import numpy as np
import pandas as pd
from tqdm import tqdm

from expkit.cli import EXIT_FAILURES
from expkit.lifecycle import RunRecord, complete_groups, todo
from expkit.provenance import environment_info
from expkit.results import CsvLog, write_json_atomic


def main(config, record: RunRecord, redraw: bool = False) -> int:
    """Runs (or resumes) a validated horizon or training config into `record`'s directory; exit status."""
    from lr_meta import horizon, training

    out = record.out_dir
    logs = {"horizon": {"points": horizon.COLUMNS},
            "training": {"results": training.RESULT_COLUMNS, "norms": training.NORM_COLUMNS}}[config.study]
    # Opening a log refuses one with other columns (ConfigError) before anything is written.
    opened = {name: CsvLog(out / f"{name}.csv", columns) for name, columns in logs.items()}
    total, left = _units(config, opened)
    if record.nothing_to_do(left, redraw):
        return 0
    # x64 is on before the environment is recorded, so meta.json says what ran.
    with jax.enable_x64(True):
        record.start(environment_info(), total=total, done=total - left)
        with record.guard():
            run = run_horizon if config.study == "horizon" else run_training
            summary, message = run(config, out, opened)
            record.finish(summary["status"])
    if summary["status"] != "ok":
        print(f"error: {message}", file=sys.stderr)
        return EXIT_FAILURES
    print(message)
    return 0


def _todo(log: CsvLog, keys: list[str], wanted: list[tuple]) -> list[tuple]:
    return todo(wanted, complete_groups(log, keys, lambda group: True))


def _units(config, logs: dict) -> tuple[int, int]:
    """(units in the whole study, units left): points for horizon, horizons and norm points for training."""
    from lr_meta import horizon

    if config.study == "horizon":
        wanted = horizon.points(config)
        return len(wanted), len(_todo(logs["points"], ["method", "horizon", "knots"], wanted))
    norms = [(t, m) for t in config.norm_horizons for m in config.norm_multiples]
    left = [t for t in config.horizons if t not in _complete_horizons(config, logs["results"])]
    return len(config.horizons) + len(norms), len(left) + len(_todo(logs["norms"], ["horizon", "multiple"], norms))


def _complete_horizons(config, results: CsvLog) -> set:
    """Horizons whose every schedule is in results.csv; rows of the others are dropped (one T is one append)."""
    from lr_meta import training

    return {key[0] for key in complete_groups(
        results, ["horizon"], lambda g: len(g) == training.schedule_count(config, g["horizon"].iloc[0]))}


def run_horizon(config, out: Path, logs: dict) -> tuple[dict, str]:
    """Measures every (method, T, K) not yet in points.csv, then summarises and plots."""
    from lr_meta import horizon, plots_studies

    log = logs["points"]
    todo = _todo(log, ["method", "horizon", "knots"], horizon.points(config))
    for point in tqdm(todo, desc="hypergradients", unit="point", file=sys.stderr):
        log.append([horizon.measure(config, *point)])
    summary = horizon.summarise(config, log.read())
    goals = summary["goals"]
    summary["status"] = "ok" if goals["agree"] else "failed"
    write_json_atomic(out / "summary.json", summary)
    plots_studies.plot_horizon(out)
    if not goals["agree"]:
        return summary, (f"hypergradients disagree: max relative difference {goals['max_rel_diff_between_methods']:.2g}"
                         f" between methods, {goals['max_rel_err_closed_form']:.2g} to the closed form "
                         f"(rtol {config.rtol:g}); results in {out}")
    return summary, (f"three hypergradients agree to {goals['max_rel_diff_between_methods']:.1e} "
                     f"(closed form {goals['max_rel_err_closed_form']:.1e}); results in {out}")


def run_training(config, out: Path, logs: dict) -> tuple[dict, str]:
    """Compares schedules at every horizon and measures hypergradient norms; summary and plots."""
    from lr_meta import plots_studies, training

    results, norms = logs["results"], logs["norms"]
    train = training.make_draws(config, 0, config.train_draws)
    test = training.make_draws(config, 1, config.test_draws)
    done = _complete_horizons(config, results)
    for horizon in tqdm([t for t in config.horizons if t not in done], desc="schedules", unit="T", file=sys.stderr):
        results.append(list(training.compare(config, train, test, horizon)))  # one T = one append
    lip = train.curvature[1]
    wanted = [(t, m) for t in config.norm_horizons for m in config.norm_multiples]
    for horizon, multiple in tqdm(_todo(norms, ["horizon", "multiple"], wanted), desc="norms", unit="point",
                                  file=sys.stderr):
        norms.append([{"horizon": horizon, "multiple": multiple, "alpha": multiple / lip,
                       **training.hypergrad_norm(train, horizon, multiple / lip)}])
    frame = results.read()
    summary = training_summary(config, train, test, frame)
    write_json_atomic(out / "summary.json", summary)
    plots_studies.plot_training(out)
    if summary["status"] != "ok":
        return summary, f"a tuned schedule is not finite on the held-out draws; see {out / 'results.csv'}"
    return summary, f"schedules compared at T = {list(config.horizons)}; results in {out}"


def training_summary(config, train, test, frame: pd.DataFrame) -> dict:
    """Per horizon: every schedule's held-out numbers next to the best constant's."""
    table, edges = {}, {}
    for horizon, group in frame.groupby("horizon"):
        constant = group[group["schedule"] == "constant (grid)"].iloc[0]
        # The best constant in units of 1/λ_max(H(0)); at an end of the grid it is not the best.
        multiple = float(constant["alphas"].split()[0]) * train.curvature[1]
        edges[str(int(horizon))] = {"constant_step_multiple": multiple, "at_grid_edge": bool(
            np.isclose(multiple, config.grid_low, rtol=1e-9) or np.isclose(multiple, config.grid_high, rtol=1e-9))}
        table[str(int(horizon))] = {
            row["schedule"]: {
                "test_mean_log_suboptimality": row["test_objective"],
                "test_mean_suboptimality": row["test_suboptimality"],
                "test_max_suboptimality": row["test_max_suboptimality"],
                "test_win_fraction_vs_constant": row["test_win_fraction"],
                "beats_constant_in_mean_log": bool(row["test_objective"] < constant["test_objective"]),
            } for _, row in group.iterrows()}
    tuned = frame[frame["schedule"].str.startswith("tuned")]
    return {
        "status": "ok" if bool(tuned["finite"].all()) else "failed",
        "train_curvature_at_zero": list(train.curvature), "test_curvature_at_zero": list(test.curvature),
        "train_optimum_mean": float(np.mean(train.optimum)), "test_optimum_mean": float(np.mean(test.optimum)),
        "best_constant": edges,
        "by_horizon": table,
    }
