"""The trained-network study's units: at one checkpoint, one matrix, the exact answer or one estimator.

The witness is kept apart from what it checks (curvature.exact): the exact spectrum,
trace and diagonal come from the dense matrix (built column by column from products with
unit vectors, secondorder.dense) and NumPy's LAPACK `eigvalsh`; the estimators are the
library's (secondorder) and see only the matrix-free operator. Each function returns
plain rows; curvature/trained_run.py writes them.

Random keys derive from the config's seed, the checkpoint, the matrix, the estimator
and the repetition, so a resumed run draws exactly the probes the uninterrupted one
would have. Call everything under `jax.enable_x64(True)`.
"""

from __future__ import annotations

import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from curvature.classifier import Classifier, operator
from curvature.digits import Split
from curvature.exact import exact_spectrum
from curvature.repetitions import diag_repetitions, trace_repetitions, with_columns
from curvature.routes import Compiled, compile_route, study_key
from curvature.trained_config import DIAG_ESTIMATORS, MATRICES, TRACE_ESTIMATORS
from secondorder import density, diagonal, lanczos, trace
from secondorder.dense import dense_matrix
from secondorder.operators import data_mesh, shard_batch

SPECTRUM_COLUMNS = ["index", "eigenvalue", "diagonal"]
EIGEN_COLUMNS = ["checkpoint", "matrix", "which", "rank", "hvps", "value", "exact", "rel_error",
                 "scale_error", "residual"]
TRACE_COLUMNS = ["checkpoint", "matrix", "estimator", "hvps", "rep", "estimate", "own_sem", "exact", "seconds"]
DIAG_COLUMNS = ["checkpoint", "matrix", "estimator", "hvps", "rep", "rel_error", "max_abs_error", "seconds"]
SLQ_COLUMNS = ["method", "probe", "node", "weight"]


class Setup:
    """The model, the sharded training data and the compiled routes, shared by every unit."""

    def __init__(self, config, split: Split):
        self.config = config
        self.net = Classifier(config.sizes)
        self.data = shard_batch((jnp.asarray(split.x_train), jnp.asarray(split.y_train)), data_mesh(config.devices))
        self._cache: dict[tuple, Compiled] = {}

    def route(self, name: str, matrix: str, fn, params, *args):
        """`fn(operator, *args)` on `matrix` at `params`, compiled once per (name, matrix) for every checkpoint."""
        key = (name, matrix)
        if key not in self._cache:
            def make_operator(params, x, y):
                return operator(self.net, matrix, params, x, y)

            self._cache[key] = compile_route(make_operator, fn, self.data, params, *args, bind_params=False)
        return self._cache[key](params, *args)

    def dense(self, matrix: str, params) -> np.ndarray:
        return np.asarray(self.route("dense", matrix, lambda op: dense_matrix(op, self.config.hessian_block), params),
                          np.float64)

    def product(self, matrix: str, params, v) -> np.ndarray:
        """One product M v, not vmapped: the witness for the blocked dense matrix."""
        return np.asarray(self.route("single", matrix, lambda op, v: op.matvec(v), params, v), np.float64)


def _key(config, *path: int) -> jax.Array:
    return study_key(config.seed, *path)


def _start(setup: Setup, ci: int, matrix: str) -> jax.Array:
    """The Lanczos start vector at checkpoint `ci` for `matrix` (the same for Lanczos and deflation)."""
    return jax.random.normal(_key(setup.config, 3, ci, MATRICES.index(matrix)), (setup.net.size,), jnp.float64)


def exact(setup: Setup, params, ci: int, matrix: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The dense matrix's eigenvalues (ascending) and diagonal, and facts about it and its checks."""
    config = setup.config
    params = jnp.asarray(params)
    start = time.perf_counter()
    m = setup.dense(matrix, params)
    built = time.perf_counter() - start
    v = np.asarray(jax.random.normal(_key(config, 5, ci), (m.shape[0],), jnp.float64))
    single = setup.product(matrix, params, jnp.asarray(v))
    start = time.perf_counter()
    arrays, facts = exact_spectrum(m)
    solved = time.perf_counter() - start
    ev = arrays["eigenvalue"]
    scale = float(np.abs(ev).max())
    band = config.negative_band * scale
    facts.update({
        # Below -band: negative curvature that is not round-off of a zero.
        "negative_fraction": float(np.mean(ev < -band)), "positive_fraction": float(np.mean(ev > band)),
        "near_zero_fraction": float(np.mean(np.abs(ev) <= 1e-10 * scale)),
        # The dense matrix against one (not vmapped) product.
        "dense_vs_single_product": float(np.linalg.norm(m @ v - single) / np.linalg.norm(single)),
        "build_s": round(built, 2), "eigvalsh_s": round(solved, 2),
    })
    return arrays, facts


def lanczos_rows(setup: Setup, params, ci: int, name: str, matrix: str, eigenvalues: np.ndarray) -> list[dict]:
    """The top-k and bottom-k Ritz values after `lanczos_steps` steps against the exact eigenvalues."""
    config, k = setup.config, setup.config.top_k
    values, _, residuals = (np.asarray(a, np.float64) for a in setup.route(
        "ritz", matrix, lambda op, v0: lanczos.ritz_pairs(op, v0, config.lanczos_steps), jnp.asarray(params),
        _start(setup, ci, matrix)))
    ev = np.asarray(eigenvalues)
    scale = np.abs(ev).max()
    rows = []
    for which, found, res, truth in (("top", values[::-1][:k], residuals[::-1][:k], ev[::-1][:k]),
                                     ("bottom", values[:k], residuals[:k], ev[:k])):
        for r in range(k):
            rows.append({"checkpoint": name, "matrix": matrix, "which": which, "rank": r + 1,
                         "hvps": config.lanczos_steps, "value": float(found[r]), "exact": float(truth[r]),
                         "rel_error": float(abs(found[r] - truth[r]) / abs(truth[r])),
                         "scale_error": float(abs(found[r] - truth[r]) / scale), "residual": float(res[r])})
    return rows


# What each repeated estimate is: (key path prefix, library estimators, their names in the
# config (fixing the keys), budget and repetitions in the config, rows, columns).
_REPEATED = {
    "trace": (1, trace.ESTIMATORS, TRACE_ESTIMATORS, "trace_hvps", "trace_reps", trace_repetitions, TRACE_COLUMNS),
    "diag": (2, diagonal.ESTIMATORS, DIAG_ESTIMATORS, "diag_hvps", "diag_reps", diag_repetitions, DIAG_COLUMNS),
}


def _repeated(kind: str, setup: Setup, params, ci: int, name: str, matrix: str, estimator: str, exact) -> list[dict]:
    path, estimators, names, budget, reps, repetitions, columns = _REPEATED[kind]
    config, params = setup.config, jnp.asarray(params)
    m = getattr(config, budget)
    keys = [_key(config, path, ci, MATRICES.index(matrix), names.index(estimator), rep)
            for rep in range(getattr(config, reps))]

    def run(key):
        return setup.route(f"{kind}_{estimator}", matrix, lambda op, key: estimators[estimator](op, key, m),
                           params, key)

    return with_columns(repetitions(run, keys, exact), columns, checkpoint=name, matrix=matrix, estimator=estimator,
                        hvps=m)


def trace_rows(setup: Setup, params, ci: int, name: str, matrix: str, estimator: str, exact_trace: float) -> list[dict]:
    """`trace_reps` independent estimates by one estimator, `trace_hvps` products each, with their own standard errors."""
    return _repeated("trace", setup, params, ci, name, matrix, estimator, exact_trace)


def diag_rows(setup: Setup, params, ci: int, name: str, matrix: str, estimator: str, exact_diag: np.ndarray) -> list[dict]:
    """`diag_reps` estimates of the diagonal: relative 2-norm error and largest entry error."""
    return _repeated("diag", setup, params, ci, name, matrix, estimator, exact_diag)


def slq_measures(setup: Setup, params, ci: int, matrix: str) -> tuple[list[dict], dict[str, Any]]:
    """Plain and deflated SLQ from the same probes: rows (method, probe, node, weight) and facts.

    Each method's weights sum to 1 over its rows (the estimated spectral measure). The
    deflated method's exact Ritz pairs are the rows with probe = -1.
    """
    config, params = setup.config, jnp.asarray(params)
    probes = jax.random.rademacher(_key(config, 4, ci, MATRICES.index(matrix)), (config.slq_probes, setup.net.size),
                                   dtype=jnp.float64)
    start = time.perf_counter()
    plain = setup.route("slq", matrix, lambda op, v: density.slq(op, v, config.slq_steps), params, probes)
    rows = _rows("slq", plain)
    facts: dict[str, Any] = {"slq_s": round(time.perf_counter() - start, 2), "deflated": 0}
    if config.deflate:
        start = time.perf_counter()
        deflated = setup.route("deflated_slq", matrix, lambda op, v, v0: density.deflated_slq(
            op, v, v0, config.slq_steps, config.deflate, config.lanczos_steps, config.deflate_tol),
            params, probes, _start(setup, ci, matrix))
        d = int(np.sum((np.asarray(deflated.probe) == -1) & (np.asarray(deflated.weights) > 0)))
        rows += _rows("deflated", deflated)
        facts.update(deflated=d, deflated_max_residual=float(deflated.max_residual),
                     deflated_slq_s=round(time.perf_counter() - start, 2))
    return rows, facts


def _rows(method: str, measure: density.SpectralDensity) -> list[dict]:
    """The measure's points as rows, less the padding of deflated Ritz values that were not accepted."""
    return [{"method": method, "probe": int(p), "node": float(x), "weight": float(w)}
            for p, x, w in zip(np.asarray(measure.probe), np.asarray(measure.nodes, np.float64),
                               np.asarray(measure.weights, np.float64)) if p >= 0 or w > 0]
