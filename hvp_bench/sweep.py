"""The sweep: points (depth, width, method) measured one by one, rows appended as they come.

Points are measured in a worker process (one, reused), so a point that kills its
process (the OOM killer while compiling or running a dense Hessian) is recorded as
`failed` and the sweep goes on with a fresh worker. The parent process never starts a
JAX backend: it plans, writes files and draws the progress bar.

The files it writes and how they are read back are in hvp_bench/rundir.py.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import multiprocessing
import os
import sys
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from expkit.config import ConfigError, config_to_dict
from expkit.results import (
    CsvLog, now_iso, prepare_out_dir, resumable_meta, write_csv_atomic, write_json_atomic,
)
from hvp_bench.config import HVPConfig
from hvp_bench.rundir import COLUMNS, POINT_KEYS, summarize_runs

# Keys that change what a measurement means; a run directory is only resumed with the same.
MEASUREMENT_KEYS = (
    "width", "input_size", "output_size", "batch", "dtype", "form", "init", "init_scale", "num_runs",
    "warmup", "seed", "device", "hessian_block",
)
_PLATFORMS = {"cpu": "cpu", "gpu": "cuda"}


@dataclasses.dataclass(frozen=True)
class Point:
    depth: int
    width: int
    method: str


def plan_points(config: HVPConfig) -> list[Point]:
    """The depth sweep at `width`, then the width sweep at `width_depth`, method by method."""
    shapes = [(d, config.width) for d in config.depths]
    shapes += [(config.width_depth, w) for w in config.widths if (config.width_depth, w) not in shapes]
    return [Point(d, w, m) for d, w in shapes for m in config.methods]


# --- the worker side --------------------------------------------------------------------


def _init_worker(device: str) -> None:
    # Must happen before JAX starts a backend in this (fresh, spawned) process.
    if device in _PLATFORMS:
        os.environ["JAX_PLATFORMS"] = _PLATFORMS[device]


def preflight(device: str) -> dict[str, Any]:
    """Starts the JAX backend and describes it; raises if `device` is not available."""
    import jax

    from expkit.provenance import environment_info
    from hvp_bench.memory import default_budget_bytes

    info = environment_info()
    if device == "gpu" and info["backend"] not in ("gpu", "cuda", "rocm"):
        raise RuntimeError(f"device 'gpu' asked for, but JAX's backend is {info['backend']}")
    info["memory_budget_auto_bytes"] = default_budget_bytes(jax.devices()[0])
    return info


def measure_point(config: HVPConfig, point: Point) -> list[dict[str, Any]]:
    """Builds the model, checks memory, compiles and times one method; returns its rows."""
    import jax
    import jax.numpy as jnp

    from hvp_bench import memory
    from hvp_bench.methods import get_method
    from hvp_bench.model import MLP, layer_sizes_for
    from hvp_bench.timing import compile_method, compile_prepare, memory_of, prepare_state, time_compiled

    dtype = jnp.dtype(config.dtype)
    model = MLP(
        jax.random.PRNGKey(config.seed),
        layer_sizes_for(point.depth, point.width, config.input_size, config.output_size),
        form=config.form, init=config.init, init_scale=config.init_scale, dtype=dtype,
        batch=config.batch,
    )
    base = {
        "depth": point.depth, "width": point.width, "method": point.method,
        "params": model.num_params, "batch": config.batch, "dtype": config.dtype, "form": config.form,
        "predicted_bytes": memory.predicted_bytes(
            point.method, model.num_params, point.depth, point.width, config.batch,
            dtype.itemsize, config.hessian_block,
        ),
    }
    def skipped(reason: str, compiled_bytes: int) -> list[dict[str, Any]]:
        return [{**base, "run_index": 0, "status": "skipped", "compiled_bytes": compiled_bytes,
                 "note": reason}]

    budget = int(config.memory_budget_gb * 1e9) or memory.default_budget_bytes(jax.devices()[0])
    reason = memory.over_budget(base["predicted_bytes"], budget)
    if reason:
        return skipped(f"predicted {reason}", 0)

    method = get_method(point.method, config.hessian_block)
    f, x = model.loss, model.get_params()
    v = jax.random.normal(jax.random.PRNGKey(config.seed + 1), x.shape, dtype)
    compiled_bytes = 0
    try:
        # The state (naive_hvp's Hessian) is built before the timed call: its
        # temporaries count against the budget too.
        prepare = compile_prepare(method, f, x)
        if prepare is not None:
            compiled_bytes = memory_of(prepare).get("total_bytes", 0)
            if reason := memory.over_budget(compiled_bytes, budget):
                return skipped(f"compiled prepare {reason}", compiled_bytes)
        state, prepare_s = prepare_state(method, f, x, prepare)
        compiled, compile_s = compile_method(method, f, x, v, state)
        compiled_bytes = max(compiled_bytes, memory_of(compiled).get("total_bytes", 0))
        if reason := memory.over_budget(compiled_bytes, budget):
            return skipped(f"compiled {reason}", compiled_bytes)
        times, out = time_compiled(compiled, (state, x, v), config.num_runs, config.warmup)
    except Exception as e:  # device OOM, XLA errors: recorded, and the sweep goes on
        return [{**base, "run_index": 0, "status": "failed", "compiled_bytes": compiled_bytes,
                 "note": _one_line(e)}]
    out = np.asarray(out)
    health = {"finite": bool(np.isfinite(out).all()), "nonzero": bool((out != 0).any())}
    return [
        {**base, **health, "run_index": i, "status": "ok", "time_s": t, "compile_s": compile_s,
         "prepare_s": prepare_s, "compiled_bytes": compiled_bytes, "note": ""}
        for i, t in enumerate(times)
    ]


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"[:300]


# --- the parent side --------------------------------------------------------------------


class Worker:
    """One spawned process that measures points; restarted after it dies."""

    def __init__(self, device: str):
        self.device = device
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def call(self, fn: Callable, *args):
        if self._pool is None:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker, initargs=(self.device,),
            )
        try:
            return self._pool.submit(fn, *args).result()
        except BrokenProcessPool:
            self.close()
            raise

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def finished_points(rows: pd.DataFrame, num_runs: int) -> tuple[set[Point], pd.DataFrame]:
    """Points done for good, and the rows with every other point's rows dropped.

    Done: `ok` with all num_runs rows, or `skipped` (over the memory budget, which a
    re-run would decide again the same way). A `failed` point (a killed worker, a
    device error) and a point cut short by a kill are measured again on resume.
    """
    if rows.empty:
        return set(), rows
    counts = rows.groupby(POINT_KEYS)["status"].agg(["size", "first", "nunique"])
    done = counts[
        ((counts["first"] == "ok") & (counts["size"] == num_runs) & (counts["nunique"] == 1))
        | ((counts["first"] == "skipped") & (counts["size"] == 1))
    ]
    finished = {Point(int(d), int(w), str(m)) for d, w, m in done.index}
    mask = [Point(int(d), int(w), str(m)) in finished for d, w, m in rows[POINT_KEYS].itertuples(index=False)]
    return finished, rows[mask]


def run_sweep(config: HVPConfig, out_dir: str | Path, progress: bool = True,
              measure: Callable[[HVPConfig, Point], list[dict]] = measure_point) -> Path:
    """Measures every unfinished point of `config` into `out_dir`; returns `out_dir`.

    Safe to re-run: finished points are skipped; rows of a point cut short by a kill
    are dropped and the point is measured again.

    Args:
      measure: what the worker runs per point (a module-level function, so it can be
        sent to the spawned worker); tests swap in one that crashes.
    """
    out_dir = Path(out_dir)
    meta = resumable_meta(out_dir, config, MEASUREMENT_KEYS)
    worker = Worker(config.device)
    try:
        try:
            environment = worker.call(preflight, config.device)
        except Exception as e:
            raise ConfigError(f"cannot start JAX on device {config.device!r}: {_one_line(e)}") from None
        prepare_out_dir(out_dir)
        log = CsvLog(out_dir / "runs.csv", COLUMNS)
        previous = log.read()
        finished, kept = finished_points(previous, config.num_runs)
        if len(kept) != len(previous):
            log.rewrite(kept)
        meta = meta or {"started": now_iso(), "resumed": []}
        if finished:
            meta["resumed"].append(now_iso())
        meta.update(config=config_to_dict(config), environment=environment, finished=None)
        write_json_atomic(out_dir / "meta.json", meta)

        todo = [p for p in plan_points(config) if p not in finished]
        bar = tqdm(todo, desc=config.name, unit="point", disable=not progress, file=sys.stderr)
        for point in bar:
            bar.set_postfix_str(f"depth={point.depth} width={point.width} {point.method}")
            try:
                rows = worker.call(measure, config, point)
            except BrokenProcessPool:
                rows = [{
                    "depth": point.depth, "width": point.width, "method": point.method,
                    "run_index": 0, "status": "failed", "batch": config.batch,
                    "dtype": config.dtype, "form": config.form,
                    "note": "worker process died (killed, likely out of host memory)",
                }]
            log.append(rows)
            write_csv_atomic(out_dir / "summary.csv", summarize_runs(log.read()))
        if not todo and len(kept):  # a resume with nothing left: the summary of what is kept
            write_csv_atomic(out_dir / "summary.csv", summarize_runs(kept))
        meta["finished"] = now_iso()
        write_json_atomic(out_dir / "meta.json", meta)
    finally:
        worker.close()
    return out_dir
