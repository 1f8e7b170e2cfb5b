"""Command-line plumbing shared by the scripts: one argument parser, one-line errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from hvp_bench.config import ConfigError


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


def run_cli(main: Callable[[], int | None]) -> None:
    """Runs `main`; bad input becomes `error: <one line>` on stderr and exit status 2."""
    try:
        status = main()
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted; re-run the same command to resume", file=sys.stderr)
        sys.exit(130)
    sys.exit(status or 0)
