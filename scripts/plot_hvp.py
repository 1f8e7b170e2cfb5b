"""Redraws a run's figures from its result files alone: python scripts/plot_hvp.py RUN_DIR"""

from hvp_bench.cli import plot

if __name__ == "__main__":
    plot()
