"""The task's weight init: one standard-normal matrix per layer, from one split of the key.

`init_weights` draws the same numbers as the task's loop over layers (tests/secondorder/
test_model.py checks it bit for bit), in one vmapped call per run of equal shapes: one
eager call per layer costs about a second at 1000 layers.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array


def init_weights(key: Array, shapes: Sequence[tuple[int, int]], init_scale: float = 1.0,
                 init: Literal["normal", "fan_in"] = "normal", dtype=jnp.float32) -> list[Array]:
    """The task's weights: `init_scale * normal(keys[i], shapes[i])` with `keys` from one
    `jax.random.split(key, len(shapes))` (divided by sqrt(fan_in) for init "fan_in").

    The same numbers as the task's loop over layers, drawn in one vmapped call per run of
    equal shapes: one eager call per layer costs about a second at 1000 layers. `key` is a
    typed key (`jax.random.key`) or a legacy raw one (`jax.random.PRNGKey`): the same draws.
    """
    if not jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.wrap_key_data(key)  # legacy uint32 data, in the default implementation
    keys = jax.random.split(key, len(shapes))
    weights: list[Array] = []
    start = 0
    while start < len(shapes):
        stop = start
        while stop < len(shapes) and shapes[stop] == shapes[start]:
            stop += 1
        m, n = shapes[start]
        scale = init_scale / (math.sqrt(m) if init == "fan_in" else 1.0)
        if stop - start == 1:
            weights.append(np.asarray(scale * jax.random.normal(keys[start], (m, n), dtype=dtype)))
        else:
            draws = np.concatenate([np.asarray(_normal_stack(chunk, m, n, jnp.dtype(dtype)))
                                    for chunk in _key_chunks(keys[start:stop])])[:stop - start]
            weights.extend((scale * draws).astype(dtype, copy=False))
        start = stop
    return jax.device_put(weights)  # one call for the whole list


_CHUNK = 128


def _key_chunks(keys: Array) -> list[Array]:
    """`keys` (typed) in pieces of _CHUNK, the last padded with copies of the final key: the
    draws compile once for all depths instead of once per number of layers."""
    pad = -len(keys) % _CHUNK
    keys = jnp.concatenate([keys, jnp.repeat(keys[-1:], pad, axis=0)])
    return [keys[i:i + _CHUNK] for i in range(0, len(keys), _CHUNK)]


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _normal_stack(keys: Array, m: int, n: int, dtype) -> Array:  # keys: (k,) typed
    """(k, m, n): normal(keys[i], (m, n)) for each of the k keys."""
    return jax.vmap(lambda k: jax.random.normal(k, (m, n), dtype=dtype))(keys)
