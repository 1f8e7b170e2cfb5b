"""The configuration of the trained-network study: `TrainedConfig`, a frozen dataclass.

A curvature config with `study = "trained"` loads into this class (curvature.config.load);
keys, defaults and why are below. Importing this module imports neither JAX nor matplotlib.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from expkit.config import Config, key, require

IMAGES = 1797  # scikit-learn's digits (curvature.digits)
TRACE_ESTIMATORS = ("hutchpp", "xtrace")
DIAG_ESTIMATORS = ("hutchinson", "xdiag")
MATRICES = ("hessian", "ggn")
# Hutch++ spends a third of its products on its sketch, a third on projecting it and a
# third on Hutchinson; XTrace spends half on its sketch.
BUDGET_MULTIPLE = 6


def num_params(sizes: tuple[int, ...]) -> int:
    """P of an MLP with biases through `sizes`."""
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


@dataclasses.dataclass(frozen=True)
class TrainedConfig(Config):
    """Curvature of a classifier trained on real data, each estimate beside the dense answer.

    An MLP is trained on scikit-learn's digits by full-batch gradient descent (optax) at
    a fixed step; at each checkpoint the Hessian and the Gauss-Newton matrix of the
    training loss are built densely (eigvalsh, diagonal, trace) and estimated from
    products only (Lanczos, Hutch++, XTrace, the diagonal, SLQ).
    """

    study: Literal["trained"] = "trained"
    name: str = key("curvature_trained", name=True)
    # --- data and model -----------------------------------------------------------------
    # 1440 training images (a multiple of 2, 4, 8, 16: the batch shards evenly), the
    # other 357 held out.
    train_images: int = key(1440, ge=1)
    test_images: int = key(357, ge=1)
    # 64 -> 48 -> 48 -> 10 with biases: P = 5962. eigvalsh of a dense float64 matrix of
    # that size takes one to two minutes on the shared 2-core CPU, and the run does six.
    hidden: tuple[int, ...] = key((48, 48), ge=1, nonempty=True)
    seed: int = key(0, ge=0)
    # --- training -------------------------------------------------------------------------
    # Full-batch gradient descent (optax.sgd, no momentum) at a fixed step, so that 2/η
    # is the stability threshold of the edge-of-stability picture (Cohen et al. 2021).
    # η = 0.5 trains to 100% training accuracy; the sharpness overshoots 2/η early, then
    # settles just below it (measured while choosing: η = 1 and 2 never settle).
    learning_rate: float = key(0.5, gt=0)
    steps: int = key(3000, ge=1)
    # The training steps at which the curvature is measured, and their names.
    checkpoints: tuple[int, ...] = (0, 50, 3000)
    checkpoint_names: tuple[str, ...] = ("init", "early", "converged")
    # Loss, accuracy and the extreme eigenvalues (Lanczos) at about this many steps,
    # spaced geometrically (dense early, where the sharpness moves fastest).
    log_points: int = key(100, ge=1)
    sharpness_lanczos_steps: int = key(30, ge=1)
    # Devices the training batch is sharded over (rows split; train_images % devices == 0).
    # On CPU, XLA_FLAGS=--xla_force_host_platform_device_count=N.
    devices: int = key(1, ge=1)
    # --- the exact answer -----------------------------------------------------------------
    # Columns of the dense matrices built per vectorised block.
    hessian_block: int = key(128, ge=1)
    # --- estimators -------------------------------------------------------------------------
    matrices: tuple[str, ...] = key(MATRICES, nonempty=True, distinct=True)
    top_k: int = key(5, ge=1)
    lanczos_steps: int = key(150, ge=1)
    trace_estimators: tuple[str, ...] = key(TRACE_ESTIMATORS, distinct=True)
    trace_hvps: int = 150
    # Independent estimates per (checkpoint, matrix, estimator); the interval is their
    # mean ± a Student-t quantile x standard error.
    trace_reps: int = key(10, ge=2)
    # Joint confidence of all the run's trace intervals (Bonferroni: each interval gets
    # 1 - (1 - level) / number of intervals).
    trace_confidence: float = key(0.95, gt=0, lt=1)
    diag_estimators: tuple[str, ...] = key(DIAG_ESTIMATORS, distinct=True)
    diag_hvps: int = 150
    diag_reps: int = key(2, ge=1)
    # SLQ: Rademacher probes x Lanczos steps.
    slq_probes: int = key(10, ge=1)
    slq_steps: int = key(100, ge=1)
    # Deflated SLQ: the `deflate` Ritz pairs of largest |θ| from the Lanczos run (those
    # with residual <= deflate_tol x max|θ|) are kept exactly, SLQ covers the rest.
    # 0: plain SLQ only.
    deflate: int = key(20, ge=0)
    deflate_tol: float = key(1e-8, gt=0)
    # Negative mass: the fraction of the spectrum below -negative_band x max|λ|.
    negative_band: float = key(1e-3, gt=0, lt=1)
    # The plotted density: the measure convolved with a Gaussian of this standard
    # deviation, as a fraction of the spectral range (W1 is computed unsmoothed).
    smoothing: float = key(0.005, gt=0, lt=1)

    @property
    def sizes(self) -> tuple[int, ...]:
        return (64, *self.hidden, 10)

    @property
    def params(self) -> int:
        return num_params(self.sizes)

    def check(self):
        require(self.train_images + self.test_images <= IMAGES,
                f"config keys 'train_images' + 'test_images' must be at most {IMAGES}, "
                f"got {self.train_images + self.test_images}")
        require(self.train_images % self.devices == 0,
                f"config key 'train_images' ({self.train_images}) must be a multiple of 'devices' ({self.devices})")
        require(len(self.checkpoints) >= 1 and list(self.checkpoints) == sorted(set(self.checkpoints)),
                f"config key 'checkpoints' must be increasing steps, got {list(self.checkpoints)}")
        require(0 <= self.checkpoints[0] and self.checkpoints[-1] <= self.steps,
                f"config key 'checkpoints' must lie in [0, steps = {self.steps}], got {list(self.checkpoints)}")
        names = self.checkpoint_names
        require(len(names) == len(self.checkpoints) and len(set(names)) == len(names)
                and all(n and n.isidentifier() for n in names),
                f"config key 'checkpoint_names' must give one distinct identifier per checkpoint, got {list(names)}")
        for name, known in (("matrices", MATRICES), ("trace_estimators", TRACE_ESTIMATORS),
                            ("diag_estimators", DIAG_ESTIMATORS)):
            values = getattr(self, name)
            require(all(v in known for v in values),
                    f"config key {name!r} must be names from {', '.join(known)}, got {list(values)}")
        for name in ("trace_hvps", "diag_hvps"):
            m = getattr(self, name)
            require(m >= BUDGET_MULTIPLE and m % BUDGET_MULTIPLE == 0,
                    f"config key {name!r} must be a positive multiple of {BUDGET_MULTIPLE}, got {m}")
        p = self.params
        # Krylov and sketch sizes cannot exceed the dimension they live in.
        for name in ("lanczos_steps", "slq_steps", "sharpness_lanczos_steps"):
            require(getattr(self, name) < p - self.deflate,
                    f"config key {name!r} ({getattr(self, name)}) must be < P - deflate ({p - self.deflate})")
        require(self.top_k <= self.lanczos_steps and self.deflate <= self.lanczos_steps,
                f"config keys 'top_k' ({self.top_k}) and 'deflate' ({self.deflate}) must be <= "
                f"lanczos_steps ({self.lanczos_steps})")
        require(max(self.trace_hvps, self.diag_hvps) // 2 < p,
                f"config keys 'trace_hvps'/'diag_hvps' need P > half of them, got P = {p}")
        require(2 * self.top_k + 1 <= p, f"config key 'top_k' ({self.top_k}) is too large for P = {p}")
