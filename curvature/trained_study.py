"""The trained-network study's units: at one checkpoint, one matrix, the exact answer or one estimator.

The witness is kept apart from what it checks: the exact spectrum, trace and diagonal
come from the dense matrix (built column by column from products with unit vectors)
and NumPy's LAPACK `eigvalsh`; the estimators see only the matrix-free operator. Each
function returns plain rows; curvature/trained_run.py writes them.

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
from matfree import stochtrace

from curvature import density, diagonal, trace
from curvature.classifier import Classifier, dense_matrix, make_products, operator
from curvature.deflation import deflated_quadrature, ritz_pairs
from curvature.digits import Split
from curvature.trained_config import DIAG_ESTIMATORS, MATRICES, TRACE_ESTIMATORS
from secondorder.operator import data_mesh, place_batch

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
        mesh = data_mesh(config.devices)
        self.x, self.y = (place_batch(jnp.asarray(a), mesh) for a in (split.x_train, split.y_train))
        self.products = make_products(self.net, len(split.y_train), mesh)
        self._cache: dict[tuple, Any] = {}

    def route(self, name: str, matrix: str, fn):
        """`fn(operator, *args)` jitted as a function of (params, *args); compiled once per (name, matrix)."""
        key = (name, matrix)
        if key not in self._cache:
            product = self.products[matrix]
            self._cache[key] = jax.jit(lambda params, x, y, *args: fn(operator(product, params, x, y), *args))
        compiled = self._cache[key]
        return lambda params, *args: compiled(params, self.x, self.y, *args)

    def dense(self, matrix: str, params) -> np.ndarray:
        key = ("dense", matrix)
        if key not in self._cache:
            product, block = self.products[matrix], self.config.hessian_block
            self._cache[key] = jax.jit(lambda params, x, y: dense_matrix(product, params, x, y, block))
        return np.asarray(self._cache[key](params, self.x, self.y), np.float64)

    def product(self, matrix: str, params, v) -> np.ndarray:
        """One product M v, not vmapped: the witness for the blocked dense matrix."""
        key = ("single", matrix)
        if key not in self._cache:
            self._cache[key] = jax.jit(self.products[matrix])
        return np.asarray(self._cache[key](params, v, self.x, self.y), np.float64)


def _key(config, *path: int) -> jax.Array:
    key = jax.random.PRNGKey(config.seed)
    for i in path:
        key = jax.random.fold_in(key, i)
    return key


def _start(setup: Setup, ci: int, matrix: str) -> jax.Array:
    """The Lanczos start vector at checkpoint `ci` for `matrix` (the same for Lanczos and deflation)."""
    return jax.random.normal(_key(setup.config, 3, ci, MATRICES.index(matrix)), (setup.net.size,), jnp.float64)


def exact(setup: Setup, params, ci: int, matrix: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The dense matrix's eigenvalues (ascending) and diagonal, and facts about it and its checks."""
    config = setup.config
    start = time.perf_counter()
    m = setup.dense(matrix, params)
    built = time.perf_counter() - start
    v = np.asarray(jax.random.normal(_key(config, 5, ci), (m.shape[0],), jnp.float64))
    single = setup.product(matrix, params, jnp.asarray(v))
    start = time.perf_counter()
    ev = np.linalg.eigvalsh(m)
    solved = time.perf_counter() - start
    diag = np.diag(m).copy()
    scale = float(np.abs(ev).max())
    band = config.negative_band * scale
    facts = {
        "params": int(m.shape[0]), "trace": float(np.trace(m)), "trace_from_eigenvalues": float(ev.sum()),
        "lambda_max": float(ev[-1]), "lambda_min": float(ev[0]), "frobenius": float(np.linalg.norm(m)),
        "hutchinson_variance": trace.hutchinson_variance(m, diag),
        # Below -band: negative curvature that is not round-off of a zero.
        "negative_fraction": float(np.mean(ev < -band)), "positive_fraction": float(np.mean(ev > band)),
        "near_zero_fraction": float(np.mean(np.abs(ev) <= 1e-10 * scale)),
        # Checks of the dense matrix: symmetric, and M v equal to one (not vmapped) product.
        "max_asymmetry": float(np.abs(m - m.T).max() / scale),
        "dense_vs_single_product": float(np.linalg.norm(m @ v - single) / np.linalg.norm(single)),
        "build_s": round(built, 2), "eigvalsh_s": round(solved, 2),
    }
    return {"eigenvalue": ev, "diagonal": diag}, facts


def lanczos_rows(setup: Setup, params, ci: int, name: str, matrix: str, eigenvalues: np.ndarray) -> list[dict]:
    """The top-k and bottom-k Ritz values after `lanczos_steps` steps against the exact eigenvalues."""
    config, k = setup.config, setup.config.top_k
    run = setup.route("ritz", matrix, lambda op, v0: ritz_pairs(op, v0, config.lanczos_steps))
    values, _, residuals = (np.asarray(a, np.float64) for a in run(params, _start(setup, ci, matrix)))
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


def _xtrace_with_error(op, key, num_matvecs: int):
    """XTrace (as curvature.trace.xtrace) and matfree's standard error of its leave-one-out estimates."""
    sampler = stochtrace.sampler_normal(jnp.zeros((op.size,), op.dtype), num=num_matvecs // 2)
    return stochtrace.estimator_leave_one_out_mean_and_sem(stochtrace.leave_one_out_xtrace(), sampler)(op.matvec, key)


def trace_rows(setup: Setup, params, ci: int, name: str, matrix: str, estimator: str, exact_trace: float) -> list[dict]:
    """`trace_reps` independent estimates by one estimator, `trace_hvps` products each."""
    config, m = setup.config, setup.config.trace_hvps
    if estimator == "xtrace":
        run = setup.route("trace_xtrace", matrix, lambda op, key: _xtrace_with_error(op, key, m))
    else:
        run = setup.route(f"trace_{estimator}", matrix,
                          lambda op, key: (trace.ESTIMATORS[estimator](op, key, m), jnp.nan))
    rows = []
    for rep in range(config.trace_reps):
        key = _key(config, 1, ci, MATRICES.index(matrix), TRACE_ESTIMATORS.index(estimator), rep)
        start = time.perf_counter()
        value, sem = (float(a) for a in run(params, key))
        rows.append({"checkpoint": name, "matrix": matrix, "estimator": estimator, "hvps": m, "rep": rep,
                     "estimate": value, "own_sem": sem, "exact": exact_trace,
                     "seconds": round(time.perf_counter() - start, 3)})
    return rows


def diag_rows(setup: Setup, params, ci: int, name: str, matrix: str, estimator: str, exact_diag: np.ndarray) -> list[dict]:
    """`diag_reps` estimates of the diagonal: relative 2-norm error and largest entry error."""
    config, m = setup.config, setup.config.diag_hvps
    run = setup.route(f"diag_{estimator}", matrix, lambda op, key: diagonal.ESTIMATORS[estimator](op, key, m))
    rows = []
    for rep in range(config.diag_reps):
        key = _key(config, 2, ci, MATRICES.index(matrix), DIAG_ESTIMATORS.index(estimator), rep)
        start = time.perf_counter()
        est = np.asarray(run(params, key), np.float64)
        rows.append({"checkpoint": name, "matrix": matrix, "estimator": estimator, "hvps": m, "rep": rep,
                     "rel_error": float(np.linalg.norm(est - exact_diag) / np.linalg.norm(exact_diag)),
                     "max_abs_error": float(np.abs(est - exact_diag).max()),
                     "seconds": round(time.perf_counter() - start, 3)})
    return rows


def slq_measures(setup: Setup, params, ci: int, matrix: str) -> tuple[list[dict], dict[str, Any]]:
    """Plain and deflated SLQ from the same probes: rows (method, probe, node, weight) and facts.

    Each method's weights sum to 1 over its rows (the estimated spectral measure). The
    deflated method's exact Ritz pairs are the rows with probe = -1.
    """
    config, p = setup.config, setup.net.size
    probes = jax.random.rademacher(_key(config, 4, ci, MATRICES.index(matrix)), (config.slq_probes, p),
                                   dtype=jnp.float64)
    start = time.perf_counter()
    plain = setup.route("slq", matrix, lambda op, v: density.quadrature(op, v, config.slq_steps))
    nodes, weights = (np.asarray(a, np.float64) for a in plain(params, probes))
    rows = [{"method": "slq", "probe": i, "node": float(x), "weight": float(w) / config.slq_probes}
            for i in range(nodes.shape[0]) for x, w in zip(nodes[i], weights[i])]
    facts: dict[str, Any] = {"slq_s": round(time.perf_counter() - start, 2), "deflated": 0}
    if config.deflate:
        start = time.perf_counter()
        pairs = setup.route("ritz", matrix, lambda op, v0: ritz_pairs(op, v0, config.lanczos_steps))
        values, vectors, residuals = (np.asarray(a, np.float64) for a in pairs(params, _start(setup, ci, matrix)))
        scale = np.abs(values).max()
        by_size = [i for i in np.argsort(-np.abs(values)) if residuals[i] <= config.deflate_tol * scale]
        keep = np.asarray(by_size[:config.deflate], int)
        basis = np.zeros((config.deflate, p))  # zero rows pad to a fixed shape: one compile
        basis[:len(keep)] = vectors[keep]
        deflated = setup.route("deflated_slq", matrix,
                               lambda op, b, v: deflated_quadrature(op, b, v, config.slq_steps))
        nodes, weights = (np.asarray(a, np.float64) for a in deflated(params, jnp.asarray(basis), probes))
        d = len(keep)
        rows += [{"method": "deflated", "probe": -1, "node": float(values[i]), "weight": 1.0 / p} for i in keep]
        rows += [{"method": "deflated", "probe": i, "node": float(x), "weight": float(w) * (p - d) / (p * config.slq_probes)}
                 for i in range(nodes.shape[0]) for x, w in zip(nodes[i], weights[i])]
        facts.update(deflated=d, deflated_max_residual=float(residuals[keep].max() / scale) if d else 0.0,
                     deflated_slq_s=round(time.perf_counter() - start, 2))
    return rows, facts
