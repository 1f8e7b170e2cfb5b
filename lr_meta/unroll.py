"""Long unrolled descent and its hypergradient ∂L/∂θ three ways.

L(θ) = f(x_T, data) after x_{k+1} = x_k − α_k ∇f(x_k, data), α from the schedule θ
(K,) of `lr_meta.schedule`. For T in the thousands, the three ways to differentiate
differ in what they keep:

  reverse       `jax.value_and_grad` through one `lax.scan`: the backward pass needs
                every iterate, so memory grows as T·dim; time about 3 forward passes.
  checkpointed  the same through nested scans, an outer scan over ⌈T/m⌉ segments of
                m = ⌈√T⌉ steps whose body is `jax.checkpoint`-ed: only segment
                boundaries are stored and one segment is recomputed at a time, so
                memory is about (T/m + m)·dim ≈ 2√T·dim, for one extra forward pass.
  forward       `jax.jacfwd` over θ: K tangents pushed alongside x (K + 1 vectors),
                nothing stored, memory flat in T; time about T·K. Nested scans with
                `jax.checkpoint` are forward-differentiable too; the online
                checkpointed while-loops of equinox/diffrax are not (reverse-mode
                only).

Padding to a whole number of segments uses steps of size 0 (x − 0·∇f = x exactly).
With K = T the schedule is read as the scan's input (one α per step); with K < T
each α_k is computed inside the loop from θ and k, so no T-vector exists.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from lr_meta.schedule import alpha_at

Objective = Callable[[jax.Array, object], jax.Array]
METHODS = ("reverse", "checkpointed", "forward")


def segment_length(horizon: int) -> int:
    """m = ⌈√T⌉ steps per checkpointed segment (minimises T/m + m)."""
    return max(1, math.isqrt(horizon - 1) + 1) if horizon > 1 else 1


def descend(theta, x0, data, *, f: Objective, horizon: int, checkpointed: bool = False):
    """x_T after `horizon` gradient steps on f(·, data) from x0 with the schedule θ.

    Args:
      theta: (K,) log step-size knots; K = horizon means one per step.
      x0: (dim,) start.
      data: pytree passed to f (the problem's draw; () for the sphere).
      f: objective (x, data) -> scalar.
      horizon: T.
      checkpointed: nested scans with `jax.checkpoint` on each segment.

    Returns:
      (dim,) x_T.
    """
    grad_f = jax.grad(f)
    per_step = theta.shape[0] == horizon

    def step(carry, log_alpha):
        x, k = carry
        alpha = jnp.exp(log_alpha) if per_step else alpha_at(theta, k, horizon)
        alpha = jnp.where(k < horizon, alpha, 0.0)  # padding steps are the identity
        return (x - alpha * grad_f(x, data), k + 1), None

    start = (x0, jnp.asarray(0, jnp.int32))
    if not checkpointed:
        (x, _), _ = jax.lax.scan(step, start, theta if per_step else None, length=horizon)
        return x
    m = segment_length(horizon)
    segments = -(-horizon // m)
    xs = None
    if per_step:  # pad with log α = 0; the mask above makes those steps size 0
        xs = jnp.concatenate([theta, jnp.zeros(segments * m - horizon, theta.dtype)]).reshape(segments, m)

    @jax.checkpoint
    def segment(carry, seg_xs):
        carry, _ = jax.lax.scan(step, carry, seg_xs, length=m)
        return carry, None

    (x, _), _ = jax.lax.scan(segment, start, xs, length=segments)
    return x


def final_loss(theta, x0, data, *, f: Objective, horizon: int, checkpointed: bool = False):
    """L(θ) = f(x_T, data): scalar."""
    return f(descend(theta, x0, data, f=f, horizon=horizon, checkpointed=checkpointed), data)


def mean_final_loss(theta, x0s, datas, *, f: Objective, horizon: int, checkpointed: bool = False):
    """Mean of L over a batch of draws (x0s (n, dim), datas with leading axis n): scalar."""
    loss = functools.partial(final_loss, f=f, horizon=horizon, checkpointed=checkpointed)
    return jnp.mean(jax.vmap(loss, in_axes=(None, 0, 0))(theta, x0s, datas))


def value_and_hypergrad(method: str, loss: Callable) -> Callable:
    """(theta, *args) -> (L, ∂L/∂θ (K,)) by `method`, for a loss(theta, *args, checkpointed=...)."""
    if method == "reverse":
        return jax.value_and_grad(functools.partial(loss, checkpointed=False))
    if method == "checkpointed":
        return jax.value_and_grad(functools.partial(loss, checkpointed=True))
    if method == "forward":
        def value_and_grad(theta, *args):
            def with_value(t):
                value = loss(t, *args, checkpointed=False)
                return value, value

            grad, value = jax.jacfwd(with_value, has_aux=True)(theta)
            return value, grad

        return value_and_grad
    raise ValueError(f"unknown hypergradient method {method!r}; known: {', '.join(METHODS)}")
