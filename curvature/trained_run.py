"""The trained-network study (`study = "trained"`) as a Study of the one driver, behind scripts/run_curvature.py.

    curvature --config configs/curvature_trained.toml --out runs/curvature_trained

curvature/run.py loads and validates the config, checks the run directory and the
devices, and hands the study to expkit.study.run_study (x64, resuming, the lock, meta.json);
nothing is written before that. Then, each unit's files written as soon as it finishes:

1. training.csv (loss, accuracy and extreme eigenvalues along training) and
   checkpoints.csv (the parameters at each checkpoint, exact decimal floats);
2. per checkpoint and matrix (Hessian, GGN): the dense answer (spectrum_<c>_<m>.csv,
   a row of exact.csv), Lanczos (eigen.csv), each trace estimator (trace.csv), each
   diagonal estimator (diag.csv), SLQ plain and deflated (slq_<c>_<m>.csv, a row of
   slq.csv).

A unit's files are complete or absent: a per-unit file is written atomically before its
row is appended, and a unit a kill cut short is dropped and redone. summary.json,
summary.csv and the figures are derived from the files at the end of every run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from expkit.results import write_csv_atomic, write_json_atomic
from expkit.study import Outcome, Unit

EXACT_FACTS = ["params", "trace", "trace_from_eigenvalues", "lambda_max", "lambda_min", "frobenius",
               "hutchinson_variance", "negative_fraction", "positive_fraction", "near_zero_fraction",
               "max_asymmetry", "dense_vs_single_product", "build_s", "eigvalsh_s"]
SLQ_FACTS = ["slq_s", "deflated", "deflated_max_residual", "deflated_slq_s"]


def spectrum_file(out: Path, checkpoint: str, matrix: str) -> Path:
    return out / f"spectrum_{checkpoint}_{matrix}.csv"


def slq_file(out: Path, checkpoint: str, matrix: str) -> Path:
    return out / f"slq_{checkpoint}_{matrix}.csv"


class TrainedStudy:
    """The trained-network study (expkit.study protocol). Units: `train`, then per checkpoint c and
    matrix m: `c/m/exact`, `c/m/lanczos`, `c/m/trace/<estimator>`, `c/m/diag/<estimator>`, `c/m/slq`."""

    name = "curvature (trained)"
    x64 = True

    def __init__(self, config, plots: bool = True):
        from curvature import trained_study as ts

        self.config, self.plots = config, plots
        self.logs = {"exact.csv": ["checkpoint", "matrix", *EXACT_FACTS], "eigen.csv": ts.EIGEN_COLUMNS,
                     "trace.csv": ts.TRACE_COLUMNS, "diag.csv": ts.DIAG_COLUMNS,
                     "slq.csv": ["checkpoint", "matrix", *SLQ_FACTS]}
        self._split, self._setup = None, None

    def units(self) -> list[Unit]:
        c = self.config
        units = [Unit("train", cost=30, label=f"training {c.steps} steps")]
        for name in c.checkpoint_names:
            for m in c.matrices:
                units += [Unit(f"{name}/{m}/exact", cost=20, label=f"{name}: {m} exact"),
                          Unit(f"{name}/{m}/lanczos", cost=5, label=f"{name}: {m} lanczos")]
                units += [Unit(f"{name}/{m}/trace/{e}", cost=5, label=f"{name}: {m} trace {e}")
                          for e in c.trace_estimators]
                units += [Unit(f"{name}/{m}/diag/{e}", cost=5, label=f"{name}: {m} diag {e}")
                          for e in c.diag_estimators]
                units.append(Unit(f"{name}/{m}/slq", cost=10, label=f"{name}: {m} slq"))
        return units

    # --- a run written before the driver ---
    def unit_of(self, log: str, row) -> str:
        stage = {"exact.csv": "exact", "eigen.csv": "lanczos", "slq.csv": "slq"}.get(log)
        if stage:
            return f"{row['checkpoint']}/{row['matrix']}/{stage}"
        return f"{row['checkpoint']}/{row['matrix']}/{log[:-4]}/{row['estimator']}"

    def legacy_complete(self, key: str, rows: dict, out_dir: Path) -> bool:
        c = self.config
        if key == "train":
            return (out_dir / "training.csv").is_file() and (out_dir / "checkpoints.csv").is_file()
        name, matrix, stage = key.split("/")[:3]
        if stage == "exact":
            return len(rows["exact.csv"]) == 1 and spectrum_file(out_dir, name, matrix).is_file()
        if stage == "slq":
            return len(rows["slq.csv"]) == 1 and slq_file(out_dir, name, matrix).is_file()
        want = {"lanczos": ("eigen.csv", 2 * c.top_k), "trace": ("trace.csv", c.trace_reps),
                "diag": ("diag.csv", c.diag_reps)}[stage]
        return len(rows[want[0]]) == want[1]

    # --- measuring ---
    def split(self):
        from curvature.digits import load_split

        if self._split is None:
            self._split = load_split(self.config.train_images, self.config.test_images, self.config.seed)
        return self._split

    def setup(self):
        from curvature import trained_study as ts

        if self._setup is None:
            self._setup = ts.Setup(self.config, self.split())
        return self._setup

    def measure(self, unit: Unit, out_dir: Path) -> dict:
        from curvature import trained_study as ts
        from curvature.training import LOG_COLUMNS, train

        c = self.config
        if unit.key == "train":
            rows, saved = train(c, self.split())
            return {"checkpoints.csv": pd.DataFrame({"index": range(c.params), **saved}),
                    "training.csv": pd.DataFrame(rows, columns=LOG_COLUMNS)}
        name, matrix, stage, *estimator = unit.key.split("/")
        ci, setup = c.checkpoint_names.index(name), self.setup()
        params = np.asarray(pd.read_csv(out_dir / "checkpoints.csv")[name], np.float64)
        if stage == "exact":  # the spectrum file first: a row of exact.csv names a complete one
            arrays, facts = ts.exact(setup, params, ci, matrix)
            return {spectrum_file(out_dir, name, matrix).name: pd.DataFrame(
                        {"index": range(len(arrays["eigenvalue"])), **arrays}),
                    "exact.csv": [{"checkpoint": name, "matrix": matrix, **{k: facts[k] for k in EXACT_FACTS}}]}
        if stage == "slq":
            rows, facts = ts.slq_measures(setup, params, ci, matrix)
            return {slq_file(out_dir, name, matrix).name: pd.DataFrame(rows, columns=ts.SLQ_COLUMNS),
                    "slq.csv": [{"checkpoint": name, "matrix": matrix, **facts}]}
        spectrum = pd.read_csv(spectrum_file(out_dir, name, matrix))
        if stage == "lanczos":
            return {"eigen.csv": ts.lanczos_rows(setup, params, ci, name, matrix, spectrum["eigenvalue"].to_numpy())}
        if stage == "trace":
            return {"trace.csv": ts.trace_rows(setup, params, ci, name, matrix, estimator[0],
                                               float(spectrum["diagonal"].sum()))}
        return {"diag.csv": ts.diag_rows(setup, params, ci, name, matrix, estimator[0],
                                         spectrum["diagonal"].to_numpy())}

    # --- from the files alone ---
    def derive(self, out_dir: Path) -> Outcome:
        """Summaries and figures. The issue's goals are reported (summary.json "goals", the terminal), not
        enforced: a run that misses one still wrote every number that says by how much."""
        from curvature.trained_summary import report_lines, summarize

        summary, table = summarize(out_dir, self.config)
        write_csv_atomic(out_dir / "summary.csv", table)
        write_json_atomic(out_dir / "summary.json", summary)
        if self.plots:
            from curvature.trained_plots import plot_all

            plot_all(out_dir)
        report = report_lines(summary, out_dir)
        if summary["status"] != "ok":
            print(report)
            return Outcome(summary["status"], f"an estimate is not finite (see {out_dir / 'summary.csv'})")
        return Outcome("ok", report)
