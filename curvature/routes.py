"""How both studies reach their operators: keys by path, and routes compiled once as functions of the data.

A route is `route(op, *args)`: an estimator called on a curvature operator (secondorder).
`compile_route` compiles it ahead of time as a function of (data, params, *args), building
the operator inside, so XLA never sees the parameters or the data as constants (a
jitted function that closes over them constant-folds the whole forward and backward pass
at compile time: minutes instead of seconds on XLA:CPU), and the route can be called
again with fresh keys, or at another checkpoint, without retracing.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import jax

from secondorder.operators import Operator


def study_key(seed: int, *path: int) -> jax.Array:
    """The key at `path` under the seed: a resumed run draws exactly the probes the
    uninterrupted one would have, whatever ran before."""
    key = jax.random.PRNGKey(seed)
    for i in path:
        key = jax.random.fold_in(key, i)
    return key


@dataclasses.dataclass(frozen=True)
class Compiled:
    """An AOT-compiled route with its leading arguments bound: `compiled(*rest)`."""

    executable: Any
    compile_s: float
    bound: tuple

    def __call__(self, *args):
        return self.executable(*self.bound, *args)


def compile_route(make_operator: Callable[..., Operator], route: Callable[..., Any], data: tuple, params: Any,
                  *args: Any, bind_params: bool = True) -> Compiled:
    """`route(make_operator(params, *data), *args)` compiled as a function of (data, params, *args).

    Args:
      data: the operator's data (inputs, targets), bound to the result.
      params: the parameters; bound too unless `bind_params` is False (then each call
        passes them first: one compile for every checkpoint).
      args: example arguments (keys, vectors) that fix their shapes.
    """
    def fn(data, params, *rest):
        return route(make_operator(params, *data), *rest)

    start = time.perf_counter()
    executable = jax.jit(fn).lower(data, params, *args).compile()
    return Compiled(executable, time.perf_counter() - start, (data, params) if bind_params else (data,))
