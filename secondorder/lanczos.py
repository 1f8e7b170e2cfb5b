"""Extreme eigenvalues from matrix-vector products: Lanczos with full reorthogonalisation, and power iteration.

    >>> import jax, jax.numpy as jnp
    >>> from secondorder.operators import dense_operator
    >>> op = dense_operator(jnp.diag(jnp.arange(1.0, 101.0)))
    >>> top_eigenvalues(op, 3, key=jax.random.key(0)).round(6).tolist()
    [100.0, 99.0, 98.0]

Lanczos is matfree's `decomp.tridiag_sym` (reortho="full": each new Krylov vector is
orthogonalised twice against all earlier ones, O(P k) extra work per step, which keeps
the Ritz values free of the spurious copies plain Lanczos produces once an eigenvalue
has converged). k steps cost k products and give a k x k tridiagonal T whose eigenvalues,
the Ritz values, approximate both ends of the spectrum at once. The leading j x j block
of T is what j steps would have produced, so one run gives the whole convergence history
(`ritz_history`).

Power iteration is the baseline PyHessian uses: it finds only the eigenvalue of largest
magnitude, at the rate |λ2/λ1| per product.
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from matfree import decomp

from secondorder.operators import Operator

Array = jax.Array


def lanczos(op: Operator, v0: Array, num_steps: int) -> tuple[Array, Array]:
    """`num_steps` Lanczos steps from v0 (any scale): the tridiagonal T as (diag (k,), offdiag (k-1,))."""
    tridiag = decomp.tridiag_sym(num_steps, reortho="full", materialize=False, custom_vjp=False)
    return tridiag(op.matvec, v0).J_small


def tridiagonal(diag: Array, offdiag: Array) -> Array:
    """The dense (k, k) symmetric tridiagonal matrix."""
    return jnp.diag(diag) + jnp.diag(offdiag, 1) + jnp.diag(offdiag, -1)


def ritz_values(op: Operator, v0: Array, num_steps: int) -> Array:
    """All Ritz values after `num_steps` Lanczos steps from v0, ascending: (num_steps,)."""
    return jnp.linalg.eigvalsh(tridiagonal(*lanczos(op, v0, num_steps)))


def ritz_pairs(op: Operator, v0: Array, num_steps: int) -> tuple[Array, Array, Array]:
    """All Ritz pairs after `num_steps` Lanczos steps from v0.

    Returns:
      (values (k,) ascending, vectors (k, P) orthonormal rows, residuals (k,)), where
      residual j = ‖M y_j − θ_j y_j‖ = β_k |s_kj| (the Lanczos identity).
    """
    tridiag = decomp.tridiag_sym(num_steps, reortho="full", materialize=False, custom_vjp=False)
    result = tridiag(op.matvec, v0)
    values, s = jnp.linalg.eigh(tridiagonal(*result.J_small))
    basis = jnp.asarray(result.Q_tall).reshape(num_steps, -1)  # (k, P), the Lanczos vectors as rows
    residuals = jnp.linalg.norm(result.residual) * jnp.abs(s[-1, :])
    return values, s.T @ basis, residuals


def default_steps(k: int, size: int) -> int:
    """Lanczos steps enough for k well-separated extreme eigenvalues to converge: 2k + 30, at most P."""
    return min(size, 2 * k + 30)


def top_eigenvalues(op: Operator, k: int, *, key: Array, num_steps: int | None = None,
                    which: Literal["largest", "smallest"] = "largest") -> Array:
    """The k largest (or smallest) eigenvalues by Lanczos from a random start. Jittable.

    Args:
      op: a symmetric operator, e.g. `hessian_operator(loss, params, *data)`.
      k: how many.
      key: a PRNG key (either style) for the start vector.
      num_steps: Lanczos steps, each one product (default `default_steps(k, P)`); more
        steps converge further into the spectrum.
      which: "largest" (descending) or "smallest" (ascending).
    Returns:
      (k,), the most extreme first.
    """
    steps = num_steps or default_steps(k, op.size)
    if not k <= steps <= op.size:
        raise ValueError(f"need k <= num_steps <= P, got k = {k}, num_steps = {steps}, P = {op.size}")
    ritz = ritz_values(op, jax.random.normal(key, (op.size,), op.dtype), steps)
    if which == "largest":
        return ritz[::-1][:k]
    if which == "smallest":
        return ritz[:k]
    raise ValueError(f"which must be 'largest' or 'smallest', got {which!r}")


def ritz_history(diag: np.ndarray, offdiag: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k and bottom-k Ritz values after every step j = 1..steps (NumPy, float64).

    Returns:
      (top, bottom), each (steps, k) ascending, NaN where j < k.
    """
    diag, offdiag = np.asarray(diag, np.float64), np.asarray(offdiag, np.float64)
    steps = len(diag)
    top, bottom = np.full((steps, k), np.nan), np.full((steps, k), np.nan)
    for j in range(1, steps + 1):
        t = np.diag(diag[:j]) + np.diag(offdiag[: j - 1], 1) + np.diag(offdiag[: j - 1], -1)
        ritz = np.linalg.eigvalsh(t)
        m = min(k, j)
        top[j - 1, k - m:], bottom[j - 1, :m] = ritz[-m:], ritz[:m]
    return top, bottom


def power_iteration(op: Operator, v0: Array, num_steps: int) -> Array:
    """Rayleigh quotients vᵀMv of the normalised iterates: (num_steps,); entry i has used i + 1 products.

    Converges to the eigenvalue of largest magnitude (with its sign).
    """
    def step(v, _):
        hv = op.matvec(v)
        return hv / jnp.linalg.norm(hv), jnp.vdot(v, hv)

    _, quotients = jax.lax.scan(step, v0 / jnp.linalg.norm(v0), None, length=num_steps)
    return quotients
