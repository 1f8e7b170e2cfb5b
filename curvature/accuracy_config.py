"""The configuration of the density-accuracy study: `AccuracyConfig`, a frozen dataclass.

How many matrix-vector products does a spectral density need? Every estimator runs on
each matrix once per seed with the largest budget, `max(probes)` probes of `max(steps)`
products each; smaller budgets are read off the same run (the leading block of a Lanczos
tridiagonal is what fewer steps give; fewer probes are a disjoint range of them), so a
grid of 5 step counts x 7 probe counts costs one run per seed.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

from curvature.accuracy_matrices import NAMED
from expkit.config import Config, key, load_config, require

ESTIMATORS = ("slq", "deflated_slq", "kpm")
DTYPES = ("float64", "float32")


@dataclasses.dataclass(frozen=True)
class AccuracyConfig(Config):
    name: str = key("density_accuracy", name=True)
    # The matrices (curvature.accuracy_matrices): digits_<checkpoint>_<hessian|ggn> from
    # `trained_run`, deep_mlp from `task_run`, and Papyan's two synthetic ones.
    matrices: tuple[str, ...] = key(("digits_init_hessian", "digits_early_hessian", "digits_converged_hessian",
                                     "digits_init_ggn", "digits_early_ggn", "digits_converged_ggn",
                                     "deep_mlp", "spiked_wishart", "pareto"), nonempty=True, distinct=True)
    trained_run: str = "results/curvature_trained"  # a committed trained-network run: config, weights, spectra
    task_run: str = "results/curvature"             # a committed task-MLP run: config, spectrum
    spiked_dim: int = key(2000, ge=20)              # Papyan's sizes, as curvlinops reproduces them
    pareto_dim: int = key(500, ge=20)
    synthetic_seed: int = key(0, ge=0)
    estimators: tuple[Literal["slq", "deflated_slq", "kpm"], ...] = key(ESTIMATORS, nonempty=True, distinct=True)
    dtypes: tuple[Literal["float64", "float32"], ...] = key(DTYPES, nonempty=True, distinct=True)
    # Products per probe: Lanczos steps (SLQ) or Chebyshev products (KPM, degree twice that).
    steps: tuple[int, ...] = key((10, 20, 40, 80, 160), ge=2, nonempty=True, distinct=True)
    probes: tuple[int, ...] = key((1, 2, 4, 8, 16, 32, 64), ge=1, nonempty=True, distinct=True)
    seeds: int = key(3, ge=1)          # independent runs of max(probes) probes each
    max_groups: int = key(4, ge=1)     # disjoint probe ranges per seed read as replicates of fewer probes
    seed: int = key(0, ge=0)
    deflate: int = key(10, ge=1)       # outliers deflated SLQ takes out first
    deflate_lanczos_steps: int = key(60, ge=1)
    deflate_tol: float = key(1e-8, gt=0)          # a Ritz pair is deflated if its residual <= this x max|θ|
    deflate_tol_float32: float = key(1e-4, gt=0)  # float32 cannot converge a pair to 1e-8
    probe_batch: int = key(32, ge=1)      # probes whose Lanczos runs are vectorised together (memory and speed)
    kpm_bound_steps: int = key(20, ge=2)  # Lanczos steps for KPM's interval
    kpm_grid: int = key(8192, ge=64)      # Chebyshev grid nodes KPM's measure is placed on
    top_k: int = key(5, ge=1)
    negative_tol: float = key(1e-4, ge=0)  # "negative" means below −tol x (λmax − λmin)
    eta: float = key(0.05, gt=0, lt=1)     # the a-priori bound's failure probability

    def check(self):
        require(self.deflate <= self.deflate_lanczos_steps,
                f"deflate ({self.deflate}) must be <= deflate_lanczos_steps ({self.deflate_lanczos_steps})")
        require(self.kpm_grid > 4 * max(self.steps),
                f"kpm_grid ({self.kpm_grid}) must exceed 4 x max(steps) = {4 * max(self.steps)}")
        for m in self.matrices:
            require(m in NAMED or m.startswith("digits_"),
                    f"config key 'matrices': unknown matrix {m!r} (digits_<checkpoint>_<matrix>, deep_mlp, "
                    f"spiked_wishart or pareto)")
        if any(m.startswith("digits_") for m in self.matrices):
            require((Path(self.trained_run) / "checkpoints.csv").is_file(),
                    f"config key 'trained_run': {self.trained_run} holds no trained-network run (checkpoints.csv)")
        if "deep_mlp" in self.matrices:
            require((Path(self.task_run) / "meta.json").is_file(),
                    f"config key 'task_run': {self.task_run} holds no curvature run (meta.json)")

    @property
    def groups(self) -> dict[int, int]:
        """Probe count -> disjoint ranges of it read from each seed's max(probes) probes."""
        return {n: min(self.max_groups, max(self.probes) // n) for n in sorted(self.probes)}


def load(path, overrides=()) -> AccuracyConfig:
    return load_config(AccuracyConfig, path, overrides)
