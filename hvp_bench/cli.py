"""The command-line entry points of hvp_bench (console scripts and scripts/*.py).

    hvp-run     --config FILE [--out DIR] [--set k=v]... [--device cpu|gpu]   run or resume a sweep
    hvp-bench   --config FILE [--out DIR] [--set k=v]... [--device cpu|gpu]   compile times, HVP/gradient ratios
    hvp-plot    RUN_DIR                                    redraw a run's figures
    hvp-report  RUN_DIR [--compare OTHER_RUN_DIR]          report.md with fits and figures

Each `main_*` parses its arguments and returns an exit status; `run_cli` turns bad input
into one line and exit 2. Heavy imports (JAX, matplotlib) happen after parsing, so
`--help` and argument errors are instant.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from collections.abc import Sequence

from expkit.cli import EXIT_FAILURES, OneLineParser, config_parser, dry_run, run_cli
from expkit.config import load_config
from hvp_bench.config import HVPConfig


def main_run(argv: Sequence[str] | None = None) -> int:
    """Run (or resume) a sweep, print its table of medians, draw its figures."""
    parser = _device_parser("Time Hessian-vector products on MLPs of growing depth.", [
        "hvp-run --config configs/hvp_homework.toml",
        "hvp-run --config configs/hvp_smoke.toml --set depths=[2,4] --set num_runs=5 --out runs/try",
        "hvp-run --config configs/hvp_gpu.toml --device gpu"])
    parser.add_argument("--no-plots", action="store_true", help="skip drawing figures at the end")
    args = parser.parse_args(argv)
    config = _load(args)
    if args.dry_run:
        return _dry_run(config, args)

    from hvp_bench.words import LABELS
    from hvp_bench.run_figures import plot_run
    from hvp_bench.rundir import format_summary, load_run, summarize_runs
    from hvp_bench.sweep import run_sweep

    out_dir = run_sweep(config, args.out or f"runs/{config.name}", redraw=args.redraw)
    if out_dir is None:
        return 0
    summary = summarize_runs(load_run(out_dir)[0])
    print(format_summary(summary, LABELS))
    if not args.no_plots:
        for path in plot_run(out_dir):
            print(f"wrote {path}")
    return _exit_status(summary)


def _device_parser(description: str, examples: Sequence[str]) -> argparse.ArgumentParser:
    """The config parser plus `--device`, which overrides the config's device."""
    parser = config_parser(description, examples)
    parser.add_argument("--device", choices=["auto", "cpu", "gpu"], help="overrides the config's device")
    return parser


def _load(args: argparse.Namespace) -> HVPConfig:
    """The validated config of parsed arguments, `--device` applied last."""
    overrides = args.overrides + ([f"device={args.device}"] if args.device else [])
    return load_config(HVPConfig, args.config, overrides)


def _dry_run(config: HVPConfig, args: argparse.Namespace) -> int:
    from expkit.lifecycle import RunRecord
    from hvp_bench.sweep import MEASUREMENT_KEYS

    out = args.out or f"runs/{config.name}"
    RunRecord.open(out, config, MEASUREMENT_KEYS)  # refuses another config's directory
    return dry_run(config, out)


def _exit_status(summary) -> int:
    """0, or EXIT_FAILURES after one line on stderr if points failed or timed out."""
    from hvp_bench.sweep import failures

    if message := failures(summary):
        print(f"error: {message}; re-run the same command to retry them", file=sys.stderr)
        return EXIT_FAILURES
    return 0


def main_bench(argv: Sequence[str] | None = None) -> int:
    """Compile time of every method and each HVP's time in gradients, per depth."""
    parser = _device_parser("Compile time and HVP/gradient time ratio of every method.", [
        "hvp-bench --config configs/bench_methods.toml",
        "hvp-bench --config configs/bench_methods.toml --set depths=[2,5] --set num_runs=3 --out runs/try"])
    args = parser.parse_args(argv)
    config = _load(args)
    if args.dry_run:
        return _dry_run(config, args)

    from hvp_bench.bench_tables import write_bench_tables
    from hvp_bench.rundir import load_run, summarize_runs
    from hvp_bench.sweep import run_sweep

    out_dir = run_sweep(config, args.out or f"runs/{config.name}", redraw=args.redraw)
    if out_dir is None:
        return 0
    print(write_bench_tables(out_dir))
    return _exit_status(summarize_runs(load_run(out_dir)[0]))


def main_plot(argv: Sequence[str] | None = None) -> int:
    """Redraw a run's figures from its result files alone."""
    parser = OneLineParser(description="Redraw a run's figures from its result files.")
    parser.add_argument("run_dir", help="a directory written by hvp-run (scripts/run_hvp.py)")
    args = parser.parse_args(argv)
    from hvp_bench.run_figures import plot_run

    for path in plot_run(args.run_dir):
        print(f"wrote {path}")
    return 0


def main_report(argv: Sequence[str] | None = None) -> int:
    """Write a run's scaling report (report.md and report_*.png) from its result files."""
    parser = OneLineParser(
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write RUN_DIR/report.md and report_*.png: fits of time and memory against "
                    "depth, HVP/gradient ratios, width fits, and a comparison with another run.",
    )
    parser.add_argument("run_dir", help="a directory written by hvp-run (scripts/run_hvp.py)")
    parser.add_argument("--compare", metavar="OTHER_RUN_DIR", help="another run to compare with (e.g. GPU vs CPU)")
    parser.add_argument("--boot", type=int, default=2000, help="bootstrap resamples for the slope CIs")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    args = parser.parse_args(argv)
    from expkit.lifecycle import note_rederived
    from expkit.provenance import git_state
    from hvp_bench.report import write_report

    state = git_state()  # before writing: the written files would make the tree read dirty
    for path in write_report(args.run_dir, args.compare, n_boot=args.boot, seed=args.seed):
        print(f"wrote {path}")
    if (Path(args.run_dir) / "meta.json").is_file():
        note_rederived(args.run_dir, "report.md, report_*.png and report_*.csv written from runs.csv", state)
    return 0


def run(argv: Sequence[str] | None = None) -> None:
    """Console script `hvp-run`."""
    run_cli(main_run, argv)


def bench(argv: Sequence[str] | None = None) -> None:
    """Console script `hvp-bench`."""
    run_cli(main_bench, argv)


def plot(argv: Sequence[str] | None = None) -> None:
    """Console script `hvp-plot`."""
    run_cli(main_plot, argv)


def report(argv: Sequence[str] | None = None) -> None:
    """Console script `hvp-report`."""
    run_cli(main_report, argv)
