"""How meta-GD's outcome depends on β: the sweep, its curves, and the stability limit.

For f = ½‖x‖², one meta-step maps each p_k = 1 − α_k to p_k − 2βL/p_k (∂L/∂α_k =
−2L/p_k), so |p_k| shrinks iff β < p_k²/L = 1 / (c ∏_{j≠k} p_j²), c = ½‖x0‖². When
every |p_j| shrinks, each bound 1/(c∏_{j≠k}p_j²) grows, so the condition, once true for
all k, stays true at every later step; when every |p_k| grows, each bound falls and the
growth feeds itself. Hence (`stability_bounds`):

    β < β_lo = min_k p_k²/L(α0):  every |p_k| shrinks at every step, L falls monotonically;
    β > β_hi = max_k p_k²/L(α0):  every |p_k| grows at every step, meta-GD diverges;

in between it depends on the path. Both bounds scale as 1/c = 2/‖x0‖² ≈ 6/dim.
For β below about 2e-3 (dim 1000) meta-GD follows gradient flow, on which only the
meta-time β·t matters; the curves in beta_sweep_curves.csv show it.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pandas as pd

from lr_meta import meta_gd
from lr_meta.hypergrad import MODES

CURVE_POINTS = 100


def stability_bounds(alpha0: np.ndarray, x0: np.ndarray) -> dict[str, float]:
    """β_lo, β_hi of the module docstring at the start α0 (T,) for x0 (dim,)."""
    p2 = (1.0 - np.asarray(alpha0, np.float64)) ** 2
    c = 0.5 * float(np.asarray(x0, np.float64) @ np.asarray(x0, np.float64))
    loss0 = c * float(np.prod(p2))
    return {"beta_lo": float(p2.min() / loss0), "beta_hi": float(p2.max() / loss0), "c": c, "loss0": loss0}


def sweep(loss_fn, alpha0: np.ndarray, x0: np.ndarray, betas, steps: int, *, mode: str,
          divergence_factor: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Meta-GD from α0 for each β, float64 and float32.

    Returns:
      final: one row per (β, dtype): status, steps done, L and ‖∂L/∂α‖ at the end,
        distance to {α_k = 1}, and L after the first meta-step;
      curves: L every steps/CURVE_POINTS meta-steps (beta, dtype, step, meta_time = β·step, loss).
    """
    log_every = max(1, steps // CURVE_POINTS) if steps % CURVE_POINTS == 0 else steps
    finals, curves = [], []
    for dtype in ("float64", "float32"):
        a0, args = jnp.asarray(alpha0, dtype), (jnp.asarray(x0, dtype),)
        for beta in betas:
            traj = meta_gd.optimise(loss_fn, a0, args, beta=beta, steps=steps, log_every=log_every,
                                 chunk_rows=CURVE_POINTS, divergence_factor=divergence_factor, mode=mode)
            first = meta_gd.make_meta_step(loss_fn, beta, mode)(a0, *args)[0]
            alpha = traj.alphas[-1].astype(np.float64)
            finals.append({
                "beta": beta, "dtype": dtype, "status": "diverged" if traj.diverged else "ok",
                "steps": int(traj.steps[-1]), "loss": float(traj.losses[-1]),
                "grad_norm": float(traj.grad_norms[-1]),
                "distance_to_minimiser_set": float(np.min(np.abs(1.0 - alpha))),
                "loss_after_step_1": float(MODES[mode](loss_fn)(first, *args)[0]),
            })
            curves += [{"beta": beta, "dtype": dtype, "step": int(s), "meta_time": beta * int(s), "loss": float(l)}
                       for s, l in zip(traj.steps, traj.losses)]
    return pd.DataFrame(finals), pd.DataFrame(curves)
