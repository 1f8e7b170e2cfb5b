"""The study at one dense-checkable depth: every estimator against the exact dense answer.

The witness is kept apart from what it checks (curvature.exact): the exact trace,
diagonal and spectrum come from the dense Hessian (`calculate_hessian`, built column by
column from HVPs) and NumPy's LAPACK `eigvalsh`; the estimators are the library's
(secondorder), and see only the matrix-free operator. Each function returns plain rows;
curvature/run.py writes them.

Random keys derive from the config's seed, the estimator and the budget, so a resumed
run draws exactly the probes the uninterrupted one would have.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from curvature.config import DIAG_ESTIMATORS, TRACE_ESTIMATORS
from curvature.exact import exact_spectrum
from curvature.problem import Problem
from curvature.repetitions import diag_repetitions, trace_repetitions, with_columns
from curvature.routes import study_key
from secondorder import density, diagonal, lanczos, trace

EXACT_COLUMNS = ["index", "eigenvalue", "hessian_diagonal"]
TRACE_COLUMNS = ["estimator", "hvps", "rep", "estimate", "exact", "rel_error"]
DIAG_COLUMNS = ["estimator", "hvps", "rep", "rel_error", "max_abs_error"]
EIGEN_COLUMNS = ["method", "dtype", "hvps", "which", "rank", "value", "exact", "rel_error"]
SLQ_COLUMNS = ["probe", "node", "weight"]


def exact_reference(problem: Problem, config) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The dense Hessian's eigenvalues (ascending) and diagonal, and scalar facts about it."""
    arrays, facts = exact_spectrum(problem.compile_dense_hessian(config.hessian_block)())
    ev = arrays["eigenvalue"]
    scale = np.abs(ev).max()
    facts.update({
        "depth": problem.depth,
        # Eigenvalues below 1e-10 of the largest are round-off of exact zeros.
        "rank": int(np.sum(np.abs(ev) > 1e-10 * scale)),
        "positive": int(np.sum(ev > 1e-10 * scale)), "negative": int(np.sum(ev < -1e-10 * scale)),
        "loss": float(problem.loss(problem.params, problem.inputs)),
    })
    return {"eigenvalue": ev, "hessian_diagonal": arrays["diagonal"]}, facts


def trace_group(problem: Problem, config, name: str, hvps: int, exact: float) -> list[dict]:
    """`trace_reps` independent estimates of one estimator at one budget."""
    estimator = trace.ESTIMATORS[name]
    compiled = problem.compile(lambda op, key: estimator(op, key, hvps), study_key(config.seed, 0))
    keys = (study_key(config.seed, 1, TRACE_ESTIMATORS.index(name), hvps, rep) for rep in range(config.trace_reps))
    return with_columns(trace_repetitions(compiled, keys, exact), TRACE_COLUMNS, estimator=name, hvps=hvps)


def diag_group(problem: Problem, config, name: str, hvps: int, exact: np.ndarray) -> list[dict]:
    """`diag_reps` estimates of the diagonal: relative 2-norm error and largest entry error."""
    estimator = diagonal.ESTIMATORS[name]
    compiled = problem.compile(lambda op, key: estimator(op, key, hvps), study_key(config.seed, 0))
    keys = (study_key(config.seed, 2, DIAG_ESTIMATORS.index(name), hvps, rep) for rep in range(config.diag_reps))
    return with_columns(diag_repetitions(compiled, keys, exact), DIAG_COLUMNS, estimator=name, hvps=hvps)


def eigen_rows(problem: Problem, config, eigenvalues: np.ndarray) -> list[dict]:
    """Lanczos Ritz values after every step (float64, and float32 if asked), and power iteration.

    The float32 run rounds the same network and the same start vector to float32; its
    errors are against the float64 dense eigenvalues.
    """
    k, ev = config.top_k, np.asarray(eigenvalues)
    v0 = jax.random.normal(study_key(config.seed, 3), (problem.size,), jnp.float64)
    exact = {"top": ev[::-1][:k], "bottom": ev[:k]}
    rows = []
    for dtype in ("float64", "float32") if config.float32_check else ("float64",):
        p = problem.astype(dtype)
        compiled = p.compile(lambda op, v: lanczos.lanczos(op, v, config.lanczos_steps), v0.astype(dtype))
        top, bottom = lanczos.ritz_history(*compiled(v0.astype(dtype)), k)
        # Rank 1 is the extreme one: the largest of the top, the smallest of the bottom.
        found = {"top": top[:, ::-1], "bottom": bottom}
        for step in range(config.lanczos_steps):
            for which in ("top", "bottom"):
                for r in range(min(k, step + 1)):
                    value, truth = found[which][step, r], exact[which][r]
                    rows.append({"method": "lanczos", "dtype": dtype, "hvps": step + 1, "which": which,
                                 "rank": r + 1, "value": float(value), "exact": float(truth),
                                 "rel_error": float(abs(value - truth) / abs(truth))})
    compiled = problem.compile(lambda op, v: lanczos.power_iteration(op, v, config.power_steps), v0)
    dominant = float(ev[np.argmax(np.abs(ev))])
    for step, value in enumerate(np.asarray(compiled(v0), np.float64)):
        rows.append({"method": "power", "dtype": str(problem.params.dtype), "hvps": step + 1,
                     "which": "dominant", "rank": 1, "value": float(value), "exact": dominant,
                     "rel_error": float(abs(value - dominant) / abs(dominant))})
    return rows


def slq_rows(problem: Problem, config) -> list[dict]:
    """SLQ nodes and weights per probe (each probe's weights sum to 1): slq_probes x slq_steps rows."""
    key = study_key(config.seed, 4)

    def route(op, key):
        vectors = jax.random.rademacher(key, (config.slq_probes, op.size), dtype=op.dtype)
        return density.quadrature(op, vectors, config.slq_steps, config.probe_batch)

    nodes, weights = (np.asarray(a, np.float64) for a in problem.compile(route, key)(key))
    return [{"probe": i, "node": float(n), "weight": float(w)}
            for i in range(nodes.shape[0]) for n, w in zip(nodes[i], weights[i])]
