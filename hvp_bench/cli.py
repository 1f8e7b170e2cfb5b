"""Command-line plumbing shared by the scripts: one argument parser, one-line errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from hvp_bench.config import ConfigError, HVPConfig, load_config


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse prints usage too; one line is enough
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def config_parser(description: str, default_out_root: str = "runs") -> argparse.ArgumentParser:
    """`--config FILE`, `--out DIR`, `--set key=value` (repeatable)."""
    parser = _OneLineParser(description=description)
    parser.add_argument("--config", required=True, help="TOML config file (see configs/)")
    parser.add_argument(
        "--out", default=None,
        help=f"results directory (default: {default_out_root}/<config name>); re-running resumes",
    )
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config key, e.g. --set num_runs=3 (repeatable)",
    )
    return parser


def run_cli(main: Callable[..., int | None], *args) -> None:
    """Runs `main(*args)`; bad input becomes `error: <one line>` on stderr and exit status 2."""
    try:
        status = main(*args)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted; re-run the same command to resume", file=sys.stderr)
        sys.exit(130)
    sys.exit(status or 0)


def run_hvp(argv: Sequence[str] | None = None) -> int:
    """scripts/run_hvp.py: run (or resume) a sweep, print its table, draw its figures."""
    parser = config_parser("Time Hessian-vector products on MLPs of growing depth.")
    parser.add_argument("--device", choices=["auto", "cpu", "gpu"], help="overrides the config's device")
    parser.add_argument("--no-plots", action="store_true", help="skip drawing figures at the end")
    args = parser.parse_args(argv)
    overrides = args.overrides + ([f"device={args.device}"] if args.device else [])
    config = load_config(HVPConfig, args.config, overrides)

    from hvp_bench.plots import plot_run
    from hvp_bench.sweep import format_summary, run_sweep

    out_dir = run_sweep(config, args.out or f"runs/{config.name}")
    print(format_summary(out_dir))
    if not args.no_plots:
        for path in plot_run(out_dir):
            print(f"wrote {path}")
    return 0


def bench_methods(argv: Sequence[str] | None = None) -> int:
    """scripts/bench_methods.py: compile times and HVP/gradient time ratios per depth."""
    parser = config_parser("Compile time and HVP/gradient time ratio of every method.")
    args = parser.parse_args(argv)
    config = load_config(HVPConfig, args.config, args.overrides)

    import pandas as pd

    from hvp_bench.analysis import gradient_ratios, split_sweeps
    from hvp_bench.results import write_csv_atomic
    from hvp_bench.sweep import load_run, run_sweep

    out_dir = run_sweep(config, args.out or f"runs/{config.name}")
    runs, _ = split_sweeps(*load_run(out_dir))
    compile_s = runs.pivot_table(index="depth", columns="method", values="compile_s", aggfunc="first")
    # A method skipped or failed at every depth has no column: show it as empty.
    compile_s = compile_s.reindex(columns=list(config.methods))
    ratios = gradient_ratios(runs)
    with pd.option_context("display.width", 200, "display.float_format", "{:.3g}".format):
        print("compile time (s), lower + XLA compile\n" + compile_s.to_string())
        print("\nmedian time / median gradient time\n" + ratios.to_string())
    write_csv_atomic(out_dir / "compile_s.csv", compile_s.reset_index())
    write_csv_atomic(out_dir / "hvp_over_gradient.csv", ratios.reset_index())
    return 0


def plot_hvp(argv: Sequence[str] | None = None) -> int:
    """scripts/plot_hvp.py: redraw a run's figures from its result files alone."""
    parser = _OneLineParser(description="Redraw a run's figures from its result files.")
    parser.add_argument("run_dir", help="a directory written by scripts/run_hvp.py")
    args = parser.parse_args(argv)
    from hvp_bench.plots import plot_run

    for path in plot_run(args.run_dir):
        print(f"wrote {path}")
    return 0
