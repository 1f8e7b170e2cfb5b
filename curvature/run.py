"""The runner behind scripts/run_curvature.py (console command `curvature`).

    curvature --config configs/curvature.toml [--out DIR] [--set key=value]...

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

import json
import sys
import time
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from expkit.cli import EXIT_FAILURES, config_parser, run_cli
from expkit.config import ConfigError, config_to_dict, load_config
from expkit.results import CsvLog, now_iso, prepare_out_dir, resumable_meta, write_csv_atomic, write_json_atomic
from curvature.config import CurvatureConfig


def main(argv: list[str] | None = None) -> int:
    """Parses the command line and runs or resumes; returns the exit status."""
    parser = config_parser(
        "Trace, diagonal, extreme eigenvalues and spectral density of the task's MLP from HVPs, "
        "each checked against the dense Hessian, and their cost against depth."
    )
    parser.add_argument("--no-plots", action="store_true", help="skip drawing figures at the end")
    args = parser.parse_args(argv)
    config = load_config(CurvatureConfig, args.config, args.overrides)
    out = Path(args.out) if args.out else Path("runs") / config.name
    old_meta = resumable_meta(out, config)
    if old_meta is not None and "gelu" not in old_meta.get("config", {}):
        raise ConfigError(f"{out} holds a run made before the config key 'gelu' (in the tanh form); use another --out")
    import jax

    if jax.device_count() < config.devices:
        raise ConfigError(f"config key 'devices' is {config.devices} but JAX sees {jax.device_count()} device(s); "
                          f"on CPU set XLA_FLAGS=--xla_force_host_platform_device_count={config.devices}")
    prepare_out_dir(out)
    with jax.enable_x64(True):
        return run(config, out, old_meta, plots=not args.no_plots)


def cli(argv: list[str] | None = None) -> None:
    """`main` with one-line errors and exit statuses (scripts/run_curvature.py)."""
    run_cli(lambda: main(argv))


def _complete(log: CsvLog, keys: list[str], expected) -> set[tuple]:
    """Groups of `log` that are complete; rows of incomplete groups (a kill mid-group) are dropped.

    Args:
      expected: group frame -> whether the group is complete.
    """
    frame = log.read()
    if frame.empty:
        return set()
    done, keep = set(), []
    for key, group in frame.groupby(keys, sort=False):
        if expected(group):
            done.add(key if isinstance(key, tuple) else (key,))
            keep.append(group)
    kept = pd.concat(keep) if keep else frame.iloc[:0]
    if len(kept) != len(frame):
        log.rewrite(kept.sort_index())
    return done


def run(config: CurvatureConfig, out: Path, old_meta: dict | None, plots: bool = True) -> int:
    """Runs (or resumes) every stage for a validated config into a prepared `out`."""
    from curvature import cost, study
    from curvature.plots import plot_all
    from curvature.problem import build_problem
    from curvature.summary import summarize
    from expkit.provenance import environment_info

    started = time.perf_counter()
    meta = old_meta or {"config": config_to_dict(config), "started": now_iso()}
    if old_meta is not None:
        meta.setdefault("resumed", []).append(now_iso())
    meta.update(status="running", environment=environment_info())
    write_json_atomic(out / "meta.json", meta)

    trace_log = CsvLog(out / "trace.csv", study.TRACE_COLUMNS)
    diag_log = CsvLog(out / "diag.csv", study.DIAG_COLUMNS)
    cost_log = CsvLog(out / "cost.csv", cost.COST_COLUMNS)
    est_log = CsvLog(out / "estimates.csv", cost.ESTIMATE_COLUMNS)
    trace_done = _complete(trace_log, ["estimator", "hvps"], lambda g: len(g) == config.trace_reps)
    diag_done = _complete(diag_log, ["estimator", "hvps"], lambda g: len(g) == config.diag_reps)
    cost_done = _complete(cost_log, ["depth", "route"], lambda g: (g["status"] == "skipped").all()
                          or ((g["status"] == "ok").all() and len(g) == _runs(config, g["route"].iloc[0])))
    # Estimates belong to finished cost groups only: drop the rest (they are redone).
    _complete(est_log, ["depth", "route"], lambda g: (g["depth"].iloc[0], g["route"].iloc[0]) in cost_done)

    trace_todo = [(n, m) for n in config.trace_estimators for m in config.trace_budgets if (n, m) not in trace_done]
    diag_todo = [(n, m) for n in config.diag_estimators for m in config.diag_budgets if (n, m) not in diag_done]
    cost_todo = [(d, r) for d in config.cost_depths for r in cost.route_names(config) if (d, r) not in cost_done]
    exact_todo = not ((out / "exact.json").exists() and (out / "exact.csv").exists())
    eigen_todo, slq_todo = not (out / "eigen.csv").exists(), not (out / "slq.csv").exists()
    units = exact_todo + len(trace_todo) + len(diag_todo) + eigen_todo + slq_todo + len(cost_todo)

    with tqdm(total=units, desc="curvature", unit="unit", file=sys.stderr, mininterval=0.5) as bar:
        def step(label: str):
            bar.set_postfix_str(label, refresh=True)

        study_units = units - len(cost_todo)
        problem = build_problem(config, config.study_depth) if study_units else None
        if exact_todo:
            step(f"dense Hessian + eigvalsh, P = {config.study_params}")
            arrays, facts = study.exact_reference(problem, config)
            frame = pd.DataFrame({"index": range(len(arrays["eigenvalue"])), **arrays})
            write_csv_atomic(out / "exact.csv", frame[study.EXACT_COLUMNS])
            write_json_atomic(out / "exact.json", facts)
            bar.update()
        exact = json.loads((out / "exact.json").read_text()) if study_units else None
        ref = pd.read_csv(out / "exact.csv") if study_units else None
        for name, m in trace_todo:
            step(f"trace {name}, {m} HVPs")
            trace_log.append(study.trace_group(problem, config, name, m, float(exact["trace"])))
            bar.update()
        for name, m in diag_todo:
            step(f"diagonal {name}, {m} HVPs")
            diag_log.append(study.diag_group(problem, config, name, m, ref["hessian_diagonal"].to_numpy()))
            bar.update()
        if eigen_todo:
            step("Lanczos and power iteration")
            write_csv_atomic(out / "eigen.csv", pd.DataFrame(
                study.eigen_rows(problem, config, ref["eigenvalue"].to_numpy()), columns=study.EIGEN_COLUMNS))
            bar.update()
        if slq_todo:
            step("stochastic Lanczos quadrature")
            write_csv_atomic(out / "slq.csv", pd.DataFrame(study.slq_rows(problem, config), columns=study.SLQ_COLUMNS))
            bar.update()
        problem, depth_problem, dense_state = None, None, {}  # frees the study's model
        for depth, route in cost_todo:
            step(f"cost: {route} at {depth} layers")
            if depth_problem is None or depth_problem.depth != depth:
                depth_problem, dense_state = build_problem(config, depth), {}
            rows, estimates = cost.measure_route(depth_problem, config, route, dense_state)
            if estimates:
                est_log.append(estimates)
            cost_log.append(rows)
            bar.update()

    summary, tables = summarize(out, config)
    for name, table in tables.items():
        write_csv_atomic(out / name, table)
    failed = cost_log.read().query("status in ('failed', 'wrong')")
    summary["status"] = "failed" if len(failed) else "ok"
    write_json_atomic(out / "summary.json", summary)
    if plots:
        plot_all(out)
    meta.update(status=summary["status"], finished=now_iso(),
                elapsed_s=round(meta.get("elapsed_s", 0) + time.perf_counter() - started, 1))
    write_json_atomic(out / "meta.json", meta)
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
    lines = [f"results in {out}"]
    for name, goal in summary.get("goals", {}).items():
        numbers = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                            for k, v in goal.items() if k != "met")
        mark = "" if "met" not in goal else (" [met]" if goal["met"] else " [NOT met]")
        lines.append(f"  {name}: {numbers}{mark}")
    return "\n".join(lines)
