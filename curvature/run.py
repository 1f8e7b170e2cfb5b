"""The runner behind scripts/run_curvature.py (console command `curvature`).

    curvature --config configs/curvature.toml [--out DIR] [--set key=value]...

A config with `study = "trained"` runs the trained-network study instead
(curvature/trained_run.py); the rest of this module is the task's study.

Order matters for "nothing written on bad input": the config is validated, an existing
run directory is checked for the same config, the devices are checked, and only then
is anything created. Then, each unit's rows written as soon as it finishes:

1. exact.csv / exact.json: the dense Hessian's spectrum and diagonal at study_depth;
2. trace.csv, diag.csv: one group of repetitions per (estimator, budget);
3. eigen.csv (Lanczos and power iteration, every step), slq.csv (SLQ nodes, weights);
4. cost.csv, estimates.csv: one group per (depth, route).

A re-run resumes: finished units are kept, a group cut short by a kill is dropped and
redone, failed cost routes are measured again. The summaries and figures are derived
from the files at the end of every run. A run where a route failed, or gave values its
check calls wrong (curvature.batching), exits 3.

x64 is switched on with `jax.enable_x64(True)` around the run only, never globally.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from expkit.cli import EXIT_FAILURES, config_parser, dry_run, run_cli
from expkit.config import ConfigError
from expkit.lifecycle import RunRecord, complete_groups, todo
from expkit.results import CsvLog, write_csv_atomic, write_json_atomic
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
    record = RunRecord.open(out, config)
    if args.dry_run:
        return dry_run(config, out)
    import jax

    if jax.device_count() < config.devices:
        raise ConfigError(f"config key 'devices' is {config.devices} but JAX sees {jax.device_count()} device(s); "
                          f"on CPU set XLA_FLAGS=--xla_force_host_platform_device_count={config.devices}")
    with jax.enable_x64(True):
        if config.study == "trained":  # a trained network on real data: curvature/trained_run.py
            from curvature import trained_run

            return trained_run.run(config, record, plots=not args.no_plots, redraw=args.redraw)
        return run(config, record, plots=not args.no_plots, redraw=args.redraw)


def cli(argv: list[str] | None = None) -> None:
    """`main` with one-line errors and exit statuses (scripts/run_curvature.py)."""
    run_cli(lambda: main(argv))


@dataclasses.dataclass
class _Plan:
    """What a run still has to do: each log, and the units not yet in it."""

    logs: dict[str, CsvLog]
    trace: list[tuple]
    diag: list[tuple]
    cost: list[tuple]
    exact: bool
    eigen: bool
    slq: bool
    total: int

    @property
    def units(self) -> int:
        return self.exact + len(self.trace) + len(self.diag) + self.eigen + self.slq + len(self.cost)


def plan(config: CurvatureConfig, out: Path) -> _Plan:
    """Opens the logs, drops groups a kill cut short, and lists the units left."""
    from curvature import cost, study

    logs = {"trace": CsvLog(out / "trace.csv", study.TRACE_COLUMNS),
            "diag": CsvLog(out / "diag.csv", study.DIAG_COLUMNS),
            "cost": CsvLog(out / "cost.csv", cost.COST_COLUMNS),
            "estimates": CsvLog(out / "estimates.csv", cost.ESTIMATE_COLUMNS)}
    trace_done = complete_groups(logs["trace"], ["estimator", "hvps"], lambda g: len(g) == config.trace_reps)
    diag_done = complete_groups(logs["diag"], ["estimator", "hvps"], lambda g: len(g) == config.diag_reps)
    cost_done = complete_groups(logs["cost"], ["depth", "route"], lambda g: (g["status"] == "skipped").all()
                                or ((g["status"] == "ok").all() and len(g) == _runs(config, g["route"].iloc[0])))
    # Estimates belong to finished cost groups only: drop the rest (they are redone).
    complete_groups(logs["estimates"], ["depth", "route"],
                    lambda g: (g["depth"].iloc[0], g["route"].iloc[0]) in cost_done)
    trace = [(n, m) for n in config.trace_estimators for m in config.trace_budgets]
    diag = [(n, m) for n in config.diag_estimators for m in config.diag_budgets]
    costs = [(d, r) for d in config.cost_depths for r in cost.route_names(config)]
    return _Plan(logs, todo(trace, trace_done), todo(diag, diag_done), todo(costs, cost_done),
                 exact=not ((out / "exact.json").exists() and (out / "exact.csv").exists()),
                 eigen=not (out / "eigen.csv").exists(), slq=not (out / "slq.csv").exists(),
                 total=3 + len(trace) + len(diag) + len(costs))


def run(config: CurvatureConfig, record: RunRecord, plots: bool = True, redraw: bool = False) -> int:
    """Runs (or resumes) every stage for a validated config into `record`'s directory."""
    from expkit.provenance import environment_info

    left = plan(config, record.out_dir)
    if record.nothing_to_do(left.units, redraw):
        return 0
    record.start(environment_info(), total=left.total, done=left.total - left.units)
    with record.guard():
        with tqdm(total=left.total, initial=left.total - left.units, desc="curvature", unit="unit",
                  file=sys.stderr, mininterval=0.5) as bar:
            _measure(config, record.out_dir, left, bar)
        return _finish(config, record, plots)


def _measure(config: CurvatureConfig, out: Path, left: _Plan, bar) -> None:
    """Each unit left, its rows written as soon as it is done."""
    from curvature import cost, study
    from curvature.problem import build_problem

    def step(label: str):
        bar.set_postfix_str(label, refresh=True)

    study_units = left.units - len(left.cost)
    problem = build_problem(config, config.study_depth) if study_units else None
    if left.exact:
        step(f"dense Hessian + eigvalsh, P = {config.study_params}")
        arrays, facts = study.exact_reference(problem, config)
        frame = pd.DataFrame({"index": range(len(arrays["eigenvalue"])), **arrays})
        write_csv_atomic(out / "exact.csv", frame[study.EXACT_COLUMNS])
        write_json_atomic(out / "exact.json", facts)
        bar.update()
    exact = json.loads((out / "exact.json").read_text()) if study_units else None
    ref = pd.read_csv(out / "exact.csv") if study_units else None
    for name, m in left.trace:
        step(f"trace {name}, {m} HVPs")
        left.logs["trace"].append(study.trace_group(problem, config, name, m, float(exact["trace"])))
        bar.update()
    for name, m in left.diag:
        step(f"diagonal {name}, {m} HVPs")
        left.logs["diag"].append(study.diag_group(problem, config, name, m, ref["hessian_diagonal"].to_numpy()))
        bar.update()
    if left.eigen:
        step("Lanczos and power iteration")
        write_csv_atomic(out / "eigen.csv", pd.DataFrame(
            study.eigen_rows(problem, config, ref["eigenvalue"].to_numpy()), columns=study.EIGEN_COLUMNS))
        bar.update()
    if left.slq:
        step("stochastic Lanczos quadrature")
        write_csv_atomic(out / "slq.csv", pd.DataFrame(study.slq_rows(problem, config), columns=study.SLQ_COLUMNS))
        bar.update()
    problem, depth_problem, dense_state = None, None, {}  # frees the study's model
    for depth, route in left.cost:
        step(f"cost: {route} at {depth} layers")
        if depth_problem is None or depth_problem.depth != depth:
            depth_problem, dense_state = build_problem(config, depth), {}
        rows, estimates = cost.measure_route(depth_problem, config, route, dense_state)
        if estimates:
            left.logs["estimates"].append(estimates)
        left.logs["cost"].append(rows)
        bar.update()


def _finish(config: CurvatureConfig, record: RunRecord, plots: bool) -> int:
    """Summaries and figures from the files; the exit status."""
    from curvature import cost
    from curvature.plots import plot_all
    from curvature.summary import summarize

    out = record.out_dir
    summary, tables = summarize(out, config)
    for name, table in tables.items():
        write_csv_atomic(out / name, table)
    cost_log = CsvLog(out / "cost.csv", cost.COST_COLUMNS)
    failed = cost_log.read().query("status in ('failed', 'wrong')")
    summary["status"] = "failed" if len(failed) else "ok"
    write_json_atomic(out / "summary.json", summary)
    if plots:
        plot_all(out)
    record.finish(summary["status"])
    print(report_lines(summary, out))
    if len(failed):
        print(f"error: {len(failed)} route(s) failed or gave wrong values (see the note column of {out / 'cost.csv'}); "
              "re-run the same command to retry them", file=sys.stderr)
        return EXIT_FAILURES
    return 0


def _runs(config: CurvatureConfig, route: str) -> int:
    return config.dense_runs if route.startswith("dense_") else config.cost_runs


def report_lines(summary: dict, out: Path) -> str:
    """A few lines for the terminal: each goal's number and whether it was met."""
    from curvature.summary import goal_lines

    return goal_lines(summary.get("goals", {}), out, "configs/curvature.toml")
