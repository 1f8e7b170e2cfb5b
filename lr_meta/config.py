"""The configuration of one lr_meta run: a frozen dataclass per study, loaded by `load`.

A config file's `study` key picks the dataclass: "task" (the default: meta-GD on the
task's ten steps, LRMetaConfig), "horizon" (time and memory of the three
hypergradients against T, HorizonConfig) or "training" (tuning a schedule for logistic
regression, TrainingConfig). Keys, defaults and why are below;
`expkit.config.load_config` rejects unknown keys and wrong types, `__post_init__`
rejects impossible values, each with a one-line `ConfigError` naming the key.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from expkit.config import Config, key, load_study, require


@dataclasses.dataclass(frozen=True)
class LRMetaConfig(Config):
    """Meta-GD on the step sizes of T gradient steps on ½‖x‖², plus the quadratic study."""

    study: Literal["task"] = "task"
    name: str = key("lr_meta", name=True)
    # The task: x0 ~ U[0, 1]^1000 and T = 10 steps.
    dim: int = key(1000, ge=1)
    horizon: int = key(10, ge=1)
    # The task's start α_k ~ U[0, alpha_init_high].
    alpha_init_high: float = key(0.1, gt=0)
    # ∂L/∂α is O(‖x0‖²) ≈ dim / 3 at the start, so β must be O(1 / dim): 1e-3 is stable
    # for dim 1000; 2e-2 diverges within the first steps (see docs/lr_meta.md).
    beta: float = key(1e-3, gt=0)
    meta_steps: int = key(20000, ge=1)
    seed: int = key(0, ge=0)
    # L falls by 5 to 29 orders of magnitude depending on β (beta_sweep.csv); in float32
    # the hypergradient then underflows to exactly 0, and the checks against the closed
    # form and finite differences need float64's precision (docs/lr_meta.md).
    dtype: Literal["float64", "float32"] = "float64"
    # How ∂L/∂α is computed inside meta-GD (both are exact; forward = T JVPs).
    hypergrad: Literal["reverse", "forward"] = "reverse"
    # The inner unroll: a Python loop (the task's form) or lax.scan, optionally
    # checkpointed in `segments` pieces (0: none; must divide horizon).
    unroll: Literal["python", "scan"] = "python"
    segments: int = key(0, ge=0)
    # One CSV row per `log_every` meta-steps keeps the committed CSV small;
    # `chunk_rows` rows per jitted chunk and per CSV append (one fsync each).
    log_every: int = key(50, ge=1)
    chunk_rows: int = key(20, ge=1)
    # A loss above divergence_factor x L(α0) (or non-finite) stops the run as diverged.
    divergence_factor: float = key(1e6, gt=1)
    # Fresh x0 draws for the transfer check.
    transfer_draws: int = key(100, ge=1)
    # Antithetic perturbation pairs ±δ with ‖δ‖ = perturb_radius in the certificate.
    perturb_samples: int = key(500, ge=1)
    perturb_radius: float = key(1e-3, gt=0)
    # Extra meta-GD runs (same start, meta_steps each, final state only) in float64 and
    # float32, to show how the outcome depends on β and where float32 gives out.
    beta_sweep: tuple[float, ...] = key((), gt=0)
    # Beyond the task: f = ½xᵀAx, A = diag(spectrum in [1/quad_condition, 1]).
    quad_dim: int = key(200, ge=1)
    quad_condition: float = key(100.0, ge=1)
    quad_spectrum: Literal["linspace", "geomspace"] = "linspace"
    # ∂L/∂α is larger here (steps up to 1/μ); 0.1 is stable, 0.2 diverges for κ = 100.
    quad_beta: float = key(0.1, gt=0)
    # Meta-GD on the quadratic converges slowly (ill-conditioned in α): many steps,
    # cheap in one jitted scan (0 skips the quadratic study).
    quad_meta_steps: int = key(200000, ge=0)

    def check(self):
        require(self.meta_steps % self.log_every == 0,
                f"config key 'meta_steps' ({self.meta_steps}) must be a multiple of log_every ({self.log_every})")
        require(self.segments == 0 or self.unroll == "scan", "config key 'segments' needs unroll = \"scan\"")
        require(self.segments == 0 or self.horizon % self.segments == 0,
                f"config key 'segments' ({self.segments}) must divide horizon ({self.horizon})")
        require(self.quad_dim >= self.horizon,
                f"config key 'quad_dim' ({self.quad_dim}) must be >= horizon ({self.horizon}) for T CG steps")


@dataclasses.dataclass(frozen=True)
class HorizonConfig(Config):
    """Time and memory of the three hypergradients against the horizon T (lr_meta.horizon)."""

    study: Literal["horizon"] = "horizon"
    name: str = key("lr_meta_horizon", name=True)
    # The task's problem, ½‖x‖² from x0 ~ U[0, 1]^dim; the issue asks for d = 1000.
    dim: int = key(1000, ge=1)
    horizons: tuple[int, ...] = key((10, 30, 100, 300, 1000, 3000, 10000), ge=1, nonempty=True)
    # K log-step knots: forward mode pays one tangent per knot, reverse mode does not.
    knots: int = key(4, ge=1)
    methods: tuple[str, ...] = key(("reverse", "checkpointed", "forward"), nonempty=True, distinct=True)
    # Forward mode's cost against K, at one horizon (empty: skip).
    knot_sweep: tuple[int, ...] = key((1, 4, 16, 64), ge=1)
    knot_sweep_horizon: int = key(1000, ge=1)
    # Σ_k α_k, the same for every T, so L ≈ ½‖x0‖² e^(−2·total_step) neither underflows
    # at T = 10^4 nor differs in scale between horizons.
    total_step: float = key(3.0, gt=0)
    # Timed calls per point after `warmup` untimed ones; the median is reported.
    repeats: int = key(7, ge=1)
    warmup: int = key(2, ge=0)
    # Fits of time use T >= fit_min_horizon: below it the ~0.1 ms call overhead dominates.
    fit_min_horizon: int = key(100, ge=1)
    # The goal: the three agree, and match the closed form, to this (float64).
    rtol: float = key(1e-8, gt=0, lt=1)
    seed: int = key(0, ge=0)

    def check(self):
        require(self.knots <= min(self.horizons),
                f"config key 'knots' ({self.knots}) must not exceed any horizon (K <= T)")
        require(all(k <= self.knot_sweep_horizon for k in self.knot_sweep),
                f"config key 'knot_sweep' must not exceed knot_sweep_horizon ({self.knot_sweep_horizon})")
        known = ("reverse", "checkpointed", "forward")
        require(all(m in known for m in self.methods),
                f"config key 'methods' must be names from {', '.join(known)}, got {list(self.methods)}")
        require(self.total_step < min(self.horizons),
                f"config key 'total_step' ({self.total_step}) must be < the smallest horizon (every α_k < 1)")


@dataclasses.dataclass(frozen=True)
class TrainingConfig(Config):
    """Tuning the schedule of T steps of logistic regression on held-out draws (lr_meta.training)."""

    study: Literal["training"] = "training"
    name: str = key("lr_meta_training", name=True)
    # One draw: `samples` points of `features` features, variances over [1/condition, 1].
    features: int = key(50, ge=1)
    samples: int = key(200, ge=1)
    feature_condition: float = key(100.0, ge=1)
    # λ sets μ and so κ of H(0) (about 140 here): large enough that schedules matter.
    l2: float = key(1e-3, gt=0)
    train_draws: int = key(8, ge=1)
    test_draws: int = key(32, ge=1)
    horizons: tuple[int, ...] = key((10, 30, 100, 300), ge=1, nonempty=True)
    # The few-parameter schedule (forward-mode hypergradient); per-step (K = T) uses
    # checkpointed reverse mode.
    knots: int = key(4, ge=1)
    # Adam on θ = log-α knots, from the best constant step; the best θ on the training
    # draws is kept (Adam is not monotone).
    meta_steps: int = key(300, ge=1)
    meta_lr: float = key(0.05, gt=0)
    # Grids, in units of 1/λ_max(H(0)): constant α and α0 of α0/√(k + 1). H(w) along the
    # path falls far below H(0), so the best constant step lies well above 2/λ_max(H(0))
    # (a first run with the grid ending at 4 picked its edge); summary.json flags an edge.
    grid_low: float = key(0.05, gt=0)
    grid_high: float = 16.0
    grid_points: int = key(60, ge=1)
    # ‖∂L/∂θ‖ (per-step schedule) at constant α = m/λ_max(H(0)) for each m and T:
    # H(w) shrinks away from 0, so GD converges up to m ≈ 4 here, cycles at 6-12 and is
    # chaotic by 24 (measured while building this study).
    norm_horizons: tuple[int, ...] = key((10, 30, 100, 300, 1000, 3000), ge=1, nonempty=True)
    norm_multiples: tuple[float, ...] = key((1.0, 4.0, 8.0, 16.0, 24.0, 32.0), gt=0)
    seed: int = key(0, ge=0)

    def check(self):
        require(self.grid_high > self.grid_low,
                f"config key 'grid_high' ({self.grid_high}) must be > grid_low ({self.grid_low})")
        require(all(self.knots <= t for t in self.horizons),
                f"config key 'knots' ({self.knots}) must not exceed any horizon")


STUDIES = {"task": LRMetaConfig, "horizon": HorizonConfig, "training": TrainingConfig}


def load(path, overrides=()):
    """The config of the study the file names: LRMetaConfig, HorizonConfig or TrainingConfig."""
    return load_study(STUDIES, path, overrides)
