"""The inner problem: T gradient steps on f from x0, and the loss L(α) = f(x_T).

Task 2: f(x) = ½‖x‖², x0 ~ U[0, 1]^1000, T = 10 steps x_{k+1} = x_k − α_k ∇f(x_k).
`unrolled_loss` is the plain Python loop a student would write (JAX unrolls it when
tracing); `unrolled_loss_scan` is the same map as one `lax.scan`, whose compile time
does not grow with T, with optional √T-style checkpointing for long horizons.
Random draws are NumPy float64 from a seed, so they do not depend on JAX's x64 mode.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

Objective = Callable[[jax.Array], jax.Array]


def sphere(x: jax.Array) -> jax.Array:
    """f(x) = ½‖x‖², the task's objective; ∇f(x) = x. x: (dim,) -> scalar."""
    return 0.5 * jnp.sum(x**2)


def draw_x0(seed: int, dim: int, draw: int = 0) -> np.ndarray:
    """x0 ~ U[0, 1]^dim, float64, shape (dim,); `draw` > 0 gives fresh independent draws."""
    return np.random.default_rng([seed, 0, draw]).uniform(0.0, 1.0, dim)


def draw_alpha0(seed: int, horizon: int, high: float = 0.1) -> np.ndarray:
    """The task's start α_k ~ U[0, high], float64, shape (horizon,)."""
    return np.random.default_rng([seed, 1]).uniform(0.0, high, horizon)


def unrolled_loss(alpha: jax.Array, x0: jax.Array, f: Objective = sphere) -> jax.Array:
    """L(α) = f(x_T) after T = len(alpha) gradient steps on f from x0.

    Args:
      alpha: (T,) step sizes.
      x0: (dim,) starting point.
      f: objective, (dim,) -> scalar; the task's ½‖x‖² by default.

    Returns:
      scalar f(x_T).
    """
    grad_f = jax.grad(f)
    x = x0
    for k in range(alpha.shape[0]):
        x = x - alpha[k] * grad_f(x)
    return f(x)


def unrolled_values(alpha: jax.Array, x0: jax.Array, f: Objective = sphere) -> jax.Array:
    """f(x_k) for k = 0..T along the same descent: (T + 1,)."""
    grad_f = jax.grad(f)

    def step(x, a):
        x = x - a * grad_f(x)
        return x, f(x)

    _, values = jax.lax.scan(step, x0, alpha)
    return jnp.concatenate([f(x0)[None], values])


def unrolled_loss_scan(
    alpha: jax.Array, x0: jax.Array, f: Objective = sphere, segments: int | None = None
) -> jax.Array:
    """`unrolled_loss` as a `lax.scan`; with `segments`, checkpointed for long horizons.

    Reverse mode through a plain scan stores every iterate x_k: T x dim numbers. With
    `segments = s` the horizon is cut into s segments of T / s steps and each segment
    is wrapped in `jax.checkpoint`: the backward pass stores only the s segment
    boundaries and recomputes one segment's iterates at a time, T/s + s vectors
    instead of T (s ≈ √T is the classical choice), for one extra forward pass.

    Args:
      alpha: (T,) step sizes.
      x0: (dim,) starting point.
      f: objective, (dim,) -> scalar.
      segments: None for no checkpointing, else a divisor of T.

    Returns:
      scalar f(x_T).
    """
    grad_f = jax.grad(f)

    def step(x, a):
        return x - a * grad_f(x), None

    if segments is None:
        x, _ = jax.lax.scan(step, x0, alpha)
        return f(x)
    horizon = alpha.shape[0]
    if segments < 1 or horizon % segments:
        raise ValueError(f"segments must divide the horizon {horizon}, got {segments}")

    @jax.checkpoint
    def segment(x, alphas):
        x, _ = jax.lax.scan(step, x, alphas)
        return x, None

    x, _ = jax.lax.scan(segment, x0, alpha.reshape(segments, horizon // segments))
    return f(x)
