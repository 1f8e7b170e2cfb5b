"""The trace of a matrix-free operator, with an interval: Hutchinson, Hutch++ and XTrace.

    >>> import jax, jax.numpy as jnp
    >>> from secondorder.operators import dense_operator
    >>> op = dense_operator(jnp.diag(jnp.linspace(0.0, 2.0, 500)))   # trace 500
    >>> est = trace_estimate(op, key=jax.random.key(0), num_matvecs=60)
    >>> bool(est.low <= 500.0 <= est.high)
    True

| method     | estimate with m products                                    | error (PSD, λ_i ~ 1/i) |
|------------|-------------------------------------------------------------|------------------------|
| hutchinson | mean of vᵀMv over m Rademacher v                            | ∝ m^-1/2 (variance 2(‖M‖_F² − Σ M_ii²)/m) |
| hutchpp    | tr(QᵀMQ) on a sketch of m/3, Hutchinson on the rest (m/3)   | ∝ m^-1                 |
| xtrace     | XTrace: exchangeable leave-one-out Hutch++ on m/2 Gaussians | ∝ m^-1, smaller constant |

Each spends m products (XTrace: m rounded down to even; with m/2 >= P, matfree forms the
whole matrix, the estimate is exact and its interval has zero width). Hutchinson and XTrace come from matfree
(`matfree.stochtrace`, with its standard errors); matfree has no Hutch++, so it is
written here (Meyer, Musco, Musco, Woodruff, "Hutch++: Optimal Stochastic Trace
Estimation", SOSA 2021, https://arxiv.org/abs/2010.09649, Algorithm 1; its standard
error is that of its Hutchinson part, the sketched part being exact). XTrace: Epperly,
Tropp, Webber, "XTrace: Making the most of every sample in stochastic trace estimation",
SIMAX 2024, https://arxiv.org/abs/2301.07825.

The interval is the estimate ± a Student-t quantile (n − 1 degrees of freedom, n the
samples behind the standard error) times the standard error. For Hutchinson and Hutch++
it is a confidence interval at the stated level (tests/secondorder/test_trace.py holds
the coverage of 600 intervals at 95% to 92.5-97.5%; it runs a little low on fast-decaying
spectra, whose estimates are skewed). XTrace's standard error (matfree's, from its
leave-one-out estimates, which share most of their sketch) misses the error common to
them, and its intervals cover less often than they say (the same test: under 92.5%), so
it is an indication, not a confidence interval. Hence the default, Hutch++: XTrace is the
more accurate estimate per product, Hutch++ the one whose interval means what it says.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from matfree import stochtrace

from secondorder.operators import Operator

Array = jax.Array
TraceMethod = Literal["hutchinson", "hutchpp", "xtrace"]
METHODS: tuple[str, ...] = ("hutchinson", "hutchpp", "xtrace")


def _like(op: Operator) -> Array:
    # matfree's samplers read shape and dtype from an example vector.
    return jnp.zeros((op.size,), op.dtype)


def hutchinson(op: Operator, key: Array, num_matvecs: int) -> tuple[Array, Array]:
    """Hutchinson's estimator with Rademacher probes: (mean of vᵀMv over m probes, its standard error)."""
    sampler = stochtrace.sampler_signs(_like(op), num=num_matvecs)
    mean, sem = stochtrace.estimator_monte_carlo_mean_and_sem(stochtrace.monte_carlo_trace(), sampler)(op.matvec, key)
    return mean, sem * jnp.sqrt(num_matvecs / (num_matvecs - 1))  # matfree's std has no Bessel correction


def hutchpp(op: Operator, key: Array, num_matvecs: int) -> tuple[Array, Array]:
    """Hutch++: exact trace on the range of M S (S: m/3 Rademacher columns), Hutchinson on the rest.

    Products: m/3 for M S, m/3 for M Q, and the remaining m − 2m/3 for the deflated
    Hutchinson part. Unbiased; exact when rank(M) <= m/3. Returns (estimate, standard error).
    """
    sketch = num_matvecs // 3
    k_sketch, k_probe = jax.random.split(key)
    s = jax.random.rademacher(k_sketch, (sketch, op.size), dtype=op.dtype)
    g = jax.random.rademacher(k_probe, (num_matvecs - 2 * sketch, op.size), dtype=op.dtype)
    q, _ = jnp.linalg.qr(op.matmat(s).T)  # (P, m/3): an orthonormal basis of range(M S)
    low_rank = jnp.sum(q * op.matmat(q.T).T)  # tr(Qᵀ M Q)
    g = g - (g @ q) @ q.T  # probes projected onto the complement of range(Q)
    products = g * op.matmat(g)
    samples = jnp.sum(products, axis=1)  # gᵀ M g of each probe
    return low_rank + jnp.sum(products) / g.shape[0], jnp.std(samples, ddof=1) / jnp.sqrt(g.shape[0])


def xtrace(op: Operator, key: Array, num_matvecs: int, resphering: bool = True) -> tuple[Array, Array]:
    """XTrace (matfree) with m/2 Gaussian test vectors, m products in all: (estimate, standard error).

    Args:
      resphering: matfree's resphering of the test vectors (XTrace's own step; off: the plain leave-one-out form).
    """
    sampler = stochtrace.sampler_normal(_like(op), num=num_matvecs // 2)
    estimate = stochtrace.estimator_leave_one_out_mean_and_sem(
        stochtrace.leave_one_out_xtrace(apply_resphering=resphering), sampler)
    return estimate(op.matvec, key)


ESTIMATORS: dict[str, Callable[[Operator, Array, int], tuple[Array, Array]]] = {
    "hutchinson": hutchinson, "hutchpp": hutchpp, "xtrace": xtrace}


def samples_behind_error(method: str, num_matvecs: int) -> int:
    """How many samples the standard error of `method` is computed from (its t's degrees of freedom + 1)."""
    return {"hutchinson": num_matvecs, "hutchpp": num_matvecs - 2 * (num_matvecs // 3),
            "xtrace": num_matvecs // 2}[method]


class TraceEstimate(NamedTuple):
    """A trace estimate with its interval. Arrays, so it can be returned from `jax.jit`.

    Attributes: estimate, stderr (its standard error), low and high (the interval), and
    level (the interval's confidence level).
    """

    estimate: Array
    stderr: Array
    low: Array
    high: Array
    level: float


def trace_estimate(op: Operator, *, key: Array, num_matvecs: int = 60, method: TraceMethod = "hutchpp",
                   level: float = 0.95) -> TraceEstimate:
    """The trace of `op` from `num_matvecs` products, with a `level` confidence interval. Jittable.

    Args:
      op: a symmetric operator, e.g. `hessian_operator(loss, params, *data)`.
      key: a PRNG key (either style).
      num_matvecs: products to spend (at least 6: Hutch++ and XTrace split them).
      method: "hutchpp" (the default: accurate, and its interval covers), "xtrace" (the
        most accurate per product; its interval under-covers, see above) or "hutchinson".
      level: the interval's confidence level.
    """
    if method not in ESTIMATORS:
        raise ValueError(f"method must be one of {', '.join(ESTIMATORS)}, got {method!r}")
    if num_matvecs < 6:
        raise ValueError(f"num_matvecs must be at least 6, got {num_matvecs}")
    from scipy import stats  # a Python float, fixed before tracing

    estimate, stderr = ESTIMATORS[method](op, key, num_matvecs)
    t = float(stats.t.ppf(0.5 + level / 2, samples_behind_error(method, num_matvecs) - 1))
    return TraceEstimate(estimate, stderr, estimate - t * stderr, estimate + t * stderr, level)


def hutchinson_variance(matrix, diagonal=None) -> float:
    """The exact variance of one Rademacher probe's vᵀMv: 2(‖M‖_F² − Σ M_ii²). matrix: (P, P) NumPy.

    The witness for Hutchinson's error: its mean squared error with m probes is this / m.
    """
    matrix = np.asarray(matrix)
    diagonal = np.diag(matrix) if diagonal is None else np.asarray(diagonal)
    return float(2.0 * (np.linalg.norm(matrix) ** 2 - diagonal @ diagonal))

