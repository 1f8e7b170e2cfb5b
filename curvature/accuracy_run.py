"""The runner behind scripts/run_density_accuracy.py (console command `curvature-density`).

    curvature-density --config configs/density_accuracy.toml [--out DIR] [--set key=value]...

How many matrix-vector products a trustworthy spectral density needs: SLQ, deflated SLQ
and KPM on network Hessians and Papyan's test matrices, each against the exact spectrum
and the a-priori bound (curvature.accuracy_study). The run goes through the one study
driver (expkit.study): resuming, the lock on --out, the progress bar, one-line errors.
"""

from __future__ import annotations

from pathlib import Path

from curvature.accuracy_config import load
from expkit.cli import config_parser, dry_run, run_cli
from expkit.lifecycle import RunRecord
from expkit.study import run_study_cli


def main(argv: list[str] | None = None) -> int:
    """Parses the command line and runs or resumes; returns the exit status."""
    parser = config_parser(
        "How far SLQ, deflated SLQ and KPM spectral densities are from the exact spectrum, against the "
        "number of matrix-vector products, on a trained network's Hessian and Gauss-Newton matrix, a deep "
        "MLP's Hessian and Papyan's synthetic matrices; with the a-priori bound of Chen, Trogdon & Ubaru.",
        ["curvature-density --config configs/density_accuracy_smoke.toml --out runs/density_accuracy_smoke",
         "curvature-density --config configs/density_accuracy.toml --out runs/density_accuracy"],
    )
    args = parser.parse_args(argv)
    config = load(args.config, args.overrides)
    out = Path(args.out) if args.out else Path("runs") / config.name
    RunRecord.open(out, config)
    if args.dry_run:
        return dry_run(config, out)
    from curvature.accuracy_study import AccuracyStudy

    return run_study_cli(AccuracyStudy(config), config, out, redraw=args.redraw)


def cli(argv: list[str] | None = None) -> None:
    """`main` with one-line errors and exit statuses (scripts/run_density_accuracy.py)."""
    run_cli(lambda: main(argv))
