"""What each route to the curvature costs at one depth: time, compile time, memory, and its answer.

Routes (all on the same Problem, each compiled ahead of time, warmed up, then timed
with `block_until_ready` by the library's harness, secondorder.timing, under its
transfer guard):

| route              | computes                                            | HVPs          |
|--------------------|-----------------------------------------------------|---------------|
| hvp                | one H v, linearization included (and, untimed, curvature.batching's block check) | 1 |
| lanczos            | top-k and bottom-k eigenvalues                      | lanczos_steps |
| power              | the eigenvalue of largest magnitude                 | power_steps   |
| slq                | the spectral density (nodes and weights)            | probes x steps|
| trace_<estimator>  | the trace                                           | cost_trace_hvps |
| dense_hessian      | the dense Hessian, `hessian_block` columns at a time | P             |
| dense_eigvalsh     | all P eigenvalues of it: NumPy's LAPACK eigvalsh    | -             |

The dense route runs only where P <= dense_max_params (otherwise one `skipped` row with
the bytes it would need, 8 P^2 in float64); its H v is checked against a single HVP
(curvature.batching; a route whose values disagree is recorded `wrong`, not timed). It is
timed without a warm-up call, since
each call takes up to a minute and runs precompiled code. The eigensolver is NumPy's
`eigvalsh` (LAPACK `syevd`, eigenvalues only): `jnp.linalg.eigvalsh` is `eigh` with the
eigenvectors thrown away (jax 0.10.2), several times slower in a quick check on this
CPU, so NumPy's is the fair (cheapest) dense baseline. XLA cannot report its memory: it is recorded as twice
the matrix's bytes (the input and the copy LAPACK overwrites), workspace not counted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from curvature.batching import block_check, dense_check, is_wrong
from curvature.config import COST_ROUTES, TRACE_ESTIMATORS
from curvature.problem import Problem
from expkit.worker import one_line
from secondorder import density, lanczos, trace
from secondorder.timing import memory_of, time_compiled

COST_COLUMNS = ["depth", "params", "route", "run", "status", "time_s", "compile_s", "memory_bytes", "note"]
ESTIMATE_COLUMNS = ["depth", "params", "route", "quantity", "value"]
DENSE_ROUTES = ("dense_hessian", "dense_eigvalsh")


def route_names(config) -> list[str]:
    """The routes of the sweep, in the order they run at each depth (dense_eigvalsh after dense_hessian)."""
    return [r for r in COST_ROUTES if r in config.cost_routes]


def _hvp(config, size: int):
    def run(op, key):
        return op.matvec(jax.random.normal(key, (op.size,), op.dtype))
    return run, lambda out: {"hv_norm": float(jnp.linalg.norm(out))}


def _lanczos(config, size: int):
    k = config.top_k

    def run(op, key):
        return lanczos.ritz_values(op, jax.random.normal(key, (op.size,), op.dtype), config.lanczos_steps)

    def values(out):
        ritz = np.asarray(out)
        return {**{f"top_{i + 1}": float(ritz[-1 - i]) for i in range(k)},
                **{f"bottom_{i + 1}": float(ritz[i]) for i in range(k)}}
    return run, values


def _power(config, size: int):
    def run(op, key):
        return lanczos.power_iteration(op, jax.random.normal(key, (op.size,), op.dtype), config.power_steps)[-1]
    return run, lambda out: {"dominant": float(out)}


def _slq(config, size: int):
    def run(op, key):
        vectors = jax.random.rademacher(key, (config.slq_probes, op.size), dtype=op.dtype)
        return density.slq(op, vectors, config.slq_steps, config.probe_batch)

    def values(measure):
        # SLQ's trace estimate (probes x steps HVPs) beside the range of its nodes.
        return {"min_node": float(measure.nodes.min()), "max_node": float(measure.nodes.max()),
                "trace": float(measure.trace(size))}
    return run, values


def _trace(name: str):
    estimator = trace.ESTIMATORS[name]

    def route(config, size: int):
        def run(op, key):
            return estimator(op, key, config.cost_trace_hvps)[0]
        return run, lambda out: {"trace": float(out)}
    return route


# route -> (config, P) -> (run(op, key), estimates(output) -> {quantity: value}); the route
# names are curvature.config's COST_ROUTES (the dense routes are timed apart, below).
MATRIX_FREE: dict[str, Callable[[Any, int], tuple[Callable, Callable[[Any], dict[str, float]]]]] = {
    "hvp": _hvp, "lanczos": _lanczos, "power": _power, "slq": _slq,
    **{f"trace_{name}": _trace(name) for name in TRACE_ESTIMATORS},
}


def measure_route(problem: Problem, config, route: str, dense_state: dict) -> tuple[list[dict], list[dict]]:
    """Compiles, times and reads the answer of one route at `problem`'s depth.

    Args:
      dense_state: shared between the two dense routes of one depth (the Hessian the
        eigensolver is timed on).
    Returns:
      (cost rows, estimate rows), as dicts keyed by COST_COLUMNS / ESTIMATE_COLUMNS.
    """
    base = {"depth": problem.depth, "params": problem.size, "route": route}
    p = problem.size
    if route in DENSE_ROUTES and p > config.dense_max_params:
        need = 8 * p * p if problem.params.dtype == jnp.float64 else 4 * p * p
        return [{**base, "run": 0, "status": "skipped", "memory_bytes": need,
                 "note": f"P = {p} > dense_max_params = {config.dense_max_params}"}], []
    key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 7)
    try:
        if route == "dense_hessian":
            compiled = problem.compile_dense_hessian(config.hessian_block)
            args, runs, warmup = (), config.dense_runs, 0
        elif route == "dense_eigvalsh":
            hessian = dense_state.get("hessian")
            if hessian is None:  # resumed after the Hessian's own row: build it again, untimed
                hessian = problem.compile_dense_hessian(config.hessian_block)()
            compiled = _Eigvalsh(hessian)
            args, runs, warmup = (), config.dense_runs, 0
        else:
            run, values = MATRIX_FREE[route](config, p)
            compiled = problem.compile(run, key)
            args, runs, warmup = (key,), config.cost_runs, 1
        times, out = time_compiled(compiled, args, runs, warmup)
    except Exception as e:  # XLA resource errors and the like: recorded, the sweep goes on
        return [{**base, "run": 0, "status": "failed", "note": one_line(e)}], []
    memory = memory_of(compiled.executable).get("total_bytes", 0) if compiled.executable else 2 * compiled.matrix.nbytes
    if route == "dense_hessian":
        dense_state["hessian"] = out
        # untimed: does the dense route agree with a single HVP here?
        estimates = {"trace": float(jnp.trace(out)), **dense_check(problem, out, jax.random.fold_in(key, 2))}
    elif route == "dense_eigvalsh":
        dense_state.pop("hessian", None)
        ev = np.asarray(out, np.float64)
        k = config.top_k
        estimates = {**{f"top_{i + 1}": float(ev[-1 - i]) for i in range(k)},
                     **{f"bottom_{i + 1}": float(ev[i]) for i in range(k)},
                     "dominant": float(ev[np.argmax(np.abs(ev))]), "trace": float(ev.sum())}
    else:
        estimates = values(out)
    if route == "hvp":  # untimed: does a block agree with single products here?
        estimates.update(block_check(problem, jax.random.fold_in(key, 1)))
    wrong = is_wrong(estimates, str(problem.params.dtype))
    cost = [{**base, "run": i, "status": "wrong" if wrong else "ok", "time_s": float(t),
             "compile_s": compiled.compile_s, "memory_bytes": memory, "note": wrong or ""}
            for i, t in enumerate(times)]
    return cost, [{**base, "quantity": q, "value": v} for q, v in estimates.items()]


class _Eigvalsh:
    """NumPy's eigvalsh of one matrix, called like a `Compiled` (nothing to compile)."""

    compile_s = 0.0
    executable = None

    def __init__(self, matrix):
        self.matrix = np.asarray(matrix)

    def __call__(self):
        return np.linalg.eigvalsh(self.matrix)

