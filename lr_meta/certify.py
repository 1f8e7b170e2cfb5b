"""Numerical evidence about a point α*: is it (locally) optimal for L?

`certificate` collects the standard local checks, each with its limits:
  * ‖∂L/∂α‖: first-order stationarity (small, but small relative to what?);
  * the eigenvalues of the T x T Hessian (`jax.hessian`): all > 0 proves a strict
    local minimum; zero eigenvalues leave the second-order test inconclusive;
  * perturbations: L(α* ± δ) − L(α*) over many random δ of one small norm, in
    antithetic pairs so that any first-order slope shows up as a decrease;
  * the gap to a global lower bound (L ≥ 0 here): the only check that certifies
    global optimality, and the one that works on this L's flat minimiser set.
For f = ½‖x‖², `sphere_report` adds what is known exactly: the minimiser set is the
union of the hyperplanes α_k = 1, the distance to it, and the certificate at the
nearest minimiser.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lr_meta import closed_form


@functools.lru_cache(maxsize=16)
def _compiled(loss_fn: Callable):
    # Jitted once per loss: op-by-op dispatch would compile every op of the unroll, and
    # the run certifies twice (α* and the nearest minimiser) with the same loss.
    return (jax.jit(jax.value_and_grad(loss_fn)), jax.jit(jax.hessian(loss_fn)),
            jax.jit(lambda alphas, *args: jax.vmap(lambda a: loss_fn(a, *args))(alphas)))


def certificate(
    loss_fn: Callable, alpha, args: tuple, *, lower_bound: float = 0.0, samples: int = 500,
    radius: float = 1e-3, seed: int = 0,
) -> dict[str, Any]:
    """First-order, second-order, perturbation and lower-bound evidence at α.

    Args:
      loss_fn: (alpha, *args) -> L.
      alpha: (T,) the point to certify.
      args: the loss's other arguments.
      lower_bound: a proven global lower bound of L (0 for f(x_T) with f ≥ 0).
      samples: antithetic pairs ±δ to try (2·samples evaluations).
      radius: ‖δ‖ of every perturbation.
      seed: for the perturbation directions.

    Returns:
      JSON-able dict; eigenvalues ascending, with counts of negative / numerically
      zero / positive ones, zero meaning |λ| ≤ 100·T·ε·‖H‖ (the Hessian's rounding).
    """
    alpha = jnp.asarray(alpha)
    value_and_grad, hessian, batched = _compiled(loss_fn)
    value, grad = value_and_grad(alpha, *args)
    hess = np.asarray(hessian(alpha, *args), np.float64)
    eig = np.linalg.eigvalsh(0.5 * (hess + hess.T))
    scale = float(np.max(np.abs(eig)))
    tol = 100 * alpha.size * np.finfo(np.asarray(alpha).dtype).eps * scale

    rng = np.random.default_rng(seed)
    u = rng.standard_normal((samples, alpha.size))
    delta = radius * u / np.linalg.norm(u, axis=1, keepdims=True)
    delta = np.concatenate([delta, -delta]).astype(np.asarray(alpha).dtype)
    perturbed = batched(alpha + delta, *args)
    change = np.asarray(perturbed, np.float64) - float(value)

    value = float(value)
    return {
        "loss": value,
        "grad_norm": float(jnp.linalg.norm(grad)),
        "grad": np.asarray(grad, np.float64).tolist(),
        "hessian_eigenvalues": eig.tolist(),
        "hessian_zero_tol": tol,
        "hessian_negative": int(np.sum(eig < -tol)),
        "hessian_zero": int(np.sum(np.abs(eig) <= tol)),
        "hessian_positive": int(np.sum(eig > tol)),
        "perturbation": {
            "radius": radius,
            "evaluations": int(change.size),
            "lower": int(np.sum(change < 0)),
            "min_change": float(np.min(change)),
            "max_change": float(np.max(change)),
            "holds": bool(np.all(change >= 0)),
        },
        "lower_bound": lower_bound,
        "gap_to_lower_bound": value - lower_bound,
    }


def sphere_report(alpha: np.ndarray, x0: np.ndarray, **certificate_kwargs) -> dict[str, Any]:
    """What is known exactly for f = ½‖x‖² near α: minimiser set, limit, nearest minimiser.

    Args:
      alpha: (T,) point reached by meta-GD.
      x0: (dim,) the inner problem's start.
      **certificate_kwargs: passed to `certificate` at the nearest minimiser.

    Returns:
      JSON-able dict: distance to {α : some α_k = 1}, which hyperplane, the nearest
      minimiser α̂ (α with that α_m set to 1), the closed-form Hessian eigenvalues
      predicted there ({2c∏_{k≠m}(1 − α_k)², 0 x (T−1)}), the certificate at α̂, and
      the gradient-flow limit from α (`closed_form.gradient_flow_limit`).
    """
    from lr_meta.problem import unrolled_loss

    alpha = np.asarray(alpha, np.float64)
    x0 = np.asarray(x0, np.float64)
    m = int(np.argmin(np.abs(1.0 - alpha)))
    nearest = alpha.copy()
    nearest[m] = 1.0
    c = 0.5 * float(x0 @ x0)
    predicted = np.zeros(alpha.size)
    predicted[-1] = 2 * c * float(np.prod(np.delete(1.0 - alpha, m) ** 2))
    limit = closed_form.gradient_flow_limit(alpha)
    # At the flow's limit the Hessian is diag(.., 2c∏_{k≠m}(1 − α_k)², ..): that one
    # curvature sets the final, linear rate of approach, 1 − 2β·(it) per step.
    limit_curvature = 2 * c * float(np.prod(np.delete(1.0 - limit, int(np.argmin(np.abs(1.0 - limit)))) ** 2))
    return {
        "distance_to_minimiser_set": float(np.abs(1.0 - alpha[m])),
        "nearest_hyperplane": m,
        "nearest_minimiser": nearest.tolist(),
        "predicted_hessian_eigenvalues_there": np.sort(predicted).tolist(),
        "certificate_at_nearest_minimiser": certificate(
            unrolled_loss, nearest, (jnp.asarray(x0),), **certificate_kwargs
        ),
        "gradient_flow_limit": limit.tolist(),
        "hessian_top_eigenvalue_at_flow_limit": limit_curvature,
    }
