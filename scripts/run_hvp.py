"""Runs an hvp_bench sweep and draws its figures.

    python scripts/run_hvp.py --config configs/hvp_homework.toml [--out DIR] [--set key=value] [--device cpu|gpu]

Re-running the same command resumes: finished points are skipped.
"""

from hvp_bench.cli import run

if __name__ == "__main__":
    run()
