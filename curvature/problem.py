"""The task's MLP at one depth, as the curvature routines see it: loss, parameters, data.

`build_problem(config, depth)` draws the model; `Problem.compile(route, *args)` compiles
`route(operator, *args)` ahead of time as a function of the data and the parameters
(curvature.routes), so every route is timed without its compile and called with fresh
keys without retracing.

The operator is the library's Hessian operator (secondorder.operators) of the task's
loss, `sum(model.apply(params, inputs))`, on the model in the form the library runs
where products are vmapped (`MLP.vmap_safe`: the estimators batch their probes).

Call these under `jax.enable_x64(True)`: the weights are drawn in float64.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from curvature.routes import Compiled, compile_route
from secondorder.model import MLP
from secondorder.operators import HVPKind, Operator, data_mesh, hessian_operator, shard_batch
from secondorder.products import calculate_hessian
from secondorder.sizes import layer_sizes_for

Array = jax.Array


@dataclasses.dataclass(frozen=True)
class Problem:
    """The loss `loss(params, inputs)` at `params` (P,) on the batch `inputs` (batch, input_size)."""

    depth: int
    params: Array
    inputs: Array
    loss: Callable[[Array, Array], Array]
    hvp: HVPKind = "linearize"

    @property
    def size(self) -> int:
        return int(self.params.shape[0])

    def operator(self, params: Array, inputs: Array) -> Operator:
        return hessian_operator(self.loss, params, inputs, hvp=self.hvp)

    def compile(self, route: Callable[..., Any], *args) -> Compiled:
        """`route(op, *args)` compiled as a function of (inputs, params, *args), both bound."""
        return compile_route(self.operator, route, (self.inputs,), self.params, *args)

    def compile_dense_hessian(self, block_size: int) -> Compiled:
        """The dense (P, P) Hessian, built `block_size` columns at a time (calculate_hessian)."""
        def dense(params, inputs):  # in place of an operator: the route builds the matrix itself
            return calculate_hessian(lambda p: self.loss(p, inputs), params, block_size)

        return compile_route(dense, lambda hessian: hessian, (self.inputs,), self.params)

    def astype(self, dtype) -> Problem:
        """The same network and data rounded to `dtype`."""
        return dataclasses.replace(self, params=self.params.astype(dtype), inputs=self.inputs.astype(dtype))


def build_problem(config, depth: int, dtype: str | None = None) -> Problem:
    """The task's MLP (scan form) at `depth` as `config` (a CurvatureConfig) describes it.

    Weights are drawn in float64 and rounded to `dtype` (config.dtype by default), so
    runs in two precisions see the same network. The data batch is ones (the task's) or
    N(0, 1) rows, its rows split over `config.devices` devices.
    """
    dtype = dtype or config.dtype
    key = jax.random.PRNGKey(config.seed)
    model = MLP(key, layer_sizes_for(depth, config.width, config.input_size, config.output_size),
                form="scan", init=config.init, init_scale=config.init_scale, dtype=jnp.float64).vmap_safe()
    shape = (config.batch, config.input_size)
    if config.inputs == "ones":
        inputs = jnp.ones(shape, jnp.float64)
    else:
        inputs = jax.random.normal(jax.random.fold_in(key, 1), shape, jnp.float64)
    return Problem(depth, model.get_params().astype(dtype), shard_batch(inputs.astype(dtype), data_mesh(config.devices)),
                   model.loss, config.hvp)
