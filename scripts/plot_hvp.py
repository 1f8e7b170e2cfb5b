"""Redraws a run's figures from its result files alone: python scripts/plot_hvp.py RUN_DIR"""

from hvp_bench.cli import plot_hvp, run_cli

if __name__ == "__main__":
    run_cli(plot_hvp)
