"""What an HVP costs on a ResNet, a ViT, a GPT-style decoder and a wide MLP: the study, through the one driver.

    hvp-models --config configs/hvp_models.toml --out runs/hvp_models

A unit is one (model, batch, repeat). In it every method is compiled ahead of time
(its compile time and its compiled cost recorded apart: flops, bytes, kernels, memory),
checked against a second method, then timed in `rounds` shuffled rounds, one call of
each per round (secondorder.timing.time_interleaved), so a ratio's numerator and
denominator share each round's state of the machine. Units run repeat by repeat (every
model and batch, then again), so repeats lie minutes apart; compiled programs are kept
between repeats. Files (expkit.study writes the logs):

- rounds.csv: one row per timed call (model, batch, repeat, round, method, position, time_s);
- methods.csv: one row per (unit, method): compile_s, prepare_s, the compiled cost, the
  check's relative error and what it was checked against, status;
- summary.csv, reference.csv, summary.json, hvp_models.png (hvp_models.summary, .plots).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from expkit.study import Unit, study_cli
from hvp_models.config import ModelsConfig, load
from hvp_models.catalog import CHECK_AGAINST, METHOD_COLUMNS, ROUND_COLUMNS

COST_PER_ROW = {"resnet": 4.0, "vit": 2.0, "gpt": 2.0, "mlp": 0.1}
"""Rough relative time of one unit per batch row, for the progress bar's weights."""


class ModelsStudy:
    """The study (expkit.study protocol): units `<model>/<batch>/<repeat>`."""

    name = "hvp models"
    x64 = False
    logs = {"rounds.csv": ROUND_COLUMNS, "methods.csv": METHOD_COLUMNS}

    def __init__(self, config: ModelsConfig):
        self.config = config
        self.matmul_precision = config.matmul_precision  # the driver sets it for the whole run
        self._compiled: dict = {}  # (model, batch) -> the problem, vectors and compiled calls, kept between repeats

    def units(self) -> list[Unit]:
        c = self.config
        return [Unit(f"{m}/{b}/{r}", cost=COST_PER_ROW[m] * b * (1.5 if r == 0 else 1.0),
                     label=f"{m}, batch {b}, repeat {r + 1} of {c.repeats}")
                for r in range(c.repeats) for m in c.models for b in c.batches]

    def measure(self, unit: Unit, out_dir: Path) -> dict:
        from secondorder.timing import time_interleaved

        model, batch, repeat = unit.key.split("/")
        batch, repeat = int(batch), int(repeat)
        setup = self._setup(model, batch)
        problem = setup["problem"]
        calls, rows = {}, []
        for name in self.config.methods:
            entry = setup["methods"][name]
            row = {"model": model, "batch": batch, "repeat": repeat, "params": problem.num_params, "method": name,
                   **entry["cost"], "status": entry["status"]}
            if entry["status"] == "ok":
                state, row["prepare_s"] = _prepare(entry, setup)
                calls[name] = (entry["compiled"], (state, problem.params, vector_for(setup, name), problem.batch))
            rows.append(row)
        seed = (self.config.seed, repeat, self.config.models.index(model), batch)
        times, positions, outputs = time_interleaved(calls, self.config.rounds, warmup=1, seed=seed)
        checks = _checks(setup, outputs)
        for row in rows:
            row["check_error"], row["checked_against"] = checks.get(row["method"], (np.nan, ""))
            if row["check_error"] > self.config.check_rtol:  # timed all the same, but flagged in every table
                row["status"] = f"check failed: {row['check_error']:.1e} against {row['checked_against']}"
                print(f"warning: {unit.key} {row['method']}: {row['status']}", file=sys.stderr)
        timed = [{"model": model, "batch": batch, "repeat": repeat, "round": r, "method": name,
                  "position": int(positions[name][r]), "time_s": float(times[name][r])}
                 for name in calls for r in range(self.config.rounds)]
        return {"rounds.csv": timed, "methods.csv": rows}

    def _setup(self, model: str, batch: int) -> dict:
        """The problem, its vectors and every method compiled (once per (model, batch))."""
        if (model, batch) not in self._compiled:
            self._compiled[(model, batch)] = compile_all(self.config, model, batch)
        return self._compiled[(model, batch)]

    def derive(self, out_dir: Path) -> None:
        from hvp_models.summary import write_summary

        write_summary(out_dir)


def compile_all(config: ModelsConfig, model: str, batch: int) -> dict:
    """Builds `model` at `batch` and compiles every method of the config, recording each one's cost.

    A method that does not fit (XLA's RESOURCE_EXHAUSTED when compiling or preparing) is
    recorded with its status and left out of the timed rounds.
    """
    import jax

    from hvp_models.methods import compile_prepare, ggn_by_jvp_vjp, random_like, timed_function
    from hvp_models.zoo import build
    from secondorder.compiled import compiled_cost

    problem = build(model, batch, config, seed=config.seed)
    key = jax.random.fold_in(jax.random.key(config.seed), 7)
    setup = {"problem": problem, "v": random_like(problem.params, key),
             "block": random_like(problem.params, jax.random.fold_in(key, 1), (config.block,)), "methods": {}}
    with jax.default_matmul_precision(config.matmul_precision):  # as the driver's, also when called alone
        for name in config.methods:
            entry = {"status": "ok", "prepare": None, "cost": {"vectors": config.block if name == "hvp_block" else 1}}
            try:
                start = time.perf_counter()
                entry["prepare"] = compile_prepare(name, problem)
                state = None if entry["prepare"] is None else entry["prepare"](problem.params, problem.batch)
                entry["compiled"] = jax.jit(timed_function(name, problem)).lower(
                    state, problem.params, vector_for(setup, name), problem.batch).compile()
                entry["cost"] |= {"compile_s": time.perf_counter() - start, **compiled_cost(entry["compiled"])}
                del state
            except jax.errors.JaxRuntimeError as e:  # out of device memory at this batch
                entry["status"] = f"not run: {str(e).splitlines()[0][:120]}"
            setup["methods"][name] = entry
        if "ggn_product" in config.methods:
            setup["ggn_check"] = jax.jit(lambda p, u, b: ggn_by_jvp_vjp(problem, p, u, b))
    return setup


def vector_for(setup: dict, name: str):
    """What `name` multiplies: the block of vectors for hvp_block, else the one vector."""
    return setup["block"] if name == "hvp_block" else setup["v"]


def _prepare(entry: dict, setup: dict) -> tuple:
    """(the untimed state, seconds to build it) for one unit: rebuilt each unit, not kept between them."""
    import jax

    if entry["prepare"] is None:
        return None, 0.0
    start = time.perf_counter()
    state = jax.block_until_ready(entry["prepare"](setup["problem"].params, setup["problem"].batch))
    return state, time.perf_counter() - start


def _checks(setup: dict, outputs: dict) -> dict[str, tuple[float, str]]:
    """method -> (relative error against a second method, that method's name), from the last timed outputs."""
    import jax

    from hvp_models.methods import relative_error

    checks = {}
    reference = outputs.get(CHECK_AGAINST)
    if reference is not None:
        for name in ("hvp_rev_rev", "hvp_rev_fwd", "hvp_linearize", "hvp_linearized_apply"):
            if name in outputs:
                checks[name] = (relative_error(outputs[name], reference), CHECK_AGAINST)
    if "hvp_block" in outputs and CHECK_AGAINST in setup["methods"]:
        single = setup["methods"][CHECK_AGAINST]
        if single["status"] == "ok":  # the block's last column against a single product of that vector
            last = jax.tree.map(lambda a: a[-1], setup["block"])
            one = single["compiled"](None, setup["problem"].params, last, setup["problem"].batch)
            checks["hvp_block"] = (relative_error(jax.tree.map(lambda a: a[-1], outputs["hvp_block"]), one),
                                   CHECK_AGAINST)
    if "ggn_product" in outputs:
        second = setup["ggn_check"](setup["problem"].params, setup["v"], setup["problem"].batch)
        checks["ggn_product"] = (relative_error(outputs["ggn_product"], second), "ggn_by_jvp_vjp")
    if CHECK_AGAINST in outputs and "hvp_rev_rev" in outputs:
        checks[CHECK_AGAINST] = (relative_error(outputs[CHECK_AGAINST], outputs["hvp_rev_rev"]), "hvp_rev_rev")
    return checks


def cli(argv: list[str] | None = None) -> None:
    """The console command `hvp-models` (scripts/run_hvp_models.py); exits with its status."""
    study_cli(argv, load=load, make_study=ModelsStudy,
              description="What a Hessian-vector product costs on a ResNet, a ViT, a GPT-style decoder and a "
                          "width-256 MLP: time and memory as paired ratios to the gradient, with flops, bytes and "
                          "kernels from the compiled programs, beside Dagréou et al. (ICLR 2024 blog).",
              examples=["hvp-models --config configs/hvp_models.toml --out runs/hvp_models",
                        "hvp-models --config configs/hvp_models_smoke.toml --out runs/hvp_models_smoke"])
