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
from expkit.config import config_to_dict
from expkit.provenance import environment_info
from expkit.results import CsvLog, now_iso, prepare_out_dir, write_json_atomic


def main(config, out: Path, old_meta: dict | None) -> int:
    """Runs (or resumes) a validated horizon or training config into `out`; exit status."""
    from lr_meta import horizon, training

    logs = {"horizon": {"points": horizon.COLUMNS},
            "training": {"results": training.RESULT_COLUMNS, "norms": training.NORM_COLUMNS}}[config.study]
    prepare_out_dir(out)
    # Opening a log refuses one with other columns (ConfigError) before anything is written.
    opened = {name: CsvLog(out / f"{name}.csv", columns) for name, columns in logs.items()}
    meta = old_meta or {"config": config_to_dict(config), "started": now_iso()}
    if old_meta is not None:
        meta.setdefault("resumed", []).append(now_iso())
    meta.update(status="running", environment=environment_info())
    meta.pop("finished", None)
    write_json_atomic(out / "meta.json", meta)
    with jax.enable_x64(True):
        run = run_horizon if config.study == "horizon" else run_training
        summary, message = run(config, out, opened)
    meta.update(status=summary["status"], finished=now_iso())
    write_json_atomic(out / "meta.json", meta)
    if summary["status"] != "ok":
        print(f"error: {message}", file=sys.stderr)
        return EXIT_FAILURES
    print(message)
    return 0


def _todo(log: CsvLog, keys: list[str], wanted: list[tuple]) -> list[tuple]:
    frame = log.read()
    done = set(frame[keys].itertuples(index=False, name=None)) if len(frame) else set()
    return [p for p in wanted if p not in done]


def run_horizon(config, out: Path, logs: dict) -> tuple[dict, str]:
    """Measures every (method, T, K) not yet in points.csv, then summarises and plots."""
    from lr_meta import horizon, plots_long

    log = logs["points"]
    todo = _todo(log, ["method", "horizon", "knots"], horizon.points(config))
    for point in tqdm(todo, desc="hypergradients", unit="point", file=sys.stderr):
        log.append([horizon.measure(config, *point)])
    summary = horizon.summarise(config, log.read())
    goals = summary["goals"]
    summary["status"] = "ok" if goals["agree"] else "failed"
    write_json_atomic(out / "summary.json", summary)
    plots_long.plot_horizon(out)
    if not goals["agree"]:
        return summary, (f"hypergradients disagree: max relative difference {goals['max_rel_diff_between_methods']:.2g}"
                         f" between methods, {goals['max_rel_err_closed_form']:.2g} to the closed form "
                         f"(rtol {config.rtol:g}); results in {out}")
    return summary, (f"three hypergradients agree to {goals['max_rel_diff_between_methods']:.1e} "
                     f"(closed form {goals['max_rel_err_closed_form']:.1e}); results in {out}")


def run_training(config, out: Path, logs: dict) -> tuple[dict, str]:
    """Compares schedules at every horizon and measures hypergradient norms; summary and plots."""
    from lr_meta import plots_long, training

    results, norms = logs["results"], logs["norms"]
    train = training.make_draws(config, 0, config.train_draws)
    test = training.make_draws(config, 1, config.test_draws)
    frame = results.read()
    # One horizon is one append; a kill inside that write can leave part of it: re-run it.
    complete = {t for t, n in frame.groupby("horizon").size().items() if n == training.schedule_count(config, t)}
    if len(frame) and not frame["horizon"].isin(complete).all():
        results.rewrite(frame[frame["horizon"].isin(complete)])
    done = complete
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
    plots_long.plot_training(out)
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
