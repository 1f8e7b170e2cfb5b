"""Benchmark: compile time of every method and each HVP's time as a multiple of the gradient's.

    python scripts/bench_methods.py --config configs/bench_methods.toml --out results/bench_methods_cpu

Runs the sweep (resumable, like run_hvp.py), then prints and writes compile_s.csv and
hvp_over_gradient.csv (medians over the timed runs, one run of the script).
"""

from hvp_bench.cli import bench

if __name__ == "__main__":
    bench()
