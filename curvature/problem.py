"""The task's MLP at one depth, as the curvature routines see it: loss, parameters, data.

`build_problem(config, depth)` draws the model; `Problem.compile(route, *args)` compiles
`route(operator, *args)` ahead of time as a function of the parameters and the data
(never closing over them: see secondorder/operator.py), so every route is timed without
its compile and called with fresh keys without retracing.

Call these under `jax.enable_x64(True)`: the weights are drawn in float64.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from secondorder.operator import Batching, HVPKind, Operator, data_mesh, hessian_operator, make_loss, place_batch
from secondorder.layers import IMMUNE
from secondorder.methods import calculate_hessian
from secondorder.model import MLP
from secondorder.sizes import layer_sizes_for

Array = jax.Array


@dataclasses.dataclass(frozen=True)
class Compiled:
    """An AOT-compiled route with its problem's parameters and data bound."""

    executable: Any
    compile_s: float
    bound: tuple[Array, ...]

    def __call__(self, *args):
        return self.executable(*self.bound, *args)


@dataclasses.dataclass(frozen=True)
class Problem:
    """The loss `loss(params, inputs)` at `params` (P,) on the batch `inputs` (batch, input_size)."""

    depth: int
    params: Array
    inputs: Array
    loss: Callable[[Array, Array], Array]
    hvp: HVPKind = "linearize"
    # Blocks of products vmapped, or one vector at a time (the literal tanh GELU).
    batching: Batching = "vmap"

    @property
    def size(self) -> int:
        return int(self.params.shape[0])

    def operator(self, params: Array, inputs: Array) -> Operator:
        return hessian_operator(lambda p: self.loss(p, inputs), params, self.hvp, self.batching)

    def compile(self, route: Callable[..., Any], *args) -> Compiled:
        """`route(op, *args)` compiled as a function of (params, inputs, *args)."""
        def fn(params, inputs, *rest):
            return route(self.operator(params, inputs), *rest)

        return self._compile(fn, *args)

    def compile_dense_hessian(self, block_size: int) -> Compiled:
        """The dense (P, P) Hessian, built `block_size` columns at a time (hvp_bench's calculate_hessian)."""
        def fn(params, inputs):
            return calculate_hessian(lambda p: self.loss(p, inputs), params, block_size)

        return self._compile(fn)

    def _compile(self, fn, *args) -> Compiled:
        start = time.perf_counter()
        executable = jax.jit(fn).lower(self.params, self.inputs, *args).compile()
        return Compiled(executable, time.perf_counter() - start, (self.params, self.inputs))

    def astype(self, dtype) -> Problem:
        """The same network and data rounded to `dtype`."""
        return dataclasses.replace(self, params=self.params.astype(dtype), inputs=self.inputs.astype(dtype))


def build_problem(config, depth: int, dtype: str | None = None) -> Problem:
    """The task's MLP (scan form) at `depth` as `config` (a CurvatureConfig) describes it.

    Weights are drawn in float64 and rounded to `dtype` (config.dtype by default), so
    runs in two precisions see the same network. The GELU is written as `config.gelu`
    says; in its literal tanh form, blocks of products run one vector at a time. The data batch is ones (the task's)
    or N(0, 1) rows, sharded over `config.devices` devices.
    """
    dtype = dtype or config.dtype
    key = jax.random.PRNGKey(config.seed)
    model = MLP(key, layer_sizes_for(depth, config.width, config.input_size, config.output_size),
                form="scan", init=config.init, init_scale=config.init_scale, dtype=jnp.float64,
                layer={"activation": config.gelu})
    shape = (config.batch, config.input_size)
    if config.inputs == "ones":
        inputs = jnp.ones(shape, jnp.float64)
    else:
        inputs = jax.random.normal(jax.random.fold_in(key, 1), shape, jnp.float64)
    mesh = data_mesh(config.devices)
    return Problem(depth, model.get_params().astype(dtype), place_batch(inputs.astype(dtype), mesh),
                   make_loss(model, mesh), config.hvp, "vmap" if config.gelu in IMMUNE else "sequential")
