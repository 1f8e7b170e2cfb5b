"""Redraws a run's figures from its result files alone: python scripts/plot_hvp.py RUN_DIR"""

import argparse

from hvp_bench.cli import run_cli
from hvp_bench.config import ConfigError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_dir", help="a directory written by scripts/run_hvp.py")
    args = parser.parse_args()
    from pathlib import Path

    from hvp_bench.plots import plot_run

    if not (Path(args.run_dir) / "runs.csv").is_file():
        raise ConfigError(f"{args.run_dir} has no runs.csv (not a run directory)")
    for path in plot_run(args.run_dir):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    run_cli(main)
