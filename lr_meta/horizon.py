"""Time and memory of the three hypergradients against the horizon T (study "horizon").

Problem: the task's ½‖x‖² from x0 ~ U[0, 1]^dim, T steps from a K-knot schedule with
Σα_k ≈ total_step whatever T. Each point (method, T, K) is compiled ahead of time;
XLA's buffer assignment (`compiled.memory_analysis()`) gives its memory, exact and
noise-free; it is then warmed up and timed `repeats` times by the suite's timing loop
(secondorder.timing: `block_until_ready`, no transfer allowed inside).
Its value and ∂L/∂θ are checked against the closed form (docs/lr_meta.md), chained
through the schedule: ∂L/∂θ = Bᵀ(α ⊙ ∂L/∂α) with ∂L/∂α_k = −2L/(1 − α_k).

One row per point goes to points.csv as soon as it is measured (resume: finished points
are skipped); summary.json holds the agreement between methods, the fitted exponents
beside the theory, and the goals of issue #11.
"""

from __future__ import annotations

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from expkit.fits import bootstrap_floor_power_law, bootstrap_slope, loglog_slope_ci
from lr_meta import closed_form, schedule, unroll
from lr_meta.problem import draw_x0, sphere
from secondorder.timing import memory_of, time_compiled

COLUMNS = ["method", "horizon", "knots", "compile_s", "temp_bytes", "argument_bytes", "output_bytes",
           "loss", "loss_rel_err", "grad_rel_err", "time_median_s", "time_min_s", "times_s", "grad"]
# Exponents of T the analysis predicts: stored iterates T, √T or none; one pass per step.
THEORY = {"reverse": {"memory": 1.0, "time": 1.0}, "checkpointed": {"memory": 0.5, "time": 1.0},
          "forward": {"memory": 0.0, "time": 1.0}}


def sphere_objective(x, data):
    """½‖x‖² in the (x, data) form `lr_meta.unroll` takes; data is unused."""
    return sphere(x)


def points(config) -> list[tuple[str, int, int]]:
    """(method, T, K): every method at every horizon with `knots`, then the K sweep."""
    grid = [(m, t, config.knots) for t in config.horizons for m in config.methods]
    grid += [(m, config.knot_sweep_horizon, k) for k in config.knot_sweep for m in config.methods]
    return list(dict.fromkeys(grid))


def schedule_theta(config, horizon: int, knots: int) -> np.ndarray:
    """θ (K,): log(total_step / T) plus a fixed N(0, 0.3²) ripple, so no two steps are equal."""
    ripple = np.random.default_rng([config.seed, 3, knots]).normal(0.0, 0.3, knots)
    return np.log(config.total_step / horizon) + ripple


def closed_form_hypergrad(theta: np.ndarray, x0: np.ndarray, horizon: int) -> tuple[float, np.ndarray]:
    """L and ∂L/∂θ (K,) from the closed form, NumPy float64."""
    alpha = schedule.alphas(theta, horizon)
    loss = closed_form.loss(alpha, x0)
    return loss, schedule.basis(horizon, theta.size).T @ (alpha * (-2.0 * loss / (1.0 - alpha)))


def measure(config, method: str, horizon: int, knots: int) -> dict:
    """One row of points.csv: compile, memory analysis, timed runs, error against the closed form."""
    x0_np = draw_x0(config.seed, config.dim)
    theta_np = schedule_theta(config, horizon, knots)
    theta, x0 = jnp.asarray(theta_np), jnp.asarray(x0_np)
    loss = functools.partial(unroll.final_loss, f=sphere_objective, horizon=horizon)
    start = time.perf_counter()
    compiled = jax.jit(unroll.value_and_hypergrad(method, loss)).lower(theta, x0, ()).compile()
    compile_s = time.perf_counter() - start
    memory = memory_of(compiled)
    # The suite's timing loop: warm-up apart, block_until_ready, no transfer inside.
    times, (value, grad) = time_compiled(compiled, (theta, x0, ()), config.repeats, config.warmup)
    times = [float(t) for t in times]  # Python floats: the CSV keeps their exact repr
    want_loss, want_grad = closed_form_hypergrad(theta_np, x0_np, horizon)
    grad = np.asarray(grad, np.float64)
    return {
        "method": method, "horizon": horizon, "knots": knots, "compile_s": compile_s,
        "temp_bytes": memory["temp_bytes"], "argument_bytes": memory["argument_bytes"],
        "output_bytes": memory["output_bytes"],
        "loss": float(value), "loss_rel_err": abs(float(value) / want_loss - 1.0),
        "grad_rel_err": rel_err(grad, want_grad),
        "time_median_s": float(np.median(times)), "time_min_s": float(np.min(times)),
        "times_s": " ".join(repr(t) for t in times), "grad": " ".join(repr(float(g)) for g in grad),
    }


def rel_err(got: np.ndarray, want: np.ndarray) -> float:
    """max|got − want| / max|want|: the error relative to the vector's scale."""
    return float(np.max(np.abs(np.asarray(got) - want)) / np.max(np.abs(want)))


def memory_fit(horizons: np.ndarray, nbytes: np.ndarray) -> dict:
    """Log-log slope of exact (deterministic) bytes with its 95% least-squares CI.

    The points carry no noise, so the CI measures how far log bytes is from a straight
    line in log T (`expkit.fits.loglog_slope_ci`; NaN with fewer than 3 T).
    """
    fit = loglog_slope_ci(horizons, nbytes)
    return {"slope": fit.slope, "lo": fit.lo, "hi": fit.hi, "points": fit.points}


def summarise(config, frame: pd.DataFrame) -> dict:
    """Agreement, fitted exponents with CIs next to the theory, and the issue's goals."""
    main = frame[frame["knots"] == config.knots]
    agreement = []
    for (horizon, knots), group in frame.groupby(["horizon", "knots"]):
        grads = {m: np.array(g.split(), float) for m, g in zip(group["method"], group["grad"])}
        pairs = [rel_err(grads[a], grads[b]) for a in grads for b in grads if a < b]
        agreement.append({"horizon": int(horizon), "knots": int(knots),
                          "max_rel_diff_between_methods": max(pairs, default=0.0),
                          "max_rel_err_closed_form": float(group["grad_rel_err"].max())})
    fits = {}
    for method, group in main.groupby("method"):
        group = group.sort_values("horizon")
        timed = group[group["horizon"] >= config.fit_min_horizon]
        times = {int(t): np.array(s.split(), float) for t, s in zip(timed["horizon"], timed["times_s"])}
        time_fit = bootstrap_slope(times)
        # All T, with a fixed per-call floor a taken out: t = a + c·T^k, k with a bootstrap CI.
        all_times = {int(t): np.array(s.split(), float) for t, s in zip(group["horizon"], group["times_s"])}
        floor = bootstrap_floor_power_law(all_times, seed=config.seed)
        fits[method] = {
            "memory_temp": memory_fit(group["horizon"].to_numpy(), group["temp_bytes"].to_numpy()),
            "time": {"slope": time_fit.slope, "lo": time_fit.lo, "hi": time_fit.hi, "points": time_fit.points,
                     "min_horizon": config.fit_min_horizon},
            "time_floor_fit": floor,
            "theory": THEORY[method],
        }
    worst = max((a["max_rel_diff_between_methods"] for a in agreement), default=0.0)
    worst_cf = max((a["max_rel_err_closed_form"] for a in agreement), default=0.0)
    goals = {"agree_rtol": config.rtol, "agree": bool(worst <= config.rtol and worst_cf <= config.rtol),
             "max_rel_diff_between_methods": worst, "max_rel_err_closed_form": worst_cf}
    top = main[main["horizon"] == max(config.horizons)].set_index("method")
    if "reverse" in top.index:
        goals["time_over_reverse_at_max_horizon"] = {
            m: float(top.loc[m, "time_median_s"] / top.loc["reverse", "time_median_s"]) for m in top.index}
    if {"reverse", "checkpointed"} <= set(top.index):
        ratio = float(top.loc["checkpointed", "temp_bytes"] / top.loc["reverse", "temp_bytes"])
        goals.update(checkpointed_over_reverse_memory=ratio, checkpointed_memory_goal_met=ratio <= 1 / 20)
    if "forward" in fits:
        goals.update(forward_memory_slope=fits["forward"]["memory_temp"]["slope"],
                     forward_memory_flat=bool(fits["forward"]["memory_temp"]["slope"] < 0.1))
    return {"agreement": agreement, "fits": fits, "goals": goals}
