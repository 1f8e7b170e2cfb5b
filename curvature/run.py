"""The runner behind scripts/run_curvature.py (console command `curvature`).

    curvature --config configs/curvature.toml [--out DIR] [--set key=value]...

A config with `study = "trained"` runs the trained-network study instead
(curvature/trained_run.py); the rest of this module is the task's study.

The task's study goes through the one driver (expkit.study): the config is validated, an
existing run directory checked for the same config and the devices checked before anything
is created; the driver owns the rest (resuming, the lock, x64 around the run only, meta.json).
Its units, each written as soon as it finishes:

1. `exact`: exact.csv / exact.json, the dense Hessian's spectrum and diagonal at study_depth;
2. `trace/...`, `diag/...`: trace.csv, diag.csv, one group of repetitions per (estimator, budget);
3. `eigen`, `slq`: eigen.csv (Lanczos and power iteration, every step), slq.csv (SLQ nodes, weights);
4. `cost/<depth>/<route>`: cost.csv, estimates.csv.

A re-run resumes: finished units are kept, a unit cut short by a kill is dropped and redone,
failed cost routes are measured again (`retry`). The summaries and figures are derived from
the files at the end of every run. A run where a route failed, or gave values its check calls
wrong (curvature.batching), exits 3.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from expkit.cli import config_parser, dry_run, run_cli
from expkit.config import ConfigError
from expkit.lifecycle import RunRecord
from expkit.results import write_csv_atomic, write_json_atomic
from expkit.study import Outcome, Unit, run_and_report
from curvature.config import CurvatureConfig, load


def main(argv: list[str] | None = None) -> int:
    """Parses the command line and runs or resumes; returns the exit status."""
    parser = config_parser(
        "Trace, diagonal, extreme eigenvalues and spectral density of the task's MLP from HVPs, "
        "each checked against the dense Hessian, and their cost against depth; with study = \"trained\" "
        "in the config, the same of an MLP trained on scikit-learn's digits, Hessian and GGN, at checkpoints.",
        ["curvature --config configs/curvature.toml",
         "curvature --config configs/curvature_smoke.toml --set seed=1 --out runs/try",
         "curvature --config configs/curvature_trained.toml"],
    )
    parser.add_argument("--no-plots", action="store_true", help="skip drawing figures at the end")
    args = parser.parse_args(argv)
    config = load(args.config, args.overrides)
    out = Path(args.out) if args.out else Path("runs") / config.name
    RunRecord.open(out, config)  # another config's directory: refused before --dry-run says yes
    if args.dry_run:
        return dry_run(config, out)
    import jax

    if jax.device_count() < config.devices:
        raise ConfigError(f"config key 'devices' is {config.devices} but JAX sees {jax.device_count()} device(s); "
                          f"on CPU set XLA_FLAGS=--xla_force_host_platform_device_count={config.devices}")
    if config.study == "trained":  # a trained network on real data: curvature/trained_run.py
        from curvature.trained_run import TrainedStudy

        study = TrainedStudy(config, plots=not args.no_plots)
    else:
        study = CurvatureStudy(config, plots=not args.no_plots)
    return run_and_report(study, config, out, redraw=args.redraw)


def cli(argv: list[str] | None = None) -> None:
    """`main` with one-line errors and exit statuses (scripts/run_curvature.py)."""
    run_cli(lambda: main(argv))


class CurvatureStudy:
    """The task's study (expkit.study protocol). Units: `exact`, `trace/<estimator>/<hvps>`,
    `diag/<estimator>/<hvps>`, `eigen`, `slq`, then `cost/<depth>/<route>`."""

    name = "curvature"
    x64 = True

    def __init__(self, config: CurvatureConfig, plots: bool = True):
        from curvature import cost, study

        self.config, self.plots = config, plots
        self.logs = {"trace.csv": study.TRACE_COLUMNS, "diag.csv": study.DIAG_COLUMNS, "cost.csv": cost.COST_COLUMNS,
                     "estimates.csv": cost.ESTIMATE_COLUMNS}
        self._problem, self._depth_problem, self._dense_state = None, None, {}

    def units(self) -> list[Unit]:
        from curvature import cost

        c = self.config
        # Costs, for the progress bar: a repetition group ~ its HVPs; a cost route ~ its depth (dense: squared).
        return ([Unit("exact", cost=c.study_params / 50, label=f"dense Hessian + eigvalsh, P = {c.study_params}")]
                + [Unit(f"trace/{n}/{m}", cost=m * c.trace_reps / 20, label=f"trace {n}, {m} HVPs")
                   for n in c.trace_estimators for m in c.trace_budgets]
                + [Unit(f"diag/{n}/{m}", cost=m * c.diag_reps / 20, label=f"diagonal {n}, {m} HVPs")
                   for n in c.diag_estimators for m in c.diag_budgets]
                + [Unit("eigen", cost=10, label="Lanczos and power iteration"),
                   Unit("slq", cost=10, label="stochastic Lanczos quadrature")]
                + [Unit(f"cost/{d}/{r}", cost=1 + (d / 50) ** (2 if r.startswith("dense_") else 1),
                        label=f"cost: {r} at {d} layers") for d in c.cost_depths for r in cost.route_names(c)])

    def retry(self, out_dir: Path) -> set[str]:
        """Cost routes that failed or gave wrong values are measured again on a re-run."""
        path = out_dir / "cost.csv"
        if not path.is_file() or not path.stat().st_size:
            return set()
        rows = pd.read_csv(path)
        return set(rows.loc[rows["status"].isin(["failed", "wrong"]), "unit"]) if "unit" in rows else set()

    # --- a run written before the driver ---
    def unit_of(self, log: str, row) -> str:
        if log in ("trace.csv", "diag.csv"):
            return f"{log[:-4]}/{row['estimator']}/{int(row['hvps'])}"
        return f"cost/{int(row['depth'])}/{row['route']}"

    def legacy_complete(self, key: str, rows: dict, out_dir: Path) -> bool:
        c, kind = self.config, key.split("/")[0]
        if kind in ("trace", "diag"):
            return len(rows[f"{kind}.csv"]) == (c.trace_reps if kind == "trace" else c.diag_reps)
        if kind == "cost":
            g = rows["cost.csv"]
            return len(g) > 0 and ((g["status"] == "skipped").all() or (
                (g["status"] == "ok").all() and len(g) == _runs(c, key.split("/")[2])))
        return all((out_dir / name).is_file() for name in {"exact": ["exact.json", "exact.csv"], "eigen": ["eigen.csv"],
                                                           "slq": ["slq.csv"]}[kind])

    # --- measuring ---
    def problem(self):
        from curvature.problem import build_problem

        if self._problem is None:
            self._problem = build_problem(self.config, self.config.study_depth)
        return self._problem

    def measure(self, unit: Unit, out_dir: Path) -> dict:
        from curvature import cost, study
        from curvature.problem import build_problem

        c, kind = self.config, unit.key.split("/")[0]
        if kind == "exact":
            arrays, facts = study.exact_reference(self.problem(), c)
            write_json_atomic(out_dir / "exact.json", facts)
            frame = pd.DataFrame({"index": range(len(arrays["eigenvalue"])), **arrays})
            return {"exact.csv": frame[study.EXACT_COLUMNS]}
        if kind == "cost":
            _, depth, route = unit.key.split("/")
            self._problem = None  # frees the study's model
            if self._depth_problem is None or self._depth_problem.depth != int(depth):
                self._depth_problem, self._dense_state = build_problem(c, int(depth)), {}
            rows, estimates = cost.measure_route(self._depth_problem, c, route, self._dense_state)
            return {"cost.csv": rows, "estimates.csv": estimates}
        exact = json.loads((out_dir / "exact.json").read_text())
        ref = pd.read_csv(out_dir / "exact.csv")
        if kind == "trace":
            _, name, m = unit.key.split("/")
            return {"trace.csv": study.trace_group(self.problem(), c, name, int(m), float(exact["trace"]))}
        if kind == "diag":
            _, name, m = unit.key.split("/")
            return {"diag.csv": study.diag_group(self.problem(), c, name, int(m), ref["hessian_diagonal"].to_numpy())}
        if kind == "eigen":
            return {"eigen.csv": pd.DataFrame(study.eigen_rows(self.problem(), c, ref["eigenvalue"].to_numpy()),
                                              columns=study.EIGEN_COLUMNS)}
        return {"slq.csv": pd.DataFrame(study.slq_rows(self.problem(), c), columns=study.SLQ_COLUMNS)}

    # --- from the files alone ---
    def derive(self, out_dir: Path) -> Outcome:
        from curvature.plots import plot_all
        from curvature.summary import summarize

        summary, tables = summarize(out_dir, self.config)
        for name, table in tables.items():
            write_csv_atomic(out_dir / name, table)
        failed = pd.read_csv(out_dir / "cost.csv").query("status in ('failed', 'wrong')")
        summary["status"] = "failed" if len(failed) else "ok"
        write_json_atomic(out_dir / "summary.json", summary)
        if self.plots:
            plot_all(out_dir)
        report = report_lines(summary, out_dir)
        if len(failed):
            print(report)
            return Outcome("failed", f"{len(failed)} route(s) failed or gave wrong values (see the note column of "
                                     f"{out_dir / 'cost.csv'}); re-run the same command to retry them")
        return Outcome("ok", report)


def _runs(config: CurvatureConfig, route: str) -> int:
    return config.dense_runs if route.startswith("dense_") else config.cost_runs


def report_lines(summary: dict, out: Path) -> str:
    """A few lines for the terminal: each goal's number and whether it was met."""
    from curvature.summary import goal_lines

    return goal_lines(summary.get("goals", {}), out, "configs/curvature.toml")
