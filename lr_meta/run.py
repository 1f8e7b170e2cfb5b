"""The runner behind scripts/run_lr_meta.py: config -> meta-GD log -> certificate -> figures.

Order matters for "nothing written on bad input": the config is loaded and validated,
an existing run directory is checked for a matching config, and only then is anything
created. The meta-trajectory is appended to trajectory.csv chunk by chunk (full
float64 repr of α, so a killed run resumes from its last row and replays the same
trajectory bit for bit). The stages after it (certificate, β sweep, quadratic study) each
keep their files, so a run cut short after its last step resumes with the stages not yet
written; the summary and figures are rewritten from the files at the end of every run.

x64: the runner enables it with the `jax.enable_x64(True)` context around the run
instead of flipping the global flag at import, so importing lr_meta never changes
another package's dtypes (hvp_bench's tests share the pytest process).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

from expkit.cli import EXIT_FAILURES, config_parser, dry_run, run_cli
from expkit.config import ConfigError
from expkit.fits import loglog_slope
from expkit.lifecycle import RunRecord
from expkit.provenance import environment_info
from expkit.results import CsvLog, json_once, write_csv_atomic, write_json_atomic
from lr_meta import beta_sweep, certify, closed_form, meta_gd, quadratic
from lr_meta.config import LRMetaConfig, load
from lr_meta.problem import draw_alpha0, draw_x0, unrolled_loss, unrolled_loss_scan

# Exit status of a run that diverged (bad input is 2, via run_cli).
EXIT_DIVERGED = EXIT_FAILURES


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


def main(argv: list[str] | None = None) -> int:
    """Parses the command line and runs; returns the exit status (0, or 3 if diverged)."""
    parser = config_parser(
        "Tune the T step sizes of gradient descent on ½‖x‖² by meta gradient descent, "
        "certify the result, and compare schedules on ill-conditioned quadratics; with "
        "study = \"horizon\" or \"training\" in the config, time the three hypergradients "
        "against T or tune schedules for logistic regression.",
        ["lr-meta --config configs/lr_meta.toml",
         "lr-meta --config configs/lr_meta_smoke.toml --set beta=0.01 --set meta_steps=500",
         "lr-meta --config configs/lr_meta_horizon.toml",
         "lr-meta --config configs/lr_meta_training.toml"],
    )
    args = parser.parse_args(argv)
    config = load(args.config, args.overrides)
    out = Path(args.out) if args.out else Path("runs") / config.name
    record = RunRecord.open(out, config)
    if args.dry_run:
        return dry_run(config, out)
    if config.study != "task":
        from lr_meta import studies

        return studies.main(config, record, args.redraw)
    log = CsvLog(out / "trajectory.csv", columns(config.horizon))
    frame = log.read()
    done = int(frame["step"].iloc[-1]) if len(frame) else 0
    diverged = (record.previous or {}).get("status") == "diverged"  # it stopped early, for good
    if record.nothing_to_do(0 if diverged else config.meta_steps - done, args.redraw):
        return 0
    # x64 is switched on here, with the environment recorded inside, so meta.json says so.
    with jax.enable_x64(True):
        record.start(environment_info(), total=config.meta_steps, done=done)
        with record.guard():
            return run(config, record, log)


def cli(argv: list[str] | None = None) -> None:
    """`main` with one-line errors and exit statuses (scripts/run_lr_meta.py)."""
    run_cli(lambda: main(argv))


def _rows(block: meta_gd.Block) -> list[dict[str, Any]]:
    # Python floats: csv writes their repr, the shortest string that reads back exactly.
    return [
        {"step": int(s), "loss": float(l), "grad_norm": float(g),
         **{f"alpha_{k}": float(a) for k, a in enumerate(alpha)}}
        for s, l, g, alpha in zip(block.steps, block.losses, block.grad_norms, block.alphas)
    ]


def run_trajectory(config: LRMetaConfig, log: CsvLog, x0: jax.Array, dtype) -> bool:
    """Appends meta-GD rows to `log` from wherever it stops; True if the run diverged."""
    loss_fn = loss_function(config)
    alpha_cols = columns(config.horizon)[3:]
    frame = log.read()
    expected = config.log_every * np.arange(len(frame))
    if len(frame) and not np.array_equal(frame["step"].to_numpy(), expected):
        raise ConfigError(f"{log.path} is not a prefix of this run's log; use another --out")
    if len(frame) == 0:
        alpha0 = jnp.asarray(draw_alpha0(config.seed, config.horizon, config.alpha_init_high), dtype)
        loss0, norm0 = meta_gd.make_evaluate(loss_fn, config.hypergrad)(alpha0, x0)
        first = meta_gd.Block(np.array([0]), np.asarray(alpha0)[None], np.asarray(loss0)[None],
                           np.asarray(norm0)[None])
        log.append(_rows(first))
        frame = log.read()
    start = int(frame["step"].iloc[-1])
    alpha = frame[alpha_cols].iloc[-1].to_numpy(np.float64).astype(dtype)
    limit = config.divergence_factor * float(frame["loss"].iloc[0])
    diverged = False
    with tqdm(total=config.meta_steps, initial=start, desc="meta-GD", unit="step",
              mininterval=0.5, file=sys.stderr) as bar:
        for block in meta_gd.meta_descent(
            loss_fn, alpha, (x0,), beta=config.beta, steps=config.meta_steps, start_step=start,
            log_every=config.log_every, chunk_rows=config.chunk_rows, limit=limit,
            mode=config.hypergrad,
        ):
            if len(block.steps):
                log.append(_rows(block))
                bar.update(int(block.steps[-1]) - bar.n)
            diverged = block.diverged
    return diverged


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


def trajectory_analysis(config: LRMetaConfig, frame, x0_np: np.ndarray, dtype, out: Path) -> dict[str, Any]:
    """Power laws of the meta-trajectory beside gradient flow's, the transfer check, β's stability
    limits and (if asked) the β sweep, written beside the summary."""
    alpha_cols = columns(config.horizon)[3:]
    alpha0 = frame[alpha_cols].iloc[0].to_numpy(np.float64)
    alpha_star = frame[alpha_cols].iloc[-1].to_numpy(np.float64)
    steps, losses = frame["step"].to_numpy(), frame["loss"].to_numpy(np.float64)
    summary: dict[str, Any] = {"loss_tail_power_law_slope": power_law_slope(steps[1:], losses[1:])}
    # Gradient flow with all (1 − α_k)² equal: L ∝ t^(−T/(T−1)) (docs/lr_meta.md).
    horizon, c = config.horizon, 0.5 * float(x0_np @ x0_np)
    if horizon > 1:
        summary["loss_tail_power_law_equal_factors"] = -horizon / (horizon - 1)
        # ... and its value c·(4βc(T−1)t)^(−T/(T−1)) at the last step, start forgotten.
        summary["loss_after_flow_prediction"] = c * (
            4 * config.beta * c * (horizon - 1) * int(steps[-1])) ** (-horizon / (horizon - 1))
    summary["transfer"] = transfer_check(config, alpha0, alpha_star, dtype)
    summary["distance_tail_power_law_slope"] = power_law_slope(
        steps[1:], np.min(np.abs(1.0 - frame[alpha_cols].to_numpy(np.float64)), axis=1)[1:])
    if horizon > 1:  # p² ∝ t^(−1/(T−1)) on the flow with equal factors, so p ∝ t^(−1/(2(T−1)))
        summary["distance_tail_power_law_equal_factors"] = -1 / (2 * (horizon - 1))
    summary["beta_stability"] = beta_sweep.stability_bounds(alpha0, x0_np)
    if config.beta_sweep and not all((out / name).is_file() for name in ("beta_sweep.csv", "beta_sweep_curves.csv")):
        final, curves = beta_sweep.sweep(
            loss_function(config), alpha0, x0_np, config.beta_sweep, config.meta_steps,
            mode=config.hypergrad, divergence_factor=config.divergence_factor)
        write_csv_atomic(out / "beta_sweep.csv", final)
        write_csv_atomic(out / "beta_sweep_curves.csv", curves)
    return summary


def run(config: LRMetaConfig, record: RunRecord, log: CsvLog) -> int:
    """Runs (or resumes) everything for a validated config into `record`'s directory (started)."""
    from lr_meta import plots

    out = record.out_dir
    dtype = np.dtype(config.dtype)

    x0_np = draw_x0(config.seed, config.dim)
    x0 = jnp.asarray(x0_np, dtype)
    diverged = run_trajectory(config, log, x0, dtype)
    frame = log.read()
    alpha_cols = columns(config.horizon)[3:]
    alpha0 = frame[alpha_cols].iloc[0].to_numpy(np.float64)
    alpha_star = frame[alpha_cols].iloc[-1].to_numpy(np.float64)
    steps, losses = frame["step"].to_numpy(), frame["loss"].to_numpy(np.float64)
    summary: dict[str, Any] = {
        "status": "diverged" if diverged else "ok",
        "steps_done": int(steps[-1]),
        "loss_before": float(losses[0]),
        "loss_after": float(losses[-1]),
        "improvement_factor": float(losses[0] / losses[-1]),
        "grad_norm_before": float(frame["grad_norm"].iloc[0]),
        "grad_norm_after": float(frame["grad_norm"].iloc[-1]),
        "alpha_before": alpha0.tolist(),
        "alpha_after": alpha_star.tolist(),
    }
    status = 0
    if diverged:
        summary["message"] = (
            f"meta-GD diverged after step {int(steps[-1])} with beta={config.beta}: "
            f"the next logged loss was non-finite or above {config.divergence_factor:g} x L(alpha0); "
            "lower beta"
        )
        status = EXIT_DIVERGED
    else:
        # Each stage after the trajectory keeps its files: a run cut short after its last step
        # resumes with the stages not yet written (the trajectory's files are final by then).
        if not (out / "certificate.json").is_file():
            write_json_atomic(out / "certificate.json", certificate(config, alpha_star, x0, x0_np, dtype))
        summary.update(trajectory_analysis(config, frame, x0_np, dtype, out))
        if config.quad_meta_steps > 0:
            summary["quadratic"] = json_once(out / "quadratic.json", lambda: quadratic_study(config, alpha0, out, dtype))
            if summary["quadratic"]["status"] == "diverged":
                summary["status"] = "diverged"
                summary["message"] = (f"meta-GD on the quadratic diverged with quad_beta={config.quad_beta}; "
                                      "lower quad_beta")
                status = EXIT_DIVERGED
    write_json_atomic(out / "summary.json", summary)
    plots.plot_all(out)
    record.finish(summary["status"])
    if status:
        print(f"error: {summary['message']}", file=sys.stderr)
    else:
        print(f"L: {summary['loss_before']:.6g} -> {summary['loss_after']:.6g} "
              f"(x{summary['improvement_factor']:.3g} lower) after {summary['steps_done']} meta-steps; "
              f"results in {out}")
    return status
