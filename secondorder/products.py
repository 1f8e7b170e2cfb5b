"""Hessian-vector products of a scalar function of any pytree, every way JAX composes them.

The homework's three names (`calculate_hessian`, `naive_hvp`, `hvp`) beside the other
compositions of JAX's AD, named after how they compose: `hvp_<outer>_<inner>`. The point
x and the vector v are any pytree of arrays with the same structure (a dict of weights, a
flax or equinox model's parameters, or one flat vector, which is a pytree too); every
product returns that structure. The dense Hessian is (P, P) in
`jax.flatten_util.ravel_pytree` order.

    >>> import jax.numpy as jnp
    >>> f = lambda p: jnp.sum(p["w"] ** 3) + p["b"] * jnp.sum(p["w"])
    >>> x = {"w": jnp.array([1.0, 2.0]), "b": jnp.array(3.0)}
    >>> v = {"w": jnp.array([1.0, 0.0]), "b": jnp.array(1.0)}
    >>> hvp_fwd_rev(f, x, v)["w"].tolist()   # 6 w v_w + v_b
    [7.0, 1.0]
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

Array = jax.Array
PyTree = Any
ScalarFn = Callable[[PyTree], Array]
AGREEMENT_RTOL = {"float32": 1e-3, "float64": 1e-8}
"""The largest max |a - b| / max |b| at which two ways of computing the same products (a
vmapped block against single products, a dense Hessian against an HVP) count as the same
answer, by dtype. Measured where right: 1e-11 and below in float64 up to 1000 layers;
where XLA:CPU's vmapped tanh-GELU fault strikes, 1e7 (docs/xla_cpu_tanh_jvp.md)."""


def is_flat(x: PyTree) -> bool:
    """Whether x is already one flat vector (P,): then nothing is raveled, so the homework's
    flat path compiles to exactly the program it always did."""
    return isinstance(x, jax.Array) and x.ndim == 1


def ravel(x: PyTree) -> tuple[Array, Callable[[Array], PyTree]]:
    """(flat (P,), unravel): `ravel_pytree`, or x itself and the identity when x is flat."""
    return (x, lambda flat: flat) if is_flat(x) else ravel_pytree(x)


def tree_vdot(a: PyTree, b: PyTree) -> Array:
    """<a, b> summed over the leaves of two pytrees of the same structure."""
    return functools.reduce(operator.add, (jnp.vdot(x, y) for x, y in
                                           zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)))


def vmap_safe_loss(model_or_f) -> Callable:
    """The function to differentiate where products are vmapped: for the suite's MLP (or a
    bound method of it, e.g. `model.loss`), the same function of its vmap-safe form
    (`MLP.vmap_safe`: XLA:CPU differentiates the tanh GELU wrongly under vmap); any other
    function as written."""
    if hasattr(model_or_f, "vmap_safe"):
        return model_or_f.vmap_safe().loss
    owner = getattr(model_or_f, "__self__", None)
    if hasattr(owner, "vmap_safe"):
        return getattr(owner.vmap_safe(), model_or_f.__name__)
    return model_or_f


def calculate_hessian(model, params: PyTree, block_size: int = 0) -> Array:
    """The dense Hessian of a scalar function, by autodiff.

    Args:
      model: any scalar function of `params`, or the suite's `MLP` or its bound `loss`
        (then in the form whose vmapped derivatives XLA:CPU gets right: `MLP.vmap_safe`).
      params: a pytree of arrays, P numbers in all.
      block_size: 0 for `jax.hessian` (all P columns vectorised at once: temporaries of
        P x activations); otherwise columns are built `block_size` at a time with
        `lax.map`, which bounds the temporaries when P is large.
    Returns:
      (P, P), symmetric, rows and columns in `ravel_pytree(params)` order.
    """
    f = vmap_safe_loss(model)  # jax.hessian and lax.map's blocks vmap the products
    x, unravel = ravel(params)
    if not is_flat(params):
        f = (lambda g: lambda flat: g(unravel(flat)))(f)
    if block_size <= 0:
        return jax.hessian(f)(x)
    n = x.shape[0]

    def column(i):
        return hvp_fwd_rev(f, x, jax.nn.one_hot(i, n, dtype=x.dtype))

    # Row i of the result is H e_i, which is column i since H is symmetric.
    return jax.lax.map(column, jnp.arange(n), batch_size=min(block_size, n))


def naive_hvp(hessian: Array, vector: PyTree) -> PyTree:
    """H @ v from a precomputed Hessian. hessian: (P, P); vector: a pytree of P numbers -> its structure."""
    flat, unravel = ravel(vector)
    return unravel(hessian @ flat)


def hvp_rev_rev(f: ScalarFn, x: PyTree, v: PyTree) -> PyTree:
    """Reverse-over-reverse: the gradient of x -> <grad f(x), v>."""
    return jax.grad(lambda x: tree_vdot(jax.grad(f)(x), v))(x)


hvp = hvp_rev_rev
"""The homework's `hvp(f, x, v)`: the same function as `hvp_rev_rev` (reverse-over-reverse), under the homework's name."""


def hvp_fwd_rev(f: ScalarFn, x: PyTree, v: PyTree) -> PyTree:
    """Forward-over-reverse: the directional derivative of grad f at x along v."""
    return jax.jvp(jax.grad(f), (x,), (v,))[1]


def hvp_rev_fwd(f: ScalarFn, x: PyTree, v: PyTree) -> PyTree:
    """Reverse-over-forward: the gradient of x -> (directional derivative of f along v)."""
    return jax.grad(lambda x: jax.jvp(f, (x,), (v,))[1])(x)


def linearize_hvp(f: ScalarFn, x: PyTree) -> tuple[PyTree, Callable[[PyTree], PyTree]]:
    """grad f(x) and a function v -> H v that reuses one linearization.

    For many vectors at one point (Hutchinson, Lanczos): the forward and backward passes
    of grad f run once; each later product is one linear (JVP) pass. The returned
    function is a `jax.tree_util.Partial`, so it can cross `jax.jit`.
    """
    return jax.linearize(jax.grad(f), x)


def hvp_linearize(f: ScalarFn, x: PyTree, v: PyTree) -> PyTree:
    """`linearize_hvp` for a single vector (linearize and apply, both timed)."""
    return linearize_hvp(f, x)[1](v)


def gradient(f: ScalarFn, x: PyTree) -> PyTree:
    """grad f(x): the baseline every HVP is measured against."""
    return jax.grad(f)(x)


def prepare(state: str | None, f: ScalarFn, x: PyTree, hessian_block: int = 0) -> Any:
    """The untimed state a method is given (secondorder.methods): "hessian", "linearization" or None."""
    if state == "hessian":
        return calculate_hessian(f, x, hessian_block)
    if state == "linearization":
        return linearize_hvp(f, x)[1]
    return None


def apply(name: str, f: ScalarFn, state: Any, x: PyTree, v: PyTree, *inputs: Any, hessian_block: int = 0) -> Any:
    """The timed computation of the method `name` (secondorder.methods). For hvp_by_hand, f is the MLP."""
    match name:
        case "hessian_then_hvp":
            return naive_hvp(calculate_hessian(f, x, hessian_block), v)
        case "naive_hvp":
            return naive_hvp(state, v)
        case "hvp_rev_rev":
            return hvp_rev_rev(f, x, v)
        case "hvp_fwd_rev":
            return hvp_fwd_rev(f, x, v)
        case "hvp_rev_fwd":
            return hvp_rev_fwd(f, x, v)
        case "hvp_linearize":
            return hvp_linearize(f, x, v)
        case "hvp_linearized_apply":
            return state(v)
        case "hvp_by_hand":  # the R-operator is written on the flat vector
            flat_x, unravel = ravel(x)
            return unravel(f.hvp_by_hand(flat_x, ravel(v)[0], *inputs))
        case "gradient":
            return gradient(f, x)
        case "dispatch_floor":
            return jnp.ravel(jax.tree.leaves(v)[0])[:1]
    raise ValueError(f"no implementation for method {name!r}")
