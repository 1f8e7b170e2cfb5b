"""Curvature of the task's MLP from HVPs, checked against the dense Hessian; see curvature/run.py.

    python scripts/run_curvature.py --config configs/curvature.toml [--out DIR] [--set key=value]
"""

from curvature.run import cli

if __name__ == "__main__":
    cli()
