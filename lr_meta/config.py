"""The configuration of one lr_meta run: a frozen dataclass loaded by `expkit.config.load_config`.

Keys, defaults and why are below; `load_config(LRMetaConfig, path, overrides)` rejects
unknown keys and wrong types, `__post_init__` rejects impossible values, each with a
one-line `ConfigError` naming the key.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from expkit.config import require


@dataclasses.dataclass(frozen=True)
class LRMetaConfig:
    """Meta-GD on the step sizes of T gradient steps on ½‖x‖², plus the quadratic study."""

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
