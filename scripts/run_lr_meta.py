"""Tune the step sizes of unrolled gradient descent by meta-GD; see lr_meta/run.py.

    python scripts/run_lr_meta.py --config configs/lr_meta.toml [--out DIR] [--set key=value]
"""

from lr_meta.run import cli

if __name__ == "__main__":
    cli()
