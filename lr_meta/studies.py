"""The long-horizon studies ("horizon", "training") as Studies of the one driver (expkit.study).

scripts/run_lr_meta.py (lr_meta/run.py) hands a config whose `study` is "horizon" or
"training" to `run_study` with one of these ("task": lr_meta.task_study); the driver owns the run directory, meta.json,
resuming, the progress bar, x64 and the exit status. A unit of "horizon" is one point
(method, T, K): one row of points.csv. A unit of "training" is one horizon T (every
schedule's row of results.csv, one append) or one norm point (T, multiple of 1/λ_max: one row
of norms.csv). summary.json and the figures are derived from the logs alone. A run whose
goals fail (hypergradients disagree beyond `rtol`) or whose tuned schedules are not finite
writes everything, then exits with EXIT_FAILURES. Directories written before the driver are
keyed by `unit_of` (expkit.study).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from expkit.results import write_json_atomic
from expkit.study import Outcome, Unit, read_log


class HorizonStudy:
    """Time and memory of the three hypergradients against T (lr_meta.horizon): units `method/T/K`."""

    name = "hypergradients"
    x64 = True

    def __init__(self, config):
        from lr_meta import horizon

        self.config = config
        self.logs = {"points.csv": horizon.COLUMNS}

    def units(self) -> list[Unit]:
        from lr_meta import horizon

        # Cost: a compile, then `repeats` runs of T steps.
        return [Unit(f"{m}/{t}/{k}", cost=1 + t / 1000, label=f"{m}, T={t}, K={k}") for m, t, k in
                horizon.points(self.config)]

    def unit_of(self, log: str, row) -> str:
        return f"{row['method']}/{int(row['horizon'])}/{int(row['knots'])}"

    def measure(self, unit: Unit, out_dir: Path) -> dict:
        from lr_meta import horizon

        method, t, k = unit.key.split("/")
        return {"points.csv": [horizon.measure(self.config, method, int(t), int(k))]}

    def derive(self, out_dir: Path) -> Outcome:
        from lr_meta import horizon, plots_studies

        summary = horizon.summarise(self.config, read_log(out_dir, "points.csv"))
        goals = summary["goals"]
        summary["status"] = "ok" if goals["agree"] else "failed"
        write_json_atomic(out_dir / "summary.json", summary)
        plots_studies.plot_horizon(out_dir)
        if not goals["agree"]:
            return Outcome("failed", f"hypergradients disagree: max relative difference "
                                     f"{goals['max_rel_diff_between_methods']:.2g} between methods, "
                                     f"{goals['max_rel_err_closed_form']:.2g} to the closed form (rtol "
                                     f"{self.config.rtol:g}); results in {out_dir}")
        return Outcome("ok", f"three hypergradients agree to {goals['max_rel_diff_between_methods']:.1e} (closed "
                             f"form {goals['max_rel_err_closed_form']:.1e}); results in {out_dir}")


class TrainingStudy:
    """Tuned schedules for logistic regression against baselines, and hypergradient norms (lr_meta.training):
    units `T=<T>` (every schedule at horizon T) and `norm/<T>/<multiple>`."""

    name = "schedules"
    x64 = True

    def __init__(self, config):
        from lr_meta import training

        self.config = config
        self.logs = {"results.csv": training.RESULT_COLUMNS, "norms.csv": training.NORM_COLUMNS}
        self._draws = None

    def draws(self):
        """(train, test) draws of the problem, made once per run."""
        from lr_meta import training

        if self._draws is None:
            self._draws = (training.make_draws(self.config, 0, self.config.train_draws),
                           training.make_draws(self.config, 1, self.config.test_draws))
        return self._draws

    def units(self) -> list[Unit]:
        c = self.config
        # Cost: tuning runs meta_steps unrolls of T steps per tuned schedule; a norm point, one unroll.
        return ([Unit(f"T={t}", cost=1 + t / 10, label=f"schedules at T={t}") for t in c.horizons]
                + [Unit(f"norm/{t}/{float(m)!r}", cost=1 + t / 1000, label=f"norm at T={t}, {m:g}/λ_max")
                   for t in c.norm_horizons for m in c.norm_multiples])

    def unit_of(self, log: str, row) -> str:
        if log == "results.csv":
            return f"T={int(row['horizon'])}"
        return f"norm/{int(row['horizon'])}/{float(row['multiple'])!r}"

    def legacy_complete(self, key: str, rows: dict, out_dir: Path) -> bool:
        """A horizon of an older run is done when every schedule's row is there (one append); a norm, its row."""
        from lr_meta import training

        if not key.startswith("T="):
            return len(rows.get("norms.csv", ())) == 1
        return len(rows.get("results.csv", ())) == training.schedule_count(self.config, int(key[2:]))

    def measure(self, unit: Unit, out_dir: Path) -> dict:
        from lr_meta import training

        train, test = self.draws()
        if unit.key.startswith("T="):
            return {"results.csv": list(training.compare(self.config, train, test, int(unit.key[2:])))}
        _, t, multiple = unit.key.split("/")
        alpha = float(multiple) / train.curvature[1]
        return {"norms.csv": [{"horizon": int(t), "multiple": float(multiple), "alpha": alpha,
                               **training.hypergrad_norm(train, int(t), alpha)}]}

    def derive(self, out_dir: Path) -> Outcome:
        from lr_meta import plots_studies

        train, test = self.draws()
        summary = training_summary(self.config, train, test, read_log(out_dir, "results.csv"))
        write_json_atomic(out_dir / "summary.json", summary)
        plots_studies.plot_training(out_dir)
        if summary["status"] != "ok":
            return Outcome("failed", f"a tuned schedule is not finite on the held-out draws; see "
                                     f"{out_dir / 'results.csv'}")
        return Outcome("ok", f"schedules compared at T = {list(self.config.horizons)}; results in {out_dir}")


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
