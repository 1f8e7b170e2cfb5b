"""Task 2 as a Study of the one driver (expkit.study): meta-GD on ½‖x‖², its certificate, the β
sweep and the quadratic study.

Units, in order (the driver runs, resumes and keys them):
- `start`: the first row of trajectory.csv, L(α0);
- `to <step>`: meta-GD from the log's last row up to that step, one jitted chunk of `chunk_rows`
  rows (full float64 repr of α, so a resumed run replays the same trajectory bit for bit);
  once meta-GD diverged, the later chunks and stages have nothing to do;
- `certificate`, `beta sweep`, `quadratic`: the stages after the trajectory, each its own files.

derive() writes summary.json and the figures from those files; a run that diverged (meta-GD
on the task, or on the quadratic) is Outcome "diverged", which exits EXIT_FAILURES (3) after
writing everything. x64: the driver enables it around the run, so importing lr_meta never
changes another package's dtypes.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from expkit.fits import loglog_slope
from expkit.results import write_csv_atomic, write_json_atomic
from expkit.study import Outcome, Unit, read_log
from lr_meta import beta_sweep, certify, closed_form, meta_gd, quadratic
from lr_meta.config import LRMetaConfig
from lr_meta.problem import draw_alpha0, draw_x0, unrolled_loss, unrolled_loss_scan

TRAJECTORY = "trajectory.csv"


def columns(horizon: int) -> list[str]:
    """trajectory.csv's columns: step, loss, grad_norm, alpha_0..alpha_{T-1}."""
    return ["step", "loss", "grad_norm"] + [f"alpha_{k}" for k in range(horizon)]


def loss_function(config: LRMetaConfig):
    """The unrolled loss (alpha, x0) -> L the config asks for (one object per kind, so
    the jit caches in meta and certify hit across calls)."""
    return _loss_function(config.unroll, config.segments)


@functools.lru_cache(maxsize=None)
def _loss_function(unroll: str, segments: int):
    if unroll == "python":
        return unrolled_loss
    return functools.partial(unrolled_loss_scan, segments=segments or None)


def _rows(block: meta_gd.Block) -> list[dict[str, Any]]:
    # Python floats: csv writes their repr, the shortest string that reads back exactly.
    return [
        {"step": int(s), "loss": float(l), "grad_norm": float(g),
         **{f"alpha_{k}": float(a) for k, a in enumerate(alpha)}}
        for s, l, g, alpha in zip(block.steps, block.losses, block.grad_norms, block.alphas)
    ]


def power_law_slope(steps: np.ndarray, losses: np.ndarray) -> float | None:
    """Least-squares slope of log L against log step over the last 90% of the run (None: too few rows)."""
    keep = steps >= max(1, steps[-1] // 10)
    if keep.sum() < 3:
        return None
    return loglog_slope(steps[keep], losses[keep])[0]


def transfer_check(config: LRMetaConfig, alpha0, alpha_star, dtype) -> dict[str, Any]:
    """L(α*) / L(α0) on fresh x0 draws, next to the x0-free closed form ∏((1−α*)/(1−α0))²."""
    draws = np.stack([draw_x0(config.seed, config.dim, d) for d in range(1, config.transfer_draws + 1)])
    loss = jax.jit(jax.vmap(loss_function(config), in_axes=(None, 0)))
    x = jnp.asarray(draws, dtype)
    before = np.asarray(loss(jnp.asarray(alpha0, dtype), x), np.float64)
    after = np.asarray(loss(jnp.asarray(alpha_star, dtype), x), np.float64)
    ratio = after / before
    predicted = float(np.prod(((1 - alpha_star) / (1 - alpha0)) ** 2))
    return {
        "draws": config.transfer_draws,
        "loss_before_mean": float(before.mean()),
        "loss_after_mean": float(after.mean()),
        "ratio_min": float(ratio.min()),
        "ratio_max": float(ratio.max()),
        "ratio_closed_form": predicted,
        "ratio_max_rel_deviation": float(np.max(np.abs(ratio / predicted - 1))),
    }


def quadratic_study(config: LRMetaConfig, alpha0: np.ndarray, out: Path, dtype) -> dict[str, Any]:
    """Meta-GD on ½xᵀAx, then the schedule table and curves (written to `out`)."""
    eigs = quadratic.spectrum(config.quad_dim, config.quad_condition, config.quad_spectrum)
    x0 = draw_x0(config.seed, config.quad_dim)
    rows = 10 if config.quad_meta_steps % 10 == 0 else 1
    traj = meta_gd.optimise(
        quadratic.quadratic_loss, jnp.asarray(alpha0, dtype),
        (jnp.asarray(x0, dtype), jnp.asarray(eigs, dtype)),
        beta=config.quad_beta, steps=config.quad_meta_steps,
        log_every=config.quad_meta_steps // rows, chunk_rows=rows,
        divergence_factor=config.divergence_factor, mode=config.hypergrad,
    )
    schedules = {"initial (task's start)": np.asarray(alpha0, np.float64)}
    if not traj.diverged:
        schedules[f"learned (meta-GD, {config.quad_meta_steps} steps)"] = traj.alphas[-1].astype(np.float64)
    table, curves = quadratic.compare_schedules(eigs, x0, schedules)
    write_csv_atomic(out / "quadratic_table.csv", table)
    write_csv_atomic(out / "quadratic_curves.csv", curves)
    return {
        "status": "diverged" if traj.diverged else "ok",
        "mu": float(eigs[0]), "L": float(eigs[-1]), "condition": config.quad_condition,
        "meta_steps": traj.steps.tolist(), "meta_losses": traj.losses.tolist(),
        "table": table[["schedule", "loss", "ratio_to_optimal", "worst_case_factor"]].to_dict("records"),
    }


def certificate(config: LRMetaConfig, alpha_star: np.ndarray, x0, x0_np: np.ndarray, dtype) -> dict[str, Any]:
    """certificate.json: the four checks of local optimality at α*, by AD and by the closed form."""
    loss_fn = loss_function(config)
    cert = certify.certificate(
        loss_fn, jnp.asarray(alpha_star, dtype), (x0,), samples=config.perturb_samples,
        radius=config.perturb_radius, seed=config.seed,
    )
    cert["sphere"] = certify.sphere_report(
        alpha_star, x0_np, samples=config.perturb_samples, radius=config.perturb_radius,
        seed=config.seed,
    )
    cert["closed_form_loss"] = closed_form.loss(alpha_star, x0_np)
    cert["closed_form_grad_norm"] = float(np.linalg.norm(closed_form.grad(alpha_star, x0_np)))
    cert["closed_form_hessian_eigenvalues"] = np.linalg.eigvalsh(
        closed_form.hessian(alpha_star, x0_np)).tolist()
    return cert


class TaskStudy:
    """Task 2 (expkit.study protocol): units `start`, `to <step>` (chunks of meta-GD), `certificate`,
    `beta sweep`, `quadratic`."""

    name = "meta-GD"
    x64 = True

    def __init__(self, config: LRMetaConfig):
        self.config = config
        self.logs = {TRAJECTORY: columns(config.horizon)}
        self.chunk = config.log_every * config.chunk_rows  # meta-steps per unit of the trajectory
        self.ends = [min(k * self.chunk, config.meta_steps) for k in range(1, math.ceil(config.meta_steps / self.chunk) + 1)]
        self.x0_np = draw_x0(config.seed, config.dim)

    def units(self) -> list[Unit]:
        c = self.config
        return ([Unit("start", cost=1.0, label="L(α0)")]
                + [Unit(f"to {end}", cost=end - start, label=f"meta-GD to step {end}")
                   for start, end in zip([0, *self.ends], self.ends)]
                + [Unit("certificate", cost=0.01 * c.meta_steps, label="the certificate at α*"),
                   Unit("beta sweep", cost=len(c.beta_sweep) * c.meta_steps, label=f"{len(c.beta_sweep)} values of β"),
                   Unit("quadratic", cost=0.1 * c.quad_meta_steps, label="meta-GD on the quadratic")])

    # --- a run written before the driver: its rows keyed by chunk, its stages by their files ---
    def unit_of(self, log: str, row) -> str:
        step = int(row["step"])
        return "start" if step == 0 else f"to {min(math.ceil(step / self.chunk) * self.chunk, self.config.meta_steps)}"

    def legacy_complete(self, key: str, rows: dict, out_dir: Path) -> bool:
        count = len(rows[TRAJECTORY])
        if key == "start":
            return count == 1
        if key.startswith("to "):
            end = int(key[3:])
            return count == (end - max(0, (math.ceil(end / self.chunk) - 1) * self.chunk)) // self.config.log_every
        # Runs before the driver kept the quadratic study's summary in summary.json only (see derive).
        files = {"certificate": ["certificate.json"], "beta sweep": ["beta_sweep.csv"] if self.config.beta_sweep else [],
                 "quadratic": ["quadratic_table.csv"] if self.config.quad_meta_steps else []}[key]
        return all((out_dir / name).is_file() for name in files)

    # --- measuring ---
    def _alpha(self, frame: pd.DataFrame, row: int) -> np.ndarray:
        return frame[columns(self.config.horizon)[3:]].iloc[row].to_numpy(np.float64)

    def diverged(self, frame: pd.DataFrame) -> bool:
        """Whether meta-GD stopped before its last step (every chunk is measured by then)."""
        return int(frame["step"].iloc[-1]) < self.config.meta_steps

    def measure(self, unit: Unit, out_dir: Path) -> dict:
        c, dtype = self.config, np.dtype(self.config.dtype)
        x0 = jnp.asarray(self.x0_np, dtype)
        if unit.key == "start":
            alpha0 = jnp.asarray(draw_alpha0(c.seed, c.horizon, c.alpha_init_high), dtype)
            loss0, norm0 = meta_gd.make_evaluate(loss_function(c), c.hypergrad)(alpha0, x0)
            return {TRAJECTORY: _rows(meta_gd.Block(np.array([0]), np.asarray(alpha0)[None], np.asarray(loss0)[None],
                                                    np.asarray(norm0)[None]))}
        frame = read_log(out_dir, TRAJECTORY)
        last = int(frame["step"].iloc[-1])
        if unit.key.startswith("to "):
            end = int(unit.key[3:])
            if last < (math.ceil(end / self.chunk) - 1) * self.chunk:  # meta-GD diverged in an earlier chunk
                return {TRAJECTORY: []}
            rows = []
            for block in meta_gd.meta_descent(
                    loss_function(c), self._alpha(frame, -1).astype(dtype), (x0,), beta=c.beta, steps=end,
                    start_step=last, log_every=c.log_every, chunk_rows=c.chunk_rows,
                    limit=c.divergence_factor * float(frame["loss"].iloc[0]), mode=c.hypergrad):
                rows += _rows(block)
                if block.diverged:
                    break
            return {TRAJECTORY: rows}
        if self.diverged(frame):
            return {}
        alpha0, alpha_star = self._alpha(frame, 0), self._alpha(frame, -1)
        if unit.key == "certificate":
            write_json_atomic(out_dir / "certificate.json", certificate(c, alpha_star, x0, self.x0_np, dtype))
        elif unit.key == "beta sweep" and c.beta_sweep:
            final, curves = beta_sweep.sweep(loss_function(c), alpha0, self.x0_np, c.beta_sweep, c.meta_steps,
                                             mode=c.hypergrad, divergence_factor=c.divergence_factor)
            return {"beta_sweep.csv": final, "beta_sweep_curves.csv": curves}
        elif unit.key == "quadratic" and c.quad_meta_steps > 0:
            write_json_atomic(out_dir / "quadratic.json", quadratic_study(c, alpha0, out_dir, dtype))
        return {}

    # --- from the files alone ---
    def derive(self, out_dir: Path) -> Outcome:
        from lr_meta import plots

        frame = read_log(out_dir, TRAJECTORY)
        summary = task_summary(self.config, frame, self.x0_np)
        outcome = Outcome("ok", f"L: {summary['loss_before']:.6g} -> {summary['loss_after']:.6g} "
                                f"(x{summary['improvement_factor']:.3g} lower) after {summary['steps_done']} "
                                f"meta-steps; results in {out_dir}")
        if self.diverged(frame):
            summary.update(status="diverged", message=(
                f"meta-GD diverged after step {summary['steps_done']} with beta={self.config.beta}: the next logged "
                f"loss was non-finite or above {self.config.divergence_factor:g} x L(alpha0); lower beta"))
        elif self.config.quad_meta_steps > 0:
            path = out_dir / "quadratic.json"
            if not path.is_file():  # a run from before the driver: its summary.json held it
                write_json_atomic(path, json.loads((out_dir / "summary.json").read_text())["quadratic"])
            summary["quadratic"] = json.loads(path.read_text())
            if summary["quadratic"]["status"] == "diverged":
                summary.update(status="diverged", message=(f"meta-GD on the quadratic diverged with quad_beta="
                                                           f"{self.config.quad_beta}; lower quad_beta"))
        write_json_atomic(out_dir / "summary.json", summary)
        plots.plot_all(out_dir)
        return Outcome("diverged", summary["message"]) if summary["status"] == "diverged" else outcome


def task_summary(config: LRMetaConfig, frame: pd.DataFrame, x0_np: np.ndarray) -> dict[str, Any]:
    """summary.json from the trajectory: before and after, and (if it reached its last step) the power
    laws of the meta-trajectory beside gradient flow's, the transfer check and β's stability limits."""
    alpha_cols = columns(config.horizon)[3:]
    alpha0 = frame[alpha_cols].iloc[0].to_numpy(np.float64)
    alpha_star = frame[alpha_cols].iloc[-1].to_numpy(np.float64)
    steps, losses = frame["step"].to_numpy(), frame["loss"].to_numpy(np.float64)
    summary: dict[str, Any] = {
        "status": "ok", "steps_done": int(steps[-1]), "loss_before": float(losses[0]), "loss_after": float(losses[-1]),
        "improvement_factor": float(losses[0] / losses[-1]), "grad_norm_before": float(frame["grad_norm"].iloc[0]),
        "grad_norm_after": float(frame["grad_norm"].iloc[-1]), "alpha_before": alpha0.tolist(),
        "alpha_after": alpha_star.tolist(),
    }
    if int(steps[-1]) < config.meta_steps:
        return summary
    summary["loss_tail_power_law_slope"] = power_law_slope(steps[1:], losses[1:])
    # Gradient flow with all (1 − α_k)² equal: L ∝ t^(−T/(T−1)) (docs/lr_meta.md).
    horizon, c = config.horizon, 0.5 * float(x0_np @ x0_np)
    if horizon > 1:
        summary["loss_tail_power_law_equal_factors"] = -horizon / (horizon - 1)
        # ... and its value c·(4βc(T−1)t)^(−T/(T−1)) at the last step, start forgotten.
        summary["loss_after_flow_prediction"] = c * (
            4 * config.beta * c * (horizon - 1) * int(steps[-1])) ** (-horizon / (horizon - 1))
    summary["transfer"] = transfer_check(config, alpha0, alpha_star, np.dtype(config.dtype))
    summary["distance_tail_power_law_slope"] = power_law_slope(
        steps[1:], np.min(np.abs(1.0 - frame[alpha_cols].to_numpy(np.float64)), axis=1)[1:])
    if horizon > 1:  # p² ∝ t^(−1/(T−1)) on the flow with equal factors, so p ∝ t^(−1/(2(T−1)))
        summary["distance_tail_power_law_equal_factors"] = -1 / (2 * (horizon - 1))
    summary["beta_stability"] = beta_sweep.stability_bounds(alpha0, x0_np)
    return summary
