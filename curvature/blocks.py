"""What vmapped blocks buy the estimators at depth: SLQ and Hutch++ three ways, timed together.

    curvature-blocks --config configs/curvature_blocks.toml --out runs/curvature_blocks

The curvature study's network (width 16, fan-in init x 1.55, float64) at 250-1000 layers,
its Hessian operator built three ways (`SETUPS`):
- "tanh, sequential": the literal tanh GELU, blocks one vector at a time (how the
  reference run in results/curvature was made: vmapped, that form is wrong); this
  study builds the two sequential setups itself, the library has no such switch;
- "logistic, sequential": the logistic form, still one vector at a time (what the
  formulation alone costs);
- "logistic, vmap": the logistic form with blocks vmapped (the default now).
Each route is compiled per setup and timed interleaved with the others, run by run
(secondorder.timing.time_interleaved). The three answers are compared: with the same
probes they must agree to rounding (`max_rel_diff` in the table).

A study of the one driver (expkit.study): one unit per depth, its rows in times.csv;
summary.csv is derived from them. float64 (x64 is on for the whole run).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from curvature.config import CurvatureConfig
from curvature.problem import Problem, build_problem
from expkit.config import Config, key, load_config
from expkit.results import write_csv_atomic
from expkit.study import Unit, study_cli
from secondorder import density, trace
from secondorder.model import MLP
from secondorder.sizes import layer_sizes_for
from secondorder.timing import time_interleaved

SETUPS = {"tanh, sequential": ("tanh", "sequential"), "logistic, sequential": ("logistic", "sequential"),
          "logistic, vmap": ("logistic", "vmap")}
COLUMNS = ["depth", "params", "route", "hvps", "setup", "run", "time_s", "compile_s", "estimate", "max_rel_diff"]


@dataclasses.dataclass(frozen=True)
class BlocksConfig(Config):
    name: str = key("curvature_blocks", name=True)
    depths: tuple[int, ...] = key((250, 500, 1000), ge=1, nonempty=True, distinct=True)
    runs: int = key(3, ge=1)            # interleaved timed runs of each route and setup
    slq_probes: int = key(10, ge=1)
    slq_steps: int = key(10, ge=2)
    hutchpp_hvps: int = key(48, ge=3)
    seed: int = key(0, ge=0)


class Blocks:
    """The study: one unit per depth."""

    name = "curvature blocks"
    x64 = True
    logs = {"times.csv": COLUMNS}

    def __init__(self, config: BlocksConfig):
        self.config = config

    def units(self) -> list[Unit]:
        return [Unit(f"depth/{d}", cost=float(d), label=f"{d} layers") for d in self.config.depths]

    def measure(self, unit: Unit, out_dir: Path) -> dict:
        c = self.config
        rows = measure_depth(int(unit.key.split("/")[1]), c.runs, c.slq_probes, c.slq_steps, c.hutchpp_hvps, c.seed)
        return {"times.csv": rows}

    def derive(self, out_dir: Path) -> None:
        import pandas as pd

        write_csv_atomic(out_dir / "summary.csv", summarize(pd.read_csv(out_dir / "times.csv")))


def routes(slq_probes: int, slq_steps: int, hutchpp_hvps: int, sequential: bool = False) -> dict[str, tuple[int, Any]]:
    """name -> (HVPs, route(op, key) -> a scalar estimate of the trace); `sequential`: SLQ's
    probes one at a time (a sequential operator cannot be vmapped inside Lanczos's loop)."""
    def slq(op, key):
        vectors = jax.random.rademacher(key, (slq_probes, op.size), dtype=op.dtype)
        return density.slq(op, vectors, slq_steps, batch=1 if sequential else None).trace(op.size)

    def hutchpp(op, key):
        return trace.hutchpp(op, key, hutchpp_hvps)[0]

    return {"slq": (slq_probes * slq_steps, slq), "hutchpp": (hutchpp_hvps, hutchpp)}


def measure_depth(depth: int, runs: int, slq_probes: int = 10, slq_steps: int = 10, hutchpp_hvps: int = 48,
                  seed: int = 0) -> list[dict[str, Any]]:
    """Rows of COLUMNS for every route x setup at one depth (runs rows each)."""
    key = jax.random.PRNGKey(seed)
    rows = []
    with jax.enable_x64(True):
        problems = {name: _problem(depth, gelu, batching) for name, (gelu, batching) in SETUPS.items()}
        for route, (hvps, _) in routes(slq_probes, slq_steps, hutchpp_hvps).items():
            compiled = {name: problem.compile(routes(slq_probes, slq_steps, hutchpp_hvps,
                                                     SETUPS[name][1] == "sequential")[route][1], key)
                        for name, problem in problems.items()}
            calls = {name: (c, (key,)) for name, c in compiled.items()}
            times, _, outputs = time_interleaved(calls, runs, warmup=1, seed=[seed, depth])
            estimates = {name: float(out) for name, out in outputs.items()}
            values = np.array(list(estimates.values()))
            spread = float(np.abs(values - values[-1]).max() / abs(values[-1]))
            for name, c in compiled.items():
                rows += [{"depth": depth, "params": problems[name].size, "route": route, "hvps": hvps, "setup": name,
                          "run": i, "time_s": float(t), "compile_s": c.compile_s, "estimate": estimates[name],
                          "max_rel_diff": spread} for i, t in enumerate(times[name])]
    return rows


@dataclasses.dataclass(frozen=True)
class _SequentialProblem(Problem):
    """The same problem, its operator's blocks run one vector at a time (jax.custom_batching.sequential_vmap)."""

    def operator(self, params, inputs):
        op = super().operator(params, inputs)
        return dataclasses.replace(op, matvec=jax.custom_batching.sequential_vmap(op.matvec))


def _problem(depth: int, gelu: str, batching: str) -> Problem:
    """The curvature study's network at `depth` with its GELU written `gelu`, blocks as `batching` says."""
    config = CurvatureConfig()
    problem = build_problem(config, depth)  # the logistic form, the library's choice under vmap
    if gelu == "tanh":
        model = MLP(jax.random.PRNGKey(config.seed), layer_sizes_for(depth, config.width, config.input_size,
                    config.output_size), form="scan", init=config.init, init_scale=config.init_scale,
                    dtype=jnp.float64)
        problem = dataclasses.replace(problem, loss=model.loss)
    if batching == "sequential":
        problem = _SequentialProblem(**{f.name: getattr(problem, f.name) for f in dataclasses.fields(problem)})
    return problem


def summarize(frame):
    """Median and range of the time per (depth, route, setup) of times.csv's rows, and each setup's
    time over the vmapped one's: a pandas DataFrame."""
    table = frame.groupby(["depth", "route", "hvps", "setup"], sort=False)["time_s"].agg(
        median_s="median", min_s="min", max_s="max", runs="count").reset_index()
    base = table[table["setup"] == "logistic, vmap"].set_index(["depth", "route"])["median_s"]
    table["over_vmap"] = [m / base[(d, r)] for d, r, m in zip(table["depth"], table["route"], table["median_s"])]
    return table


def cli(argv: list[str] | None = None) -> None:
    """scripts/bench_curvature_blocks.py: times.csv (every timed call), summary.csv, meta.json."""
    study_cli(argv, load=lambda path, overrides: load_config(BlocksConfig, path, overrides), make_study=Blocks,
              description="SLQ and Hutch++ with the Hessian operator's blocks vmapped or one vector at a time, "
                          "timed together.",
              examples=["curvature-blocks --config configs/curvature_blocks.toml --out runs/curvature_blocks",
                        "curvature-blocks --config configs/curvature_blocks.toml --set 'depths=[4, 8]' --set runs=2 "
                        "--out runs/try"])
