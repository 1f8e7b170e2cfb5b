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
import tomllib
from pathlib import Path
from typing import Literal

from expkit.config import load_config, require


@dataclasses.dataclass(frozen=True)
class LRMetaConfig:
    """Meta-GD on the step sizes of T gradient steps on ½‖x‖², plus the quadratic study."""

    study: Literal["task"] = "task"
    name: str = "lr_meta"
    # The task: x0 ~ U[0, 1]^1000 and T = 10 steps.
    dim: int = 1000
    horizon: int = 10
    # The task's start α_k ~ U[0, alpha_init_high].
    alpha_init_high: float = 0.1
    # ∂L/∂α is O(‖x0‖²) ≈ dim / 3 at the start, so β must be O(1 / dim): 1e-3 is stable
    # for dim 1000; 2e-2 diverges within the first steps (see docs/lr_meta.md).
    beta: float = 1e-3
    meta_steps: int = 20000
    seed: int = 0
    # L falls by 5 to 29 orders of magnitude depending on β (beta_sweep.csv); in float32
    # the hypergradient then underflows to exactly 0, and the checks against the closed
    # form and finite differences need float64's precision (docs/lr_meta.md).
    dtype: Literal["float64", "float32"] = "float64"
    # How ∂L/∂α is computed inside meta-GD (both are exact; forward = T JVPs).
    hypergrad: Literal["reverse", "forward"] = "reverse"
    # The inner unroll: a Python loop (the task's form) or lax.scan, optionally
    # checkpointed in `segments` pieces (0: none; must divide horizon).
    unroll: Literal["python", "scan"] = "python"
    segments: int = 0
    # One CSV row per `log_every` meta-steps keeps the committed CSV small;
    # `chunk_rows` rows per jitted chunk and per CSV append (one fsync each).
    log_every: int = 50
    chunk_rows: int = 20
    # A loss above divergence_factor x L(α0) (or non-finite) stops the run as diverged.
    divergence_factor: float = 1e6
    # Fresh x0 draws for the transfer check.
    transfer_draws: int = 100
    # Antithetic perturbation pairs ±δ with ‖δ‖ = perturb_radius in the certificate.
    perturb_samples: int = 500
    perturb_radius: float = 1e-3
    # Extra meta-GD runs (same start, meta_steps each, final state only) in float64 and
    # float32, to show how the outcome depends on β and where float32 gives out.
    beta_sweep: tuple[float, ...] = ()
    # Beyond the task: f = ½xᵀAx, A = diag(spectrum in [1/quad_condition, 1]).
    quad_dim: int = 200
    quad_condition: float = 100.0
    quad_spectrum: Literal["linspace", "geomspace"] = "linspace"
    # ∂L/∂α is larger here (steps up to 1/μ); 0.1 is stable, 0.2 diverges for κ = 100.
    quad_beta: float = 0.1
    # Meta-GD on the quadratic converges slowly (ill-conditioned in α): many steps,
    # cheap in one jitted scan (0 skips the quadratic study).
    quad_meta_steps: int = 200000

    def __post_init__(self):
        require(bool(self.name) and "/" not in self.name, "config key 'name' must be a non-empty name without '/'")
        for key in ("dim", "horizon", "log_every", "chunk_rows", "transfer_draws", "perturb_samples", "quad_dim"):
            require(getattr(self, key) >= 1, f"config key {key!r} must be >= 1, got {getattr(self, key)}")
        for key in ("beta", "alpha_init_high", "perturb_radius", "quad_beta"):
            require(getattr(self, key) > 0, f"config key {key!r} must be > 0, got {getattr(self, key)}")
        require(all(b > 0 for b in self.beta_sweep), f"config key 'beta_sweep' must be > 0, got {list(self.beta_sweep)}")
        require(self.seed >= 0, f"config key 'seed' must be >= 0, got {self.seed}")
        require(self.meta_steps >= 1, f"config key 'meta_steps' must be >= 1, got {self.meta_steps}")
        require(self.meta_steps % self.log_every == 0,
                f"config key 'meta_steps' ({self.meta_steps}) must be a multiple of log_every ({self.log_every})")
        require(self.divergence_factor > 1, f"config key 'divergence_factor' must be > 1, got {self.divergence_factor}")
        require(self.segments >= 0, f"config key 'segments' must be >= 0, got {self.segments}")
        require(self.segments == 0 or self.unroll == "scan", "config key 'segments' needs unroll = \"scan\"")
        require(self.segments == 0 or self.horizon % self.segments == 0,
                f"config key 'segments' ({self.segments}) must divide horizon ({self.horizon})")
        require(self.quad_condition >= 1, f"config key 'quad_condition' must be >= 1, got {self.quad_condition}")
        require(self.quad_meta_steps >= 0, f"config key 'quad_meta_steps' must be >= 0, got {self.quad_meta_steps}")
        require(self.quad_dim >= self.horizon,
                f"config key 'quad_dim' ({self.quad_dim}) must be >= horizon ({self.horizon}) for T CG steps")


@dataclasses.dataclass(frozen=True)
class HorizonConfig:
    """Time and memory of the three hypergradients against the horizon T (lr_meta.horizon)."""

    study: Literal["horizon"] = "horizon"
    name: str = "lr_meta_horizon"
    # The task's problem, ½‖x‖² from x0 ~ U[0, 1]^dim; the issue asks for d = 1000.
    dim: int = 1000
    horizons: tuple[int, ...] = (10, 30, 100, 300, 1000, 3000, 10000)
    # K log-step knots: forward mode pays one tangent per knot, reverse mode does not.
    knots: int = 4
    methods: tuple[str, ...] = ("reverse", "checkpointed", "forward")
    # Forward mode's cost against K, at one horizon (empty: skip).
    knot_sweep: tuple[int, ...] = (1, 4, 16, 64)
    knot_sweep_horizon: int = 1000
    # Σ_k α_k, the same for every T, so L ≈ ½‖x0‖² e^(−2·total_step) neither underflows
    # at T = 10^4 nor differs in scale between horizons.
    total_step: float = 3.0
    # Timed calls per point after `warmup` untimed ones; the median is reported.
    repeats: int = 7
    warmup: int = 2
    # Fits of time use T >= fit_min_horizon: below it the ~0.1 ms call overhead dominates.
    fit_min_horizon: int = 100
    # The goal: the three agree, and match the closed form, to this (float64).
    rtol: float = 1e-8
    seed: int = 0

    def __post_init__(self):
        _check_name(self.name)
        for key in ("dim", "knots", "repeats", "knot_sweep_horizon", "fit_min_horizon"):
            require(getattr(self, key) >= 1, f"config key {key!r} must be >= 1, got {getattr(self, key)}")
        require(self.warmup >= 0, f"config key 'warmup' must be >= 0, got {self.warmup}")
        require(len(self.horizons) >= 1 and all(t >= 1 for t in self.horizons),
                f"config key 'horizons' must be a non-empty list of integers >= 1, got {list(self.horizons)}")
        require(all(k >= 1 for k in self.knot_sweep), f"config key 'knot_sweep' must be >= 1, got {list(self.knot_sweep)}")
        require(self.knots <= min(self.horizons),
                f"config key 'knots' ({self.knots}) must not exceed any horizon (K <= T)")
        require(all(k <= self.knot_sweep_horizon for k in self.knot_sweep),
                f"config key 'knot_sweep' must not exceed knot_sweep_horizon ({self.knot_sweep_horizon})")
        _check_methods(self.methods)
        require(self.total_step > 0, f"config key 'total_step' must be > 0, got {self.total_step}")
        require(self.total_step < min(self.horizons),
                f"config key 'total_step' ({self.total_step}) must be < the smallest horizon (every α_k < 1)")
        require(0 < self.rtol < 1, f"config key 'rtol' must be in (0, 1), got {self.rtol}")
        require(self.seed >= 0, f"config key 'seed' must be >= 0, got {self.seed}")


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """Tuning the schedule of T steps of logistic regression on held-out draws (lr_meta.training)."""

    study: Literal["training"] = "training"
    name: str = "lr_meta_training"
    # One draw: `samples` points of `features` features, variances over [1/condition, 1].
    features: int = 50
    samples: int = 200
    feature_condition: float = 100.0
    # λ sets μ and so κ of H(0) (about 140 here): large enough that schedules matter.
    l2: float = 1e-3
    train_draws: int = 8
    test_draws: int = 32
    horizons: tuple[int, ...] = (10, 30, 100, 300)
    # The few-parameter schedule (forward-mode hypergradient); per-step (K = T) uses
    # checkpointed reverse mode.
    knots: int = 4
    # Adam on θ = log-α knots, from the best constant step; the best θ on the training
    # draws is kept (Adam is not monotone).
    meta_steps: int = 300
    meta_lr: float = 0.05
    # Grids, in units of 1/λ_max(H(0)): constant α and α0 of α0/√(k + 1). H(w) along the
    # path falls far below H(0), so the best constant step lies well above 2/λ_max(H(0))
    # (a first run with the grid ending at 4 picked its edge); summary.json flags an edge.
    grid_low: float = 0.05
    grid_high: float = 16.0
    grid_points: int = 60
    # ‖∂L/∂θ‖ (per-step schedule) at constant α = m/λ_max(H(0)) for each m and T:
    # H(w) shrinks away from 0, so GD converges up to m ≈ 4 here, cycles at 6-12 and is
    # chaotic by 24 (measured while building this study).
    norm_horizons: tuple[int, ...] = (10, 30, 100, 300, 1000, 3000)
    norm_multiples: tuple[float, ...] = (1.0, 4.0, 8.0, 16.0, 24.0, 32.0)
    seed: int = 0

    def __post_init__(self):
        _check_name(self.name)
        for key in ("features", "samples", "train_draws", "test_draws", "knots", "meta_steps", "grid_points"):
            require(getattr(self, key) >= 1, f"config key {key!r} must be >= 1, got {getattr(self, key)}")
        for key in ("feature_condition",):
            require(getattr(self, key) >= 1, f"config key {key!r} must be >= 1, got {getattr(self, key)}")
        for key in ("l2", "meta_lr", "grid_low"):
            require(getattr(self, key) > 0, f"config key {key!r} must be > 0, got {getattr(self, key)}")
        require(self.grid_high > self.grid_low,
                f"config key 'grid_high' ({self.grid_high}) must be > grid_low ({self.grid_low})")
        for key in ("horizons", "norm_horizons"):
            values = getattr(self, key)
            require(len(values) >= 1 and all(t >= 1 for t in values),
                    f"config key {key!r} must be a non-empty list of integers >= 1, got {list(values)}")
        require(all(self.knots <= t for t in self.horizons),
                f"config key 'knots' ({self.knots}) must not exceed any horizon")
        require(all(m > 0 for m in self.norm_multiples),
                f"config key 'norm_multiples' must be > 0, got {list(self.norm_multiples)}")
        require(self.seed >= 0, f"config key 'seed' must be >= 0, got {self.seed}")


STUDIES = {"task": LRMetaConfig, "horizon": HorizonConfig, "training": TrainingConfig}


def _check_name(name: str) -> None:
    require(bool(name) and "/" not in name, "config key 'name' must be a non-empty name without '/'")


def _check_methods(methods) -> None:
    known = ("reverse", "checkpointed", "forward")
    require(len(methods) >= 1 and all(m in known for m in methods) and len(set(methods)) == len(methods),
            f"config key 'methods' must be distinct names from {', '.join(known)}, got {list(methods)}")


def study_of(path, overrides=()) -> str:
    """The `study` a config file (and `--set study=...`) names; "task" if none.

    Lenient on purpose: an unreadable file gives "task", and `load_config` then reports
    the real problem in one line.
    """
    study = "task"
    try:
        study = tomllib.loads(Path(path).read_text()).get("study", study) if path else study
    except (OSError, ValueError):
        pass
    for item in overrides:
        key, sep, value = item.partition("=")
        if sep and key.strip() == "study":
            study = value.strip().strip("\"'")
    return study


def load(path, overrides=()):
    """The config of the study the file names: LRMetaConfig, HorizonConfig or TrainingConfig."""
    study = study_of(path, overrides)
    require(isinstance(study, str) and study in STUDIES,
            f"config key 'study' must be one of {', '.join(map(repr, STUDIES))}, got {study!r}")
    return load_config(STUDIES[study], path, overrides)
