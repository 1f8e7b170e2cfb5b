"""Hessian-vector products of a scalar f: R^P -> R, every way JAX composes them.

The task's three names are here (`calculate_hessian`, `naive_hvp`, `hvp`), beside the
other AD compositions, named after how they compose: `hvp_<outer>_<inner>`.

| name                  | computes                                   | cost (x one gradient) |
|-----------------------|--------------------------------------------|-----------------------|
| gradient              | grad f(x) (the baseline, ignores v)        | 1                     |
| hvp_rev_rev (= hvp)   | grad_x <grad f(x), v>                      | ~2-4, stores 2 tapes  |
| hvp_fwd_rev           | jvp of grad f at x along v                 | ~2                    |
| hvp_rev_fwd           | grad_x (jvp of f at x along v)             | ~2-3                  |
| hvp_linearize         | linearize(grad f, x), then apply to v      | ~2, reusable          |
| hvp_linearized_apply  | apply a stored linearization to v          | ~1, given the tape    |
| hvp_by_hand           | the R-operator written out (this MLP only) | ~2-3: the reference   |
| hessian_then_hvp      | dense H (P fwd-over-rev HVPs), then H @ v  | ~P, memory 4 P^2 B    |
| naive_hvp             | H @ v with H given                         | P^2 flops             |
| dispatch_floor        | v[:1]: the fixed cost of a call (timed at every point) | 0     |

`REGISTRY` maps each name to a `Method` with one calling convention, so a sweep loops
over names: `state = method.prepare(f, x)` (untimed; the dense Hessian for naive_hvp,
the linearization for hvp_linearized_apply, else None), then
`method.apply(f, state, x, v) -> (P,)` is what gets timed (secondorder.timing compiles it
with the network's input as an argument of the timed function).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from secondorder.layers import immune
from secondorder.method_names import FLOOR_METHOD, METHOD_NAMES

Array = jax.Array
ScalarFn = Callable[[Array], Array]


def _as_fn(model_or_f) -> ScalarFn:
    return model_or_f.loss if hasattr(model_or_f, "loss") else model_or_f


def calculate_hessian(model, params: Array, block_size: int = 0, literal: bool = False) -> Array:
    """The dense Hessian of the loss in the flat parameters, by autodiff.

    Args:
      model: an `MLP` (its `loss` is used), its bound `loss`, or any scalar function of
        `params`.
      params: (P,).
      block_size: 0 for `jax.hessian` (all P columns vectorised at once: temporaries of
        P x activations); otherwise columns are built `block_size` at a time with
        `lax.map`, which bounds the temporaries when P is large.
      literal: for the suite's MLP with the task's tanh GELU, differentiate it as written.
        By default its logistic form (the same function) is differentiated instead: both
        routes vmap the HVP, and vmapped, XLA:CPU gets the tanh form's derivatives wrong on
        saturated units (entries of 1e-6 where the Hessian is exactly 0;
        docs/xla_cpu_tanh_jvp.md). A plain function is always differentiated as written.
    Returns:
      (P, P), symmetric.
    """
    f = _as_fn(model) if literal else _immune_fn(model)
    if block_size <= 0:
        return jax.hessian(f)(params)
    n = params.shape[0]

    def column(i):
        return hvp_fwd_rev(f, params, jax.nn.one_hot(i, n, dtype=params.dtype))

    # Row i of the result is H e_i, which is column i since H is symmetric.
    return jax.lax.map(column, jnp.arange(n), batch_size=min(block_size, n))


def _immune_fn(model_or_f) -> ScalarFn:
    """The scalar function of `model_or_f`, in the immune form of its GELU where it is the suite's MLP."""
    model = model_or_f if hasattr(model_or_f, "with_layer") else getattr(model_or_f, "__self__", None)
    if not hasattr(model, "with_layer"):
        return _as_fn(model_or_f)
    twin = model.with_layer(activation=immune(model.layer.activation))
    return twin.loss if model_or_f is model else getattr(twin, model_or_f.__name__)


def naive_hvp(hessian: Array, vector: Array) -> Array:
    """H @ v from a precomputed Hessian. hessian: (P, P); vector: (P,) -> (P,)."""
    return hessian @ vector


def hvp_rev_rev(f: ScalarFn, x: Array, v: Array) -> Array:
    """Reverse-over-reverse: the gradient of x -> <grad f(x), v>. x, v: (P,) -> (P,)."""
    return jax.grad(lambda x: jnp.vdot(jax.grad(f)(x), v))(x)


hvp = hvp_rev_rev
"""The homework's `hvp(f, x, v)`: the same function as `hvp_rev_rev` (reverse-over-reverse), under the homework's name."""


def hvp_fwd_rev(f: ScalarFn, x: Array, v: Array) -> Array:
    """Forward-over-reverse: the directional derivative of grad f at x along v."""
    return jax.jvp(jax.grad(f), (x,), (v,))[1]


def hvp_rev_fwd(f: ScalarFn, x: Array, v: Array) -> Array:
    """Reverse-over-forward: the gradient of x -> (directional derivative of f along v)."""
    return jax.grad(lambda x: jax.jvp(f, (x,), (v,))[1])(x)


def linearize_hvp(f: ScalarFn, x: Array) -> tuple[Array, Callable[[Array], Array]]:
    """grad f(x) and a function v -> H v that reuses one linearization.

    For many vectors at one point (Hutchinson, Lanczos): the forward and backward
    passes of grad f run once; each later product is one linear (JVP) pass. The
    returned function is a `jax.tree_util.Partial`, so it can cross `jax.jit`.
    """
    return jax.linearize(jax.grad(f), x)


def hvp_linearize(f: ScalarFn, x: Array, v: Array) -> Array:
    """`linearize_hvp` for a single vector (linearize and apply, both timed)."""
    return linearize_hvp(f, x)[1](v)


def gradient(f: ScalarFn, x: Array) -> Array:
    """grad f(x): the baseline every HVP is measured against. x: (P,) -> (P,)."""
    return jax.grad(f)(x)


@dataclasses.dataclass(frozen=True)
class Method:
    """One timed method. `apply(f, state, x, v) -> (P,)`; `prepare(f, x) -> state`."""

    name: str
    apply: Callable[[ScalarFn, Any, Array, Array], Array]
    prepare: Callable[[ScalarFn, Array], Any] | None = None
    # Needs the P x P Hessian in memory (checked against the memory budget first).
    dense: bool = False
    # Needs the suite's MLP itself, not just a scalar function: then
    # apply(model, state, x, v, inputs) -> (P,).
    needs_model: bool = False


def _hessian_then_hvp(f, state, x, v, block_size=0):
    return naive_hvp(calculate_hessian(f, x, block_size), v)


def _hessian_state(f, x, block_size=0):
    return calculate_hessian(f, x, block_size)


def _linearize_state(f, x):
    return linearize_hvp(f, x)[1]


_IMPLEMENTATIONS: dict[str, Method] = {
    m.name: m
    for m in [
        Method("hessian_then_hvp", _hessian_then_hvp, dense=True),
        Method("naive_hvp", lambda f, H, x, v: naive_hvp(H, v), _hessian_state, dense=True),
        Method("hvp_rev_rev", lambda f, s, x, v: hvp_rev_rev(f, x, v)),
        Method("hvp_fwd_rev", lambda f, s, x, v: hvp_fwd_rev(f, x, v)),
        Method("hvp_rev_fwd", lambda f, s, x, v: hvp_rev_fwd(f, x, v)),
        Method("hvp_linearize", lambda f, s, x, v: hvp_linearize(f, x, v)),
        Method("hvp_linearized_apply", lambda f, lin, x, v: lin(v), _linearize_state),
        Method("hvp_by_hand", lambda model, s, x, v, inputs: model.hvp_by_hand(x, v, inputs), needs_model=True),
        Method("gradient", lambda f, s, x, v: gradient(f, x)),
        # The fixed cost of calling a compiled function with these arguments (dispatch,
        # argument handling, synchronisation): measured at every point, never inferred.
        Method(FLOOR_METHOD, lambda f, s, x, v: v[:1]),
    ]
}

# In the order of secondorder.method_names, the one list of names (configs are validated
# against it without importing JAX); a name without an implementation fails at import.
REGISTRY: dict[str, Method] = {name: _IMPLEMENTATIONS[name] for name in (*METHOD_NAMES, FLOOR_METHOD)}


def get_method(name: str, hessian_block: int = 0) -> Method:
    """The registered method `name`, with the dense-Hessian block size bound."""
    try:
        method = REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; known: {', '.join(REGISTRY)}") from None
    if not method.dense or hessian_block <= 0:
        return method
    if method.prepare is not None:
        return dataclasses.replace(method, prepare=functools.partial(method.prepare, block_size=hessian_block))
    return dataclasses.replace(method, apply=functools.partial(method.apply, block_size=hessian_block))
