"""Tuning the schedule of T steps of logistic regression, judged on held-out draws (study "training").

For each horizon T the schedules compared on `test_draws` fresh data sets are:
  * constant α, the best of a grid on the training draws;
  * decaying α_k = α0/√(k + 1), α0 the best of the same grid;
  * Chebyshev on [λ_min, λ_max] of H(0) over the training draws: the quadratic model's
    worst-case optimal schedule (optimal for a quadratic with that spectrum; here only
    a model, since H(w) changes along the path);
  * tuned, K knots: Adam on θ with forward-mode hypergradients (K tangents);
  * tuned, per-step (K = T): Adam on θ with checkpointed reverse mode.
Tuning minimises the mean over the training draws of log(f(w_T) − f*), the task's
L = f(x_T) measured from the draw's optimum and on a log scale: at long T the
suboptimality spans orders of magnitude while f(w_T) itself sits near f* ≈ 0.25, and
the log gives every draw the same weight and a scale-free hypergradient. Grids pick by
the same criterion. Both tuned schedules start from the best constant step and keep the
best θ seen.

`hypergrad_norms` measures how ‖∂L/∂θ‖ of the per-step schedule grows with T at
constant steps below and above the stability limit 2/λ_max(H(0)).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from lr_meta import logistic, quadratic, schedule, unroll

# Suboptimality below FLOOR·f* is rounding (f* is exact to about 1e-16 relative).
FLOOR = 1e-13
RESULT_COLUMNS = ["horizon", "schedule", "knots", "train_objective", "test_objective", "test_suboptimality",
                  "test_max_suboptimality", "test_win_fraction", "start_train_loss", "start_grad_norm", "best_meta_step", "finite", "alphas"]
NORM_COLUMNS = ["horizon", "multiple", "alpha", "train_loss", "grad_norm", "max_abs_w", "finite"]


@dataclasses.dataclass(frozen=True)
class Draws:
    """A batch of problems: x0s (n, d) zeros, data = (X (n, m, d), y (n, m), λ (n,)), optimum f* (n,)."""

    x0s: np.ndarray
    data: tuple
    optimum: np.ndarray
    curvature: tuple[float, float]  # (min λ_min, max λ_max) of H(0) over the draws


def make_draws(config, stream: int, count: int) -> Draws:
    """Training (stream 0) or held-out (stream 1) draws, with each draw's optimum."""
    x, y = logistic.draw(config.seed, count, config.samples, config.features, config.feature_condition, stream)
    l2 = np.full(count, config.l2)
    bounds = np.array([logistic.curvature_at_zero(xi, config.l2) for xi in x])
    optimum = np.array([logistic.optimum(xi, yi, config.l2) for xi, yi in zip(x, y)])
    return Draws(np.zeros((count, config.features)), (x, y, l2), optimum,
                 (float(bounds[:, 0].min()), float(bounds[:, 1].max())))


def log_suboptimality(theta, x0s, data, optimum, *, horizon: int, checkpointed: bool = False):
    """log(f(w_T) − f* + FLOOR·f*) of every draw: (n,). x0s (n, d), data batched, optimum (n,)."""
    loss = functools.partial(unroll.final_loss, f=logistic.loss, horizon=horizon, checkpointed=checkpointed)
    values = jax.vmap(loss, in_axes=(None, 0, 0))(theta, x0s, data)
    return jnp.log(jnp.maximum(values - optimum, 0.0) + FLOOR * optimum)


def meta_objective(theta, x0s, data, optimum, *, horizon: int, checkpointed: bool = False):
    """The tuned quantity: mean over draws of `log_suboptimality`, a scalar."""
    return jnp.mean(log_suboptimality(theta, x0s, data, optimum, horizon=horizon, checkpointed=checkpointed))


def _args(draws: Draws) -> tuple:
    return jnp.asarray(draws.x0s), tuple(map(jnp.asarray, draws.data)), jnp.asarray(draws.optimum)


@functools.lru_cache(maxsize=None)
def _evaluate(horizon: int):
    return jax.jit(functools.partial(log_suboptimality, horizon=horizon))


def evaluate(theta: np.ndarray, draws: Draws, horizon: int) -> np.ndarray:
    """log suboptimality of every draw under the schedule θ: (n,) float64 (nan kept: a result)."""
    return np.asarray(_evaluate(horizon)(jnp.asarray(theta), *_args(draws)), np.float64)


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if np.all(np.isfinite(values)) else float("inf")


def grid_search(thetas: list[np.ndarray], draws: Draws, horizon: int) -> int:
    """Index of the θ with the lowest meta-objective on `draws` (non-finite counts as +inf)."""
    return int(np.argmin([_mean(evaluate(t, draws, horizon)) for t in thetas]))


@functools.lru_cache(maxsize=None)
def _adam(horizon: int, knots: int, method: str, steps: int, lr: float):
    loss = functools.partial(meta_objective, horizon=horizon)
    value_and_grad = unroll.value_and_hypergrad(method, loss)
    b1, b2, eps = 0.9, 0.999, 1e-8  # Adam's defaults (Kingma & Ba 2015)

    @jax.jit
    def run(theta, x0s, data, optimum):
        def step(state, i):
            theta, m, v = state
            value, g = value_and_grad(theta, x0s, data, optimum)
            m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g**2
            mhat, vhat = m / (1 - b1 ** (i + 1)), v / (1 - b2 ** (i + 1))
            return (theta - lr * mhat / (jnp.sqrt(vhat) + eps), m, v), (theta, value, jnp.linalg.norm(g))

        zeros = jnp.zeros_like(theta)
        _, (thetas, values, norms) = jax.lax.scan(step, (theta, zeros, zeros), jnp.arange(steps, dtype=theta.dtype))
        return thetas, values, norms

    return run


def tune(theta0: np.ndarray, draws: Draws, horizon: int, method: str, steps: int, lr: float) -> dict:
    """Adam on θ from θ0 for `steps` meta-steps; the θ with the lowest training loss wins.

    Adam's update is invariant to the hypergradient's scale, which is what makes it
    usable when ‖∂L/∂θ‖ grows by orders of magnitude with T (`hypergrad_norms`).

    Returns:
      {"theta": best θ (K,), "best_meta_step", "start_loss", "start_grad_norm"}.
    """
    run = _adam(horizon, theta0.size, method, steps, lr)
    thetas, values, norms = (np.asarray(a, np.float64) for a in run(jnp.asarray(theta0), *_args(draws)))
    values = np.where(np.isfinite(values), values, np.inf)
    best = int(np.argmin(values))
    return {"theta": thetas[best], "best_meta_step": best, "start_loss": float(values[0]),
            "start_grad_norm": float(norms[0])}


def baselines(config, train: Draws, horizon: int) -> dict[str, np.ndarray]:
    """θ of the grid-tuned constant and decaying schedules and of Chebyshev on H(0)."""
    lip = train.curvature[1]
    grid = np.geomspace(config.grid_low, config.grid_high, config.grid_points) / lip
    constant = [schedule.constant(a, 1) for a in grid]
    decay = [np.log(a / np.sqrt(np.arange(1, horizon + 1))) for a in grid]
    return {
        "constant (grid)": constant[grid_search(constant, train, horizon)],
        "decaying a0/sqrt(k+1) (grid)": decay[grid_search(decay, train, horizon)],
        "Chebyshev on H(0)": np.log(quadratic.chebyshev_steps(*train.curvature, horizon)),
    }


def schedule_count(config, horizon: int) -> int:
    """Rows `compare` yields at horizon T: three baselines, per-step, and K knots if K < T."""
    return 4 + (config.knots < horizon)


def compare(config, train: Draws, test: Draws, horizon: int):
    """Yields one RESULT_COLUMNS row per schedule at horizon T, baselines first."""
    thetas = baselines(config, train, horizon)
    start = thetas["constant (grid)"]
    tuned = [("tuned, per-step (checkpointed reverse)", horizon, "checkpointed")]
    if config.knots < horizon:  # K = T would repeat the per-step schedule
        tuned.insert(0, (f"tuned, {config.knots} knots (forward mode)", config.knots, "forward"))
    for name, knots, method in tuned:
        thetas[name] = tune(np.full(knots, start[0]), train, horizon, method, config.meta_steps, config.meta_lr)
    reference = evaluate(start, test, horizon)
    for name, entry in thetas.items():
        info = entry if isinstance(entry, dict) else {"theta": entry}
        theta = info["theta"]
        train_obj, test_obj = evaluate(theta, train, horizon), evaluate(theta, test, horizon)
        yield {
            "horizon": horizon, "schedule": name, "knots": theta.size,
            "train_objective": _mean(train_obj), "test_objective": _mean(test_obj),
            # Arithmetic mean of f(w_T) − f* (+ the floor) over the held-out draws.
            "test_suboptimality": _mean(np.exp(test_obj)),
            "test_max_suboptimality": float(np.max(np.exp(test_obj))) if np.all(np.isfinite(test_obj)) else float("inf"),
            # Share of held-out draws on which this schedule ends lower than the best constant.
            "test_win_fraction": float(np.mean(test_obj < reference)),
            "start_train_loss": info.get("start_loss", float("nan")),
            "start_grad_norm": info.get("start_grad_norm", float("nan")),
            "best_meta_step": info.get("best_meta_step", -1),
            "finite": bool(np.all(np.isfinite(test_obj))),
            "alphas": " ".join(repr(float(a)) for a in schedule.alphas(theta, horizon)),
        }


@functools.lru_cache(maxsize=None)
def _norm_functions(horizon: int):
    # Compiled once per T and shared by every α (an argument, not a constant).
    loss = functools.partial(unroll.mean_final_loss, f=logistic.loss, horizon=horizon)
    descend = functools.partial(unroll.descend, f=logistic.loss, horizon=horizon)
    return (jax.jit(unroll.value_and_hypergrad("checkpointed", loss)),
            jax.jit(jax.vmap(descend, in_axes=(None, 0, 0))))


def hypergrad_norm(train: Draws, horizon: int, alpha: float) -> dict:
    """Mean f(w_T) and ‖∂L/∂θ‖ (L = mean f(w_T)) of the per-step schedule at constant α.

    L is the task's plain f(w_T) here, not the log-suboptimality, so that the norm shows
    the unroll's own sensitivity (checkpointed reverse mode).
    """
    value_and_grad, descend = _norm_functions(horizon)
    data = tuple(map(jnp.asarray, train.data))
    value, grad = value_and_grad(jnp.full(horizon, np.log(alpha)), jnp.asarray(train.x0s), data)
    w = descend(jnp.full(1, np.log(alpha)), jnp.asarray(train.x0s), data)
    norm = float(jnp.linalg.norm(grad))
    return {"train_loss": float(value), "grad_norm": norm, "max_abs_w": float(jnp.max(jnp.abs(w))),
            "finite": bool(np.isfinite(norm) and np.isfinite(float(value)))}
