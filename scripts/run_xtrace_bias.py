"""XTrace's bias and interval coverage on a matrix of known trace; see curvature/xtrace_bias.py.

    python scripts/run_xtrace_bias.py --config configs/xtrace_bias.toml [--out DIR] [--set key=value]
"""

from curvature.xtrace_bias import cli

if __name__ == "__main__":
    cli()
