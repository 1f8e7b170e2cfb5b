"""Command-line conventions every script of the suite follows.

- `--config FILE` (TOML), `--out DIR` (re-running the same command resumes), and
  `--set key=value` overrides, repeatable (`config_parser`).
- Bad input is one line on stderr, `error: ...`, and exit status 2, before anything is
  written; argparse's own errors are one line too (`OneLineParser`).
- Ctrl-C says how to resume and exits 130. A run that finished but found failures
  exits with its own status (EXIT_FAILURES), after writing all its results.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from expkit.config import ConfigError

EXIT_BAD_INPUT = 2
EXIT_FAILURES = 3
"""A run that wrote all its results but some points failed, or an optimisation diverged."""
EXIT_INTERRUPTED = 130


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (argparse prints the usage too)."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def config_parser(description: str, examples: Sequence[str] = (), default_out_root: str = "runs",
                  **kwargs) -> OneLineParser:
    """A parser with `--config FILE`, `--out DIR` and repeatable `--set KEY=VALUE`.

    Args:
      examples: command lines shown under "examples:" in --help (tests run each).
    """
    epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples) if examples else None
    parser = OneLineParser(description=description, epilog=epilog,
                           formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)
    parser.add_argument("--config", required=True, help="TOML config file (see configs/)")
    parser.add_argument(
        "--out", default=None,
        help=f"results directory (default: {default_out_root}/<config name>); re-running resumes",
    )
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config key, e.g. --set seed=1 (repeatable)",
    )
    parser.add_argument("--dry-run", action="store_true",
                        help="check the config and the output directory, say where the run would go, and stop")
    parser.add_argument("--redraw", action="store_true",
                        help="on a run that is already complete, redraw its figures and summaries")
    return parser


def dry_run(config, out) -> int:
    """What --dry-run prints once the config and --out are checked: 0."""
    print(f"config {config.name!r} is valid; the run would write to {out}")
    return 0


def run_cli(main: Callable[..., int | None], *args) -> None:
    """Runs `main(*args)` and exits with its status; a ConfigError becomes one line and exit 2."""
    try:
        status = main(*args)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        print("interrupted; re-run the same command to resume", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(status or 0)
