"""The runner of the trained-network study (`study = "trained"`), behind scripts/run_curvature.py.

    curvature --config configs/curvature_trained.toml --out results/curvature_trained

curvature/run.py loads and validates the config, checks the run directory and the
devices, switches x64 on and calls `run` here; nothing is written before that. Then,
each unit's files written as soon as it finishes:

1. training.csv (loss, accuracy and extreme eigenvalues along training) and
   checkpoints.csv (the parameters at each checkpoint, exact decimal floats);
2. per checkpoint and matrix (Hessian, GGN): the dense answer (spectrum_<c>_<m>.csv,
   a row of exact.csv), Lanczos (eigen.csv), each trace estimator (trace.csv), each
   diagonal estimator (diag.csv), SLQ plain and deflated (slq_<c>_<m>.csv, a row of
   slq.csv).

A unit's files are complete or absent: a per-unit file is written atomically before its
row is appended, and a group a kill cut short is dropped and redone. summary.json,
summary.csv and the figures are derived from the files at the end of every run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from expkit.cli import EXIT_FAILURES
from expkit.lifecycle import RunRecord, complete_groups
from expkit.results import CsvLog, write_csv_atomic, write_json_atomic

EXACT_FACTS = ["params", "trace", "trace_from_eigenvalues", "lambda_max", "lambda_min", "frobenius",
               "hutchinson_variance", "negative_fraction", "positive_fraction", "near_zero_fraction",
               "max_asymmetry", "dense_vs_single_product", "build_s", "eigvalsh_s"]
SLQ_FACTS = ["slq_s", "deflated", "deflated_max_residual", "deflated_slq_s"]


def spectrum_file(out: Path, checkpoint: str, matrix: str) -> Path:
    return out / f"spectrum_{checkpoint}_{matrix}.csv"


def slq_file(out: Path, checkpoint: str, matrix: str) -> Path:
    return out / f"slq_{checkpoint}_{matrix}.csv"


def open_logs(out: Path) -> dict[str, CsvLog]:
    """The append-only logs (a log with other columns is refused with a ConfigError)."""
    from curvature import trained_study as ts

    return {"exact": CsvLog(out / "exact.csv", ["checkpoint", "matrix", *EXACT_FACTS]),
            "eigen": CsvLog(out / "eigen.csv", ts.EIGEN_COLUMNS),
            "trace": CsvLog(out / "trace.csv", ts.TRACE_COLUMNS),
            "diag": CsvLog(out / "diag.csv", ts.DIAG_COLUMNS),
            "slq": CsvLog(out / "slq.csv", ["checkpoint", "matrix", *SLQ_FACTS])}


def plan(config, out: Path, logs: dict[str, CsvLog]) -> tuple[list[tuple], int]:
    """(units left, units in all); groups a kill cut short are dropped from their logs."""
    k = config.top_k
    done = {
        "exact": complete_groups(logs["exact"], ["checkpoint", "matrix"],
                                 lambda g: spectrum_file(out, *g.iloc[0][["checkpoint", "matrix"]]).exists()),
        "lanczos": complete_groups(logs["eigen"], ["checkpoint", "matrix"], lambda g: len(g) == 2 * k),
        "trace": complete_groups(logs["trace"], ["checkpoint", "matrix", "estimator"],
                                 lambda g: len(g) == config.trace_reps),
        "diag": complete_groups(logs["diag"], ["checkpoint", "matrix", "estimator"],
                                lambda g: len(g) == config.diag_reps),
        "slq": complete_groups(logs["slq"], ["checkpoint", "matrix"],
                               lambda g: slq_file(out, *g.iloc[0][["checkpoint", "matrix"]]).exists()),
    }
    wanted = []
    for c in config.checkpoint_names:
        for m in config.matrices:
            wanted += [("exact", (c, m)), ("lanczos", (c, m))]
            wanted += [("trace", (c, m, e)) for e in config.trace_estimators]
            wanted += [("diag", (c, m, e)) for e in config.diag_estimators]
            wanted.append(("slq", (c, m)))
    left = [(stage, key) for stage, key in wanted if key not in done[stage]]
    trained = (out / "training.csv").exists() and (out / "checkpoints.csv").exists()
    if not trained:
        left.insert(0, ("train", ()))
    return left, 1 + len(wanted)


def run(config, record: RunRecord, plots: bool = True, redraw: bool = False) -> int:
    """Runs (or resumes) every unit of a validated trained-study config into `record`'s directory."""
    from expkit.provenance import environment_info

    out = record.out_dir
    logs = open_logs(out)
    left, total = plan(config, out, logs)
    if record.nothing_to_do(len(left), redraw):
        return 0
    record.start(environment_info(), total=total, done=total - len(left))
    with record.guard():
        with tqdm(total=total, initial=total - len(left), desc="curvature (trained)", unit="unit",
                  file=sys.stderr, mininterval=0.5) as bar:
            _measure(config, out, logs, left, bar)
        return _finish(config, record, plots)


def _measure(config, out: Path, logs: dict[str, CsvLog], left: list[tuple], bar) -> None:
    from curvature import trained_study as ts
    from curvature.digits import load_split
    from curvature.training import LOG_COLUMNS, train

    split = load_split(config.train_images, config.test_images, config.seed)
    if left and left[0][0] == "train":
        bar.set_postfix_str(f"training {config.steps} steps", refresh=True)
        rows, saved = train(config, split)
        write_csv_atomic(out / "checkpoints.csv", pd.DataFrame({"index": range(config.params), **saved}))
        write_csv_atomic(out / "training.csv", pd.DataFrame(rows, columns=LOG_COLUMNS))
        bar.update()
        left = left[1:]
    if not left:
        return
    setup = ts.Setup(config, split)
    saved = pd.read_csv(out / "checkpoints.csv")
    for stage, key in left:
        name, matrix = key[0], key[1]
        ci = config.checkpoint_names.index(name)
        params = np.asarray(saved[name], np.float64)
        bar.set_postfix_str(f"{name}: {matrix} {stage} {' '.join(key[2:])}".strip(), refresh=True)
        if stage == "exact":
            arrays, facts = ts.exact(setup, params, ci, matrix)
            write_csv_atomic(spectrum_file(out, name, matrix),
                             pd.DataFrame({"index": range(len(arrays["eigenvalue"])), **arrays}))
            logs["exact"].append([{"checkpoint": name, "matrix": matrix, **{k: facts[k] for k in EXACT_FACTS}}])
        else:
            spectrum = pd.read_csv(spectrum_file(out, name, matrix))
            if stage == "lanczos":
                logs["eigen"].append(ts.lanczos_rows(setup, params, ci, name, matrix, spectrum["eigenvalue"].to_numpy()))
            elif stage == "trace":
                logs["trace"].append(ts.trace_rows(setup, params, ci, name, matrix, key[2],
                                                   float(spectrum["diagonal"].sum())))
            elif stage == "diag":
                logs["diag"].append(ts.diag_rows(setup, params, ci, name, matrix, key[2],
                                                 spectrum["diagonal"].to_numpy()))
            else:
                rows, facts = ts.slq_measures(setup, params, ci, matrix)
                write_csv_atomic(slq_file(out, name, matrix), pd.DataFrame(rows, columns=ts.SLQ_COLUMNS))
                logs["slq"].append([{"checkpoint": name, "matrix": matrix, **facts}])
        bar.update()


def _finish(config, record: RunRecord, plots: bool) -> int:
    """Summaries and figures from the files; the exit status (3 if an estimate is not finite).

    The issue's goals are reported (summary.json "goals", the terminal), not enforced:
    a run that misses one still wrote every number that says by how much.
    """
    from curvature.trained_summary import report_lines, summarize

    out = record.out_dir
    summary, table = summarize(out, config)
    write_csv_atomic(out / "summary.csv", table)
    write_json_atomic(out / "summary.json", summary)
    if plots:
        from curvature.trained_plots import plot_all

        plot_all(out)
    record.finish(summary["status"])
    print(report_lines(summary, out))
    if summary["status"] != "ok":
        print(f"error: an estimate is not finite (see {out / 'summary.csv'})", file=sys.stderr)
        return EXIT_FAILURES
    return 0
