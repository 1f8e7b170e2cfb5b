"""Meta gradient descent on the step sizes: α ← α − β ∂L/∂α, jitted, in logged chunks.

One meta-step is a single jitted function (`make_meta_step`). The runner instead
calls `make_chunk`: one jitted `lax.scan` over `rows` x `log_every` meta-steps that
returns the state every `log_every` steps, so a long run is a few dispatches and a
resumed run replays exactly the same compiled program from any logged row (the
trajectory after a resume is bitwise the one without). Divergence (a non-finite or
exploding loss) is found on the host and the bad rows are never handed out.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator

import jax
import jax.numpy as jnp
import numpy as np

from lr_meta.hypergrad import MODES


def make_meta_step(loss_fn: Callable, beta: float, mode: str = "reverse") -> Callable:
    """Jitted (alpha, *args) -> (new alpha (T,), L(alpha), ∂L/∂α (T,))."""
    value_and_grad = MODES[mode](loss_fn)

    @jax.jit
    def meta_step(alpha, *args):
        value, g = value_and_grad(alpha, *args)
        return alpha - beta * g, value, g

    return meta_step


@functools.lru_cache(maxsize=32)
def make_evaluate(loss_fn: Callable, mode: str = "reverse") -> Callable:
    """Jitted (alpha, *args) -> (L, ‖∂L/∂α‖): the logged quantities at one α."""
    value_and_grad = MODES[mode](loss_fn)

    @jax.jit
    def evaluate(alpha, *args):
        value, g = value_and_grad(alpha, *args)
        return value, jnp.linalg.norm(g)

    return evaluate


@functools.lru_cache(maxsize=32)
def make_chunk(loss_fn: Callable, log_every: int, rows: int, mode: str = "reverse") -> Callable:
    """Jitted (alpha, beta, *args) -> states after log_every, 2·log_every, ... rows·log_every steps.

    β is an argument, not a constant, so a sweep over β reuses one compiled program.

    Returns arrays alphas (rows, T), losses (rows,), grad_norms (rows,); row r holds α
    after (r + 1)·log_every meta-steps and L, ‖∂L/∂α‖ there.
    """
    value_and_grad = MODES[mode](loss_fn)

    @jax.jit
    def chunk(alpha, beta, *args):
        def one_step(_, a):
            return a - beta * value_and_grad(a, *args)[1]

        def one_row(a, _):
            a = jax.lax.fori_loop(0, log_every, one_step, a)
            value, g = value_and_grad(a, *args)
            return a, (a, value, jnp.linalg.norm(g))

        _, out = jax.lax.scan(one_row, alpha, None, length=rows)
        return out

    return chunk


@dataclasses.dataclass(frozen=True)
class Block:
    """Consecutive logged rows: steps (n,), alphas (n, T), losses (n,), grad_norms (n,).

    `diverged` is True when the row after the last one here was non-finite or above
    the divergence limit; that row and everything after it are dropped.
    """

    steps: np.ndarray
    alphas: np.ndarray
    losses: np.ndarray
    grad_norms: np.ndarray
    diverged: bool = False


def first_bad_row(alphas: np.ndarray, losses: np.ndarray, limit: float) -> int | None:
    """Index of the first row with a non-finite α or L, or L > limit; None if none."""
    bad = ~np.isfinite(losses) | ~np.all(np.isfinite(alphas), axis=1) | (losses > limit)
    return int(np.argmax(bad)) if bad.any() else None


def meta_descent(
    loss_fn: Callable,
    alpha: np.ndarray,
    args: tuple,
    *,
    beta: float,
    steps: int,
    start_step: int = 0,
    log_every: int = 1,
    chunk_rows: int = 100,
    limit: float = np.inf,
    mode: str = "reverse",
) -> Iterator[Block]:
    """Runs meta-GD from `alpha` (the state at `start_step`) up to `steps`, in blocks.

    Always runs whole chunks of `chunk_rows` rows and drops rows past `steps`, so the
    same compiled program produces every row whatever the starting row.

    Args:
      loss_fn: (alpha, *args) -> L.
      alpha: (T,) state at `start_step`, a multiple of `log_every`.
      args: the loss's other arguments (x0, ...), device arrays.
      beta: meta step size.
      steps: last meta-step, a multiple of `log_every`.
      limit: a loss above it counts as divergence (e.g. 1e6 x the initial loss).

    Yields:
      Block per chunk; the last one has `diverged=True` if the run diverged.
    """
    if start_step % log_every or steps % log_every:
        raise ValueError("start_step and steps must be multiples of log_every")
    chunk = make_chunk(loss_fn, log_every, chunk_rows, mode)
    beta = jnp.asarray(beta, jnp.asarray(alpha).dtype)
    step = start_step
    alpha = jnp.asarray(alpha)
    while step < steps:
        alphas, losses, norms = (np.asarray(a) for a in chunk(alpha, beta, *args))
        n = min(chunk_rows, (steps - step) // log_every)
        bad = first_bad_row(alphas[:n], losses[:n], limit)
        keep = n if bad is None else bad
        block = Block(
            steps=step + log_every * np.arange(1, keep + 1),
            alphas=alphas[:keep], losses=losses[:keep], grad_norms=norms[:keep],
            diverged=bad is not None,
        )
        yield block
        if block.diverged:
            return
        step += n * log_every
        alpha = jnp.asarray(alphas[n - 1])


@dataclasses.dataclass(frozen=True)
class Trajectory:
    """A whole meta-run in memory: row 0 is the start. Arrays as in `Block`."""

    steps: np.ndarray
    alphas: np.ndarray
    losses: np.ndarray
    grad_norms: np.ndarray
    diverged: bool


def optimise(
    loss_fn: Callable, alpha0: np.ndarray, args: tuple, *, beta: float, steps: int,
    log_every: int = 1, chunk_rows: int = 100, divergence_factor: float = 1e6,
    mode: str = "reverse",
) -> Trajectory:
    """Meta-GD from α0 for `steps` steps, logged every `log_every`; see `meta_descent`."""
    alpha0 = jnp.asarray(alpha0)
    loss0, norm0 = (np.asarray(v) for v in make_evaluate(loss_fn, mode)(alpha0, *args))
    blocks = [Block(np.array([0]), np.asarray(alpha0)[None], loss0[None], norm0[None])]
    blocks += meta_descent(
        loss_fn, alpha0, args, beta=beta, steps=steps, log_every=log_every,
        chunk_rows=chunk_rows, limit=divergence_factor * float(loss0), mode=mode,
    )
    return Trajectory(
        steps=np.concatenate([b.steps for b in blocks]),
        alphas=np.concatenate([b.alphas for b in blocks]),
        losses=np.concatenate([b.losses for b in blocks]),
        grad_norms=np.concatenate([b.grad_norms for b in blocks]),
        diverged=blocks[-1].diverged,
    )
