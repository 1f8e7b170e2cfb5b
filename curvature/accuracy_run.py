"""The runner behind scripts/run_density_accuracy.py (console command `curvature-density`).

    curvature-density --config configs/density_accuracy.toml [--out DIR] [--set key=value]...

How many matrix-vector products a trustworthy spectral density needs: SLQ, deflated SLQ
and KPM on network Hessians and Papyan's test matrices, each against the exact spectrum
and the a-priori bound (curvature.accuracy_study). The run goes through the one study
driver (expkit.study): resuming, the lock on --out, the progress bar, one-line errors.
"""

from __future__ import annotations

from curvature.accuracy_config import load
from expkit.study import study_cli


def cli(argv: list[str] | None = None) -> None:
    """The console command (scripts/run_density_accuracy.py); exits with its status."""
    from curvature.accuracy_study import AccuracyStudy

    study_cli(argv, load=load, make_study=AccuracyStudy, description=(
        "How far SLQ, deflated SLQ and KPM spectral densities are from the exact spectrum, against the "
        "number of matrix-vector products, on a trained network's Hessian and Gauss-Newton matrix, a deep "
        "MLP's Hessian and Papyan's synthetic matrices; with the a-priori bound of Chen, Trogdon & Ubaru."),
        examples=["curvature-density --config configs/density_accuracy_smoke.toml --out runs/density_accuracy_smoke",
                  "curvature-density --config configs/density_accuracy.toml --out runs/density_accuracy"])
