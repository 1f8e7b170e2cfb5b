"""Beyond the task: f(x) = ½xᵀAx with a chosen spectrum, learned vs classical schedules.

A = diag(λ) with λ in [μ, L] = [1/κ, 1]: gradient descent is rotation invariant, so a
diagonal A loses nothing against A = QΛQᵀ (x0 would just be rotated too); only the
spectrum and the weights of x0 on it matter. After T steps x_T = P(A) x0 with the
residual polynomial P(λ) = ∏(1 − α_k λ), P(0) = 1, so choosing α is choosing P's roots
1/α_k. The schedules compared:
  * constant 1/L and 2/(μ + L): the textbook steps (safe; optimal one-step contraction);
  * Chebyshev: roots at the Chebyshev nodes of [μ, L], the best worst-case P over
    the interval, whatever x0;
  * CG: conjugate gradients minimises f(x_T) = ½‖x_T‖²_A over x0 + K_T(A, r0), i.e.
    over all P of degree ≤ T with P(0) = 1, for this x0. Its P has real roots, the Ritz
    values θ_i (eigenvalues of the Lanczos tridiagonal built from CG's coefficients),
    so GD with α = 1/θ_i reaches CG's x_T: the best any T-step schedule can do, a
    global lower bound for every learned schedule;
  * learned: meta-GD on α as in the task.
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from lr_meta.problem import unrolled_loss, unrolled_values


def spectrum(dim: int, condition: float, kind: Literal["linspace", "geomspace"] = "linspace") -> np.ndarray:
    """Eigenvalues in [1/condition, 1], both ends included, ascending: (dim,)."""
    space = np.linspace if kind == "linspace" else np.geomspace
    return space(1.0 / condition, 1.0, dim)


def _f(eigs):
    return lambda x: 0.5 * jnp.sum(eigs * x**2)


def quadratic_loss(alpha, x0, eigs):
    """L(α) = f(x_T) for f = ½ Σ λ_i x_i². alpha (T,), x0 (dim,), eigs (dim,) -> scalar."""
    return unrolled_loss(alpha, x0, f=_f(eigs))


@jax.jit
def quadratic_values(alpha, x0, eigs):
    """f(x_k), k = 0..T: (T + 1,)."""
    return unrolled_values(alpha, x0, f=_f(eigs))


def chebyshev_steps(mu: float, lipschitz: float, horizon: int) -> np.ndarray:
    """1 / (Chebyshev nodes of [μ, L]), smallest step first: (horizon,)."""
    i = np.arange(1, horizon + 1)
    nodes = (lipschitz + mu) / 2 + (lipschitz - mu) / 2 * np.cos((2 * i - 1) * np.pi / (2 * horizon))
    return 1.0 / nodes


def conjugate_gradient(eigs: np.ndarray, x0: np.ndarray, horizon: int):
    """Plain CG on A x = 0, A = diag(eigs), from x0, float64.

    Returns:
      iterates (horizon + 1, dim), step lengths a_k (horizon,), and the ratios
      b_k = ‖r_{k+1}‖² / ‖r_k‖² (horizon,).
    """
    eigs, x = np.asarray(eigs, np.float64), np.asarray(x0, np.float64).copy()
    r = -eigs * x
    d = r.copy()
    iterates, a_s, b_s = [x.copy()], [], []
    for _ in range(horizon):
        ad = eigs * d
        a = (r @ r) / (d @ ad)
        x = x + a * d
        r_new = r - a * ad
        b = (r_new @ r_new) / (r @ r)
        d = r_new + b * d
        r = r_new
        iterates.append(x.copy())
        a_s.append(a)
        b_s.append(b)
    return np.array(iterates), np.array(a_s), np.array(b_s)


def ritz_values(cg_a: np.ndarray, cg_b: np.ndarray) -> np.ndarray:
    """Eigenvalues of the Lanczos matrix T_k from CG's coefficients, ascending: (k,).

    T_k is tridiagonal with diagonal 1/a_0, 1/a_j + b_{j-1}/a_{j-1} and off-diagonal
    √b_j / a_j (Saad, Iterative Methods, §6.7.3); its eigenvalues are the roots of
    CG's residual polynomial.
    """
    k = cg_a.size
    diag = 1.0 / cg_a
    diag[1:] += cg_b[:-1] / cg_a[:-1]
    off = np.sqrt(cg_b[:-1]) / cg_a[:-1]
    tri = np.diag(diag) + np.diag(off, 1) + np.diag(off, -1)
    return np.linalg.eigvalsh(tri) if k else np.array([])


def cg_steps(eigs: np.ndarray, x0: np.ndarray, horizon: int) -> np.ndarray:
    """The optimal T-step schedule for this x0: 1 / Ritz values, smallest step first."""
    _, a, b = conjugate_gradient(eigs, x0, horizon)
    return 1.0 / ritz_values(a, b)[::-1]


def compare_schedules(
    eigs: np.ndarray, x0: np.ndarray, schedules: dict[str, np.ndarray]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """f(x_T) and the curve f(x_k) for each schedule, next to CG.

    Args:
      eigs: (dim,) spectrum; μ, L are its ends.
      x0: (dim,) start.
      schedules: name -> (T,) step sizes (the learned and initial ones); the classical
        ones are added here.

    Returns:
      table: one row per schedule: schedule, loss (f(x_T)), ratio_to_optimal,
        worst_case_factor (max over the spectrum of P(λ)²: f(x_T) ≤ factor · f(x0) for
        every x0, with equality for x0 on the worst eigenvector), alpha_k;
      curves: column k and one column of f(x_k) per schedule plus "CG iterates".
    """
    horizon = len(next(iter(schedules.values())))
    mu, lip = float(eigs[0]), float(eigs[-1])
    all_schedules = {
        "constant 1/L": np.full(horizon, 1.0 / lip),
        "constant 2/(mu+L)": np.full(horizon, 2.0 / (mu + lip)),
        "Chebyshev": chebyshev_steps(mu, lip, horizon),
        "CG (1/Ritz values)": cg_steps(eigs, x0, horizon),
        **schedules,
    }
    iterates, _, _ = conjugate_gradient(eigs, x0, horizon)
    cg_curve = 0.5 * np.sum(eigs * iterates**2, axis=1)
    curves = {"k": np.arange(horizon + 1), "CG iterates": cg_curve}
    rows = []
    for name, alpha in all_schedules.items():
        values = np.asarray(quadratic_values(jnp.asarray(alpha), jnp.asarray(x0), jnp.asarray(eigs)))
        curves[name] = values
        poly = np.prod(1.0 - np.outer(alpha, eigs), axis=0)
        rows.append({"schedule": name, "loss": float(values[-1]),
                     "ratio_to_optimal": float(values[-1] / cg_curve[-1]),
                     "worst_case_factor": float(np.max(poly**2)),
                     **{f"alpha_{k}": float(a) for k, a in enumerate(alpha)}})
    return pd.DataFrame(rows), pd.DataFrame(curves)
