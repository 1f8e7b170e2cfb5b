"""∂L/∂α, the hypergradient, three ways: reverse mode, forward mode, finite differences.

L maps T = 10 inputs to one output. Reverse mode (`jax.grad` through the unrolled
loop) costs about one extra pass but stores the T iterates; forward mode (`jax.jacfwd`,
T batched JVPs) stores nothing extra and costs T tangent passes, which is cheap because
T is tiny. Central finite differences cost 2T loss evaluations and are accurate to
about √ε_mach at best: a third witness, not a method. All take `loss_fn(alpha, *args)`.
"""

from __future__ import annotations

from collections.abc import Callable

import jax

LossFn = Callable[..., jax.Array]


def reverse(loss_fn: LossFn) -> Callable:
    """(alpha, *args) -> (L, ∂L/∂α) by reverse mode: scalar, (T,)."""
    return jax.value_and_grad(loss_fn)


def forward(loss_fn: LossFn) -> Callable:
    """(alpha, *args) -> (L, ∂L/∂α) by forward mode: T JVPs against the unit vectors."""

    def value_and_grad(alpha, *args):
        def with_value(a):
            value = loss_fn(a, *args)
            return value, value

        grad, value = jax.jacfwd(with_value, has_aux=True)(alpha)
        return value, grad

    return value_and_grad


MODES: dict[str, Callable[[LossFn], Callable]] = {"reverse": reverse, "forward": forward}


def hessian(loss_fn: LossFn) -> Callable:
    """(alpha, *args) -> ∂²L/∂α², (T, T): `jax.hessian`, forward over reverse."""
    return jax.hessian(loss_fn)
