"""The timed methods on a model: the gradient, every HVP JAX composes, a stored linearization, a block, Gauss-Newton.

Each method is a function (state, params, v, batch) -> output, compiled ahead of time
with the data a traced argument; `state` is what is built untimed beforehand (the
linearization of the gradient, for `hvp_linearized_apply`), else None. Every product
goes through `secondorder`, as a researcher's own model would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from hvp_models.catalog import CHECK_AGAINST, METHODS
from hvp_models.zoo import Problem

def _hvp(kind: str) -> Callable:
    from secondorder import products

    return {"hvp_fwd_rev": products.hvp_fwd_rev, "hvp_rev_rev": products.hvp_rev_rev,
            "hvp_rev_fwd": products.hvp_rev_fwd, "hvp_linearize": products.hvp_linearize}[kind]


def timed_function(name: str, problem: Problem) -> Callable:
    """(state, params, v, batch) -> the method's output; v is a block (leading axis) for hvp_block."""
    from secondorder.operators import ggn_product
    from secondorder.products import hvp_fwd_rev

    def at(batch):
        return lambda p: problem.loss(p, *batch)

    if name == "gradient":
        return lambda state, p, v, batch: jax.grad(at(batch))(p)
    if name in ("hvp_fwd_rev", "hvp_rev_rev", "hvp_rev_fwd", "hvp_linearize"):
        hvp = _hvp(name)
        return lambda state, p, v, batch: hvp(at(batch), p, v)
    if name == "hvp_linearized_apply":
        return lambda state, p, v, batch: state(v)
    if name == "hvp_block":
        return lambda state, p, v, batch: jax.vmap(lambda u: hvp_fwd_rev(at(batch), p, u))(v)
    if name == "ggn_product":
        return lambda state, p, v, batch: ggn_product(problem.predict, problem.output_loss, p, v, *batch)
    raise ValueError(f"unknown method {name!r}; known: {', '.join(METHODS)}")


def prepare_function(name: str, problem: Problem) -> Callable | None:
    """(params, batch) -> the untimed state of `name`, or None if it has none."""
    if name != "hvp_linearized_apply":
        return None
    from secondorder.products import linearize_hvp

    return lambda p, batch: linearize_hvp(lambda q: problem.loss(q, *batch), p)[1]


def random_like(params: Any, key: jax.Array, leading: tuple = ()) -> Any:
    """A standard normal pytree shaped like `params` (with extra leading axes `leading`)."""
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))
    return jax.tree.unflatten(tree, [jax.random.normal(k, leading + leaf.shape, leaf.dtype)
                                     for k, leaf in zip(keys, leaves)])


def ggn_by_jvp_vjp(problem: Problem, params: Any, v: Any, batch: tuple) -> Any:
    """G v a second way (jvp, then a separate vjp, no linearization): the Gauss-Newton product's check."""
    from secondorder.products import hvp_fwd_rev

    inputs, targets = batch
    outputs, jv = jax.jvp(lambda p: problem.predict(p, inputs), (params,), (v,))
    u = hvp_fwd_rev(lambda z: problem.output_loss(z, targets), outputs, jv)
    return jax.vjp(lambda p: problem.predict(p, inputs), params)[1](u)[0]


def relative_error(a: Any, b: Any) -> float:
    """max |a - b| / max |b| over every leaf of two pytrees (or blocks) of the same structure."""
    a_leaves, b_leaves = jax.tree.leaves(a), jax.tree.leaves(b)
    diff = max(float(np.max(np.abs(np.asarray(x) - np.asarray(y)))) for x, y in zip(a_leaves, b_leaves, strict=True))
    scale = max(float(np.max(np.abs(np.asarray(y)))) for y in b_leaves)
    return diff / scale if scale > 0 else diff
