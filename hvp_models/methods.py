"""The timed methods on a model: the gradient, every HVP JAX composes, a stored linearization, a block, Gauss-Newton.

Each method is `secondorder.methods`' own (the suite's table of timed methods) and runs
through `secondorder.timing`, as a researcher's own model would: a function (state,
params, v, batch) -> output, compiled ahead of time with the data a traced argument;
`state` is what is built untimed beforehand (the linearization of the gradient, for
`hvp_linearized_apply`), else None. Only the Gauss-Newton product is not in that table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from hvp_models.catalog import CHECK_AGAINST, METHODS
from hvp_models.zoo import Problem

BLOCK_OF = "hvp_fwd_rev"
"""The product a block of vectors vmaps."""


def library_method(name: str):
    """The `secondorder.methods.Method` that `name` times (a block: its product's, vmapped), or None (ggn_product)."""
    from secondorder.methods import get_method

    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; known: {', '.join(METHODS)}")
    return None if name == "ggn_product" else get_method(BLOCK_OF if name == "hvp_block" else name)


def timed_function(name: str, problem: Problem) -> Callable:
    """(state, params, v, batch) -> the method's output; v is a block (leading axis) for hvp_block.

    The library's own timed function (secondorder.timing), with the batch passed as
    `problem.loss(params, *batch)`; the Gauss-Newton product needs the model's parts.
    """
    from secondorder.operators import ggn_product
    from secondorder.timing import timed_function as library_timed_function

    method = library_method(name)
    if method is None:
        return lambda state, p, v, batch: ggn_product(problem.predict, problem.output_loss, p, v, *batch)
    return library_timed_function(method, problem.loss, block=name == "hvp_block")


def compile_prepare(name: str, problem: Problem):
    """The compiled (params, batch) -> untimed state of `name` (secondorder.timing), or None if it has none."""
    from secondorder.timing import compile_prepare as library_compile_prepare

    method = library_method(name)
    return None if method is None else library_compile_prepare(method, problem.loss, problem.params, problem.batch)


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
