"""The task's MLP, and its loss as a function of its parameters (one flat vector, or a pytree).

Bias-free layers, GELU after every layer but the last. Three forms of the same network:

- `unrolled`: the task's Python loop over `weights`; any layer sizes. XLA sees one op
  chain per layer, so compile time and compile memory grow with depth (the task's own
  code cannot compile at 1000 layers on a 24 GB machine: LLVM runs out of memory;
  results/hvp_unrolled_vs_scan_cpu times it up to where it compiles).
- `scan`: the equal-width hidden layers stacked into one `(depth - 1, width, width)`
  array and run by `lax.scan` (optionally unrolled by a factor), so the program (and
  its compile time) is the same size at any depth.
- `fori`: the same stack run by `lax.fori_loop`, indexing one layer per step.
How each layer is written (product, activation, derivative rule) is a `LayerSpec`
(secondorder.layers); an experiment may name the combinations (the suite's hvp_bench does).

Both read the same flat vector: `get_params()` is the weights raveled and concatenated
in layer order, exactly what `jax.flatten_util.ravel_pytree(weights)` gives. `loss` also
takes the weights as a pytree (`weight_tree`): a list of matrices for the unrolled form,
`{"first", "hidden", "last"}` for the loop forms, both raveling to `get_params()`'s order.

The weights are the task's draw (secondorder.init); a key of either style,
`jax.random.key(0)` or the legacy `jax.random.PRNGKey(0)`, draws the same weights.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from secondorder.init import init_weights
from secondorder.layers import LayerSpec, layer, product, vmap_safe
from secondorder.r_operator import hvp_by_hand, split_params
from secondorder.sizes import num_params

Array = jax.Array
Form = Literal["unrolled", "scan", "fori"]


def check_layer_sizes(layer_sizes: Sequence[int], form: Form) -> list[int]:
    """Validates layer sizes for `form`; raises ValueError naming the problem."""
    sizes = list(layer_sizes)
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least 2 entries (input and output), got {sizes}")
    if any(not isinstance(s, (int, np.integer)) or isinstance(s, bool) or s <= 0 for s in sizes):
        raise ValueError(f"layer_sizes must be positive integers, got {sizes}")
    if form in ("scan", "fori"):
        hidden = sizes[1:-1]
        if len(hidden) < 1:
            raise ValueError(f"the {form} form needs at least one hidden layer, got layer_sizes {sizes}")
        if len(set(hidden)) != 1:
            raise ValueError(
                f"the {form} form needs equal hidden widths, got hidden sizes {hidden}; use form='unrolled'"
            )
    elif form != "unrolled":
        raise ValueError(f"form must be 'unrolled', 'scan' or 'fori', got {form!r}")
    return [int(s) for s in sizes]


def forward_unrolled(weights: Sequence[Array], x: Array, spec: LayerSpec = LayerSpec()) -> Array:
    """The task's forward pass. weights[i]: (sizes[i], sizes[i+1]); x: (batch, sizes[0])."""
    for w in weights[:-1]:
        x = layer(x, w, spec)
    return product(x, weights[-1], spec.product)


def forward_scan(w_first: Array, w_hidden: Array, w_last: Array, x: Array, unroll: int = 1,
                 spec: LayerSpec = LayerSpec(), loop: str = "scan") -> Array:
    """The same network with the hidden layers in one loop.

    Args:
      w_first: (input_size, width). w_hidden: (depth - 1, width, width).
      w_last: (width, output_size). x: (batch, input_size).
      unroll: loop iterations per step of the compiled loop.
      loop: "scan" (lax.scan over the stacked weights) or "fori" (lax.fori_loop
        indexing them).
    Returns:
      (batch, output_size).
    """
    x = layer(x, w_first, spec)
    if loop == "fori":
        x = jax.lax.fori_loop(0, w_hidden.shape[0], lambda i, h: layer(h, w_hidden[i], spec), x, unroll=unroll)
    else:
        x, _ = jax.lax.scan(lambda h, w: (layer(h, w, spec), None), x, w_hidden, unroll=unroll)
    return product(x, w_last, spec.product)


class MLP:
    """The task's MLP: `weights`, `forward(x)`, `get_params()`, plus `loss(params)`.

    Args:
      key: PRNG key; split into one key per weight matrix, as the task does.
      layer_sizes: `[input, hidden..., output]`, all positive.
      form: "unrolled" (any sizes), "scan" or "fori" (equal hidden widths).
      init_scale: weights are `init_scale * normal`; the task's own init is 1.0, which
        underflows (width <= 8) or overflows (width >= 10) in deep models (width 4,
        seed 0: exact zeros from 660 layers on).
      init: "normal" (the task's: `init_scale * N(0, 1)`) or "fan_in"
        (`init_scale * N(0, 1) / sqrt(fan_in)`, which keeps wide layers near unit scale).
      dtype: parameter dtype.
      batch: rows of the all-ones input the loss evaluates.
      unroll: loop iterations per compiled step (scan and fori forms).
      layer: how each layer is written (`LayerSpec` or its fields as a dict); the
        default is the task's: `gelu(h @ w)` with JAX's tanh-approximate GELU.
    """

    def __init__(
        self,
        key: Array,
        layer_sizes: Sequence[int],
        *,
        form: Form = "unrolled",
        init_scale: float = 1.0,
        init: Literal["normal", "fan_in"] = "normal",
        dtype=jnp.float32,
        batch: int = 1,
        unroll: int = 1,
        layer: LayerSpec | dict | None = None,
    ):
        self.layer_sizes = check_layer_sizes(layer_sizes, form)
        if unroll < 1 or (form == "unrolled" and unroll != 1):
            raise ValueError(f"unroll must be >= 1 (and 1 for the unrolled form), got {unroll}")
        self.unroll = unroll
        self.layer = layer if isinstance(layer, LayerSpec) else LayerSpec(**(layer or {}))
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        if init not in ("normal", "fan_in"):
            raise ValueError(f"init must be 'normal' or 'fan_in', got {init!r}")
        self.form = form
        self.batch = batch
        self.dtype = jnp.dtype(dtype)
        self._shapes = [(m, n) for m, n in zip(self.layer_sizes[:-1], self.layer_sizes[1:])]
        self.weights = init_weights(key, self._shapes, init_scale, init, self.dtype)
        self._offsets = np.cumsum([m * n for m, n in self._shapes])[:-1].tolist()

    def twin(self, *, form: Form | None = None, unroll: int | None = None,
             layer: LayerSpec | dict | None = None) -> "MLP":
        """The same weights (and batch, dtype) in another form, unroll or layer formulation."""
        twin = copy.copy(self)
        twin.form = self.form if form is None else form
        twin.unroll = self.unroll if unroll is None else unroll
        twin.layer = self.layer if layer is None else layer if isinstance(layer, LayerSpec) else LayerSpec(**layer)
        check_layer_sizes(self.layer_sizes, twin.form)
        if twin.unroll < 1 or (twin.form == "unrolled" and twin.unroll != 1):
            raise ValueError(f"unroll must be >= 1 (and 1 for the unrolled form), got {twin.unroll}")
        return twin

    def with_layer(self, **fields) -> "MLP":
        """The same network (same weights, form, batch) with `fields` of its LayerSpec replaced,
        e.g. `model.with_layer(activation="logistic")`."""
        twin = copy.copy(self)
        twin.layer = dataclasses.replace(self.layer, **fields)
        return twin

    def vmap_safe(self) -> "MLP":
        """The same network in the form to run where products are vmapped (blocks of
        vectors, a dense Hessian): the tanh GELU written z * sigmoid(2u), because vmapped,
        XLA:CPU differentiates the tanh form wrongly on saturated units
        (docs/xla_cpu_tanh_jvp.md). Every other form is returned as it is."""
        safe = vmap_safe(self.layer.activation)
        return self if safe == self.layer.activation else self.with_layer(activation=safe)

    @property
    def num_params(self) -> int:
        return num_params(self.layer_sizes)

    def forward(self, x: Array) -> Array:
        """x: (batch, layer_sizes[0]) -> (batch, layer_sizes[-1]), with the current weights."""
        return self.apply(self.get_params(), x)

    def get_params(self) -> Array:
        """All weights raveled and concatenated in layer order: (num_params,)."""
        # Concatenated on the host: an eager jnp.concatenate of 1000 operands compiles for ~1 s.
        return jnp.asarray(np.concatenate([np.asarray(w).ravel() for w in self.weights]))

    def unflatten(self, params: Array) -> list[Array]:
        """The inverse of `get_params`: (num_params,) -> weight matrices in layer order."""
        if params.shape != (self.num_params,):
            raise ValueError(f"params must have shape ({self.num_params},), got {params.shape}")
        pieces = jnp.split(params, self._offsets)
        return [p.reshape(shape) for p, shape in zip(pieces, self._shapes)]

    def weight_tree(self, params: Array | None = None):
        """The weights as a pytree that ravels to `get_params()`'s order: the list of matrices
        (unrolled form) or `{"first", "hidden", "last"}` (loop forms). params: (P,), or None
        for the model's own weights."""
        params = self.get_params() if params is None else params
        if self.form == "unrolled":
            return self.unflatten(params)
        return dict(zip(("first", "hidden", "last"), self.split(params)))

    def apply(self, params, x: Array) -> Array:
        """The network with weights read from `params`, in this model's form.

        params: the flat (P,) vector, or the same weights as `weight_tree` gives them.
        """
        flat = not isinstance(params, (dict, list, tuple)) and np.ndim(params) == 1
        if self.form == "unrolled":
            return forward_unrolled(self.unflatten(params) if flat else params, x, self.layer)
        first, hidden, last = self.split(params) if flat else (params["first"], params["hidden"], params["last"])
        return forward_scan(first, hidden, last, x, self.unroll, self.layer, loop=self.form)

    def split(self, params: Array) -> tuple[Array, Array, Array]:
        """Equal hidden widths: (first (input, w), hidden (depth - 1, w, w), last (w, output))."""
        m, w = self.layer_sizes[0], self.layer_sizes[1]
        return split_params(params, m, w, len(self.layer_sizes) - 2, self.layer_sizes[-1])

    def hvp_by_hand(self, params: Array, v: Array, inputs: Array | None = None) -> Array:
        """H v of `loss` by the hand-derived R-operator (secondorder.r_operator), in this model's
        layer formulation and unroll. Needs equal hidden widths. params, v: (P,) -> (P,)."""
        hidden = self.layer_sizes[1:-1]
        if len(set(hidden)) != 1:
            raise ValueError(f"hvp_by_hand needs equal hidden widths, got {hidden}")
        return hvp_by_hand(params, v, self.inputs() if inputs is None else inputs, self.layer_sizes[0],
                           hidden[0], len(hidden), self.layer_sizes[-1], self.layer, self.unroll)

    def inputs(self) -> Array:
        """The task's input, `ones((batch, layer_sizes[0]))`."""
        return jnp.ones((self.batch, self.layer_sizes[0]), self.dtype)

    def loss(self, params, inputs: Array | None = None) -> Array:
        """The task's loss `sum(forward(x))` as a function of the parameters.

        Unlike the task's template (which closes over the weights and ignores its
        argument, so its Hessian is zero), this reads every weight from `params`.

        Args:
          params: (P,), or the weights as a pytree (`weight_tree`).
          inputs: (batch, layer_sizes[0]); None for the task's `ones`. The sweep passes
            them as an argument of every timed function, so XLA cannot fold the input
            into the compiled program.
        """
        return jnp.sum(self.apply(params, self.inputs() if inputs is None else inputs))


def health(f, x: Array, v: Array) -> dict[str, bool]:
    """Whether f(x), grad f(x) and H(x) v are finite and not all zero.

    With the task's standard-normal init, deep models underflow to exact zeros or
    overflow to inf: timings there are real, but the values are not checkable.
    """
    value, grad = jax.value_and_grad(f)(x)
    hv = jax.jvp(jax.grad(f), (x,), (v,))[1]
    out = {}
    for name, a in (("loss", value), ("grad", grad), ("hvp", hv)):
        a = np.concatenate([np.ravel(leaf) for leaf in jax.tree.leaves(a)])  # any pytree
        out[f"{name}_finite"] = bool(np.all(np.isfinite(a)))
        out[f"{name}_nonzero"] = bool(np.any(a != 0))
    return out

