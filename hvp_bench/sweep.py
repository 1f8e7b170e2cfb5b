"""The sweep: shapes (depth, width) measured one by one, rows appended as each completes.

A point is (depth, width, variant, method). All unfinished points of one shape are measured
together in a worker process (hvp_bench.measure), interleaved run by run, with the dispatch
floor among them (PyTorch's variants in a second worker). With `repeats` > 1 every point is
measured once per repeat, each repeat in fresh workers, repeat 0 in depth order and later ones
in a shuffled order of shapes (runs.csv's `repeat` column). The parent never starts JAX: it
plans, writes files, draws the progress bar, and deals with a worker that dies (the method in
flight `failed`, the shape's other points measured again in a fresh worker) or hangs past
`point_timeout_s` (killed, `timeout`); a worker exits within a second if the parent is killed
(expkit.worker). Once a (variant, method) compiled slower than `compile_budget_s`, timed out or
killed its worker at one depth, its deeper depths are skipped (`depth_skip`). On resume, `ok`
points with all runs and `skipped` ones that still do not fit the memory budget are kept;
failed, timed-out, wrong (hvp_bench.values) and depth-skipped points are measured again. A point
lost in one repeat is skipped in the later ones (and deeper). Files: hvp_bench/rundir.py.
"""

from __future__ import annotations

import dataclasses
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from expkit.config import ConfigError
from expkit.lifecycle import RunRecord
from expkit.results import CsvLog, write_csv_atomic
from expkit.worker import Worker, WorkerDied, WorkerError, WorkerTimeout
from hvp_bench.config import FLOOR_METHOD, HVPConfig
from hvp_bench.rundir import COLUMNS, REPEAT, RUN_KEYS, add_repeat_column, repeat_of, summarize_runs
from hvp_bench.variants import parse_variant
from secondorder.methods import get_method

# Keys that change what a measurement means; a run directory is only resumed with the same.
MEASUREMENT_KEYS = ("width", "input_size", "output_size", "batch", "dtype", "matmul_precision", "init", "init_scale",
                    "num_runs", "warmup", "order", "seed", "device", "xla_flags", "hessian_block")
MEASURE = "hvp_bench.measure:measure_shape"


@dataclasses.dataclass(frozen=True)
class Point:
    depth: int
    width: int
    variant: str
    method: str
    repeat: int = 0

    @property
    def cost(self) -> int:
        """Expected share of the time, for the progress bar: a compile, then calls growing with depth
        (a dense method's with depth squared); counting points, the estimate ran four times low."""
        scale = self.depth * (self.width / 4) ** 2 / 50  # whole numbers: float sums would overrun the bar
        return round(1 + (scale * scale if get_method(self.method).dense else scale))


def plan_shapes(config: HVPConfig, repeat: int = 0) -> list[tuple[int, int]]:
    """The depth sweep at `width`, then the width sweep at `width_depth`. Repeat 0 goes in
    this order (a (variant, method) too slow at one depth is skipped deeper), a later one in
    an order drawn from (seed, repeat), so that the machine's drift does not follow depth."""
    shapes = [(d, config.width) for d in config.depths]
    shapes += [(config.width_depth, w) for w in config.widths if (config.width_depth, w) not in shapes]
    if repeat:
        random.Random(f"{config.seed}-{repeat}").shuffle(shapes)
    return shapes


def plan_points(config: HVPConfig) -> list[Point]:
    """Every point, repeat by repeat and shape by shape; at each shape, every variant x
    (methods + the dispatch floor)."""
    return [Point(d, w, f, m, r) for r in range(config.repeats) for d, w in plan_shapes(config, r)
            for f in config.variants for m in (*config.methods, FLOOR_METHOD)]


def _point(row) -> Point:
    return Point(int(row[1]), int(row[2]), str(row[3]), str(row[4]), int(row[0]))


def finished_points(rows: pd.DataFrame, num_runs: int, budget_bytes: int) -> tuple[set[Point], pd.DataFrame]:
    """Points done for good, and the rows with every other point's rows dropped.

    Done: `ok` with all num_runs rows, or `skipped` for memory and still over
    `budget_bytes` (a point skipped under a smaller budget is tried again).
    """
    if rows.empty:
        return set(), rows
    rows = rows.assign(**{REPEAT: repeat_of(rows)})
    groups = rows.groupby(RUN_KEYS)
    counts = groups["status"].agg(["size", "first", "nunique"])
    needed = groups[["predicted_bytes", "compiled_bytes"]].max().max(axis=1)
    note = groups["note"].first().astype(str)  # NaN (no note) reads "nan"
    ok = (counts["first"] == "ok") & (counts["size"] == num_runs) & (counts["nunique"] == 1)
    still_too_big = (counts["first"] == "skipped") & (counts["size"] == 1) & note.str.contains("GB > budget") & (
        needed > budget_bytes)
    finished = {_point(k) for k in counts.index[ok | still_too_big]}
    mask = [_point(k) in finished for k in rows[RUN_KEYS].itertuples(index=False)]
    return finished, rows[mask]


def depth_skip(rows: pd.DataFrame, config: HVPConfig, point: Point) -> str | None:
    """Why `point` is skipped because of a shallower depth of the same (width, variant, method), or None.

    Deeper is costlier, so once a (variant, method) took longer than `compile_budget_s` to
    compile, ran out of time, or killed its worker (out of memory), the deeper depths of
    this run are skipped, and in a later repeat that depth too. Such skips are decided
    again on resume.
    """
    if rows.empty:
        return None
    earlier = (rows["depth"] < point.depth) | ((rows["depth"] == point.depth) & (repeat_of(rows) < point.repeat))
    same = rows[(rows["width"] == point.width) & (rows["variant"] == point.variant) & (rows["method"] == point.method)
                & earlier]
    compile_s = pd.to_numeric(same["compile_s"], errors="coerce")
    slow = (compile_s > config.compile_budget_s) if config.compile_budget_s > 0 else compile_s.isna() & False
    lost = same["status"].isin(["timeout"]) | ((same["status"] == "failed") & same["note"].astype(str).str.contains(
        "worker process died"))
    if not (slow | lost).any():
        return None
    first = same[slow | lost].sort_values("depth").iloc[0]
    why = (f"took {first['compile_s']:.1f} s > compile_budget_s={config.compile_budget_s:g} s to compile"
           if first["status"] == "ok" else f"was lost ({first['status']}: {first['note']})")
    return f"skipped after depth {int(first['depth'])}, where it {why}"


def _lost_point_row(config: HVPConfig, point: Point, status: str, note: str) -> dict[str, Any]:
    return {"depth": point.depth, "width": point.width, "variant": point.variant, "method": point.method,
            "run_index": 0, "status": status, "batch": config.batch, "dtype": config.dtype, "note": note,
            REPEAT: point.repeat}


def framework(variant: str) -> str:
    return "torch" if parse_variant(variant).is_torch else "jax"


class _Sweep:
    """One run of `run_sweep`: its config and its worker processes.

    PyTorch's variants (hvp_bench.torch_peer) are measured in a worker of their own, after
    JAX's at each shape: timed in one process, interleaved run by run, each framework
    slowed the other (JAX's per-call cost at 50 layers about 2x, PyTorch's per-layer cost
    3-16%: results/bench_torch_interference_*_cpu). A worker is started on first use.
    """

    def __init__(self, config: HVPConfig, measure: Callable | str):
        self.config, self.measure = config, measure
        self.workers = self._new_workers()

    def _new_workers(self) -> dict[str, Worker]:
        args = (self.config.device, self.config.matmul_precision, self.config.xla_flags)
        return {name: Worker("hvp_bench.measure:init_worker", args + (name == "jax",)) for name in ("jax", "torch")}

    def close(self) -> None:
        for worker in self.workers.values():
            worker.close()

    def restart(self) -> None:
        """Fresh worker processes: a new repeat shares no process state (caches, allocator) with the last."""
        self.close()
        self.workers = self._new_workers()

    def start(self) -> tuple[dict, int]:
        try:
            environment = self.workers["jax"].call("hvp_bench.measure:preflight", self.config.device)
            if "torch" in map(framework, self.config.variants):
                peer = self.workers["torch"].call("hvp_bench.measure:preflight", self.config.device, True)
                environment.update({k: v for k, v in peer.items() if k.startswith("torch")})
        except (WorkerError, WorkerDied) as e:
            flags = f" with xla_flags={self.config.xla_flags!r}" if self.config.xla_flags else ""
            why = str(e) if isinstance(e, WorkerError) else "the measuring process died while starting it" + (
                " (XLA aborts on a flag it does not know)" if flags else "")
            if self.config.device == "gpu":
                why = ("JAX finds no GPU here (the plain jax package runs on CPU only); on a machine with an "
                       "NVIDIA GPU, install a CUDA build of JAX: pip install -U \"jax[cuda12]\" (or jax[cuda13])")
            raise ConfigError(f"cannot start JAX on device {self.config.device!r}{flags}: {why}") from None
        budget = int(self.config.memory_budget_gb * 1e9) or environment["memory_budget_auto_bytes"]
        return environment, budget

    def measure_shape(self, log: CsvLog, depth: int, width: int, points: list[Point], budget: int, bar) -> None:
        """Measures `points` (all at one shape, of one repeat), each framework's in its own worker;
        appends rows to `log`."""
        for name, worker in self.workers.items():
            if group := [p for p in points if framework(p.variant) == name]:
                self._measure(worker, log, depth, width, group, budget, bar)

    def _measure(self, worker: Worker, log: CsvLog, depth: int, width: int, points: list[Point], budget: int,
                 bar) -> None:
        todo, repeat = [(p.variant, p.method) for p in points], points[0].repeat
        shown = [0.0]

        def show(item) -> None:  # at most once a second: the bar must not compete with the timing
            if item is not None and time.monotonic() - shown[0] > 1.0:
                shown[0] = time.monotonic()
                label = "/".join(map(str, item)) if isinstance(item, tuple) else str(item)
                bar.set_postfix_str(f"depth={depth} width={width} {label}")

        while todo:
            try:
                rows = worker.call(
                    self.measure, self.config, depth, width, todo, budget, repeat,
                    item_timeout_s=self.config.point_timeout_s or None,
                    on_progress=show,
                )
            except WorkerError as e:
                raise ConfigError(f"measuring depth {depth}, width {width} failed: {e}") from None
            except WorkerDied as e:
                status = "timeout" if isinstance(e, WorkerTimeout) else "failed"
                blamed = [tuple(e.item)] if e.item is not None and tuple(e.item) in todo else list(todo)
                log.append([_lost_point_row(self.config, Point(depth, width, f, m, repeat), status, str(e))
                            for f, m in blamed])
                todo = [t for t in todo if t not in blamed]
                continue
            log.append([{**row, REPEAT: repeat} for row in rows])
            return


def run_sweep(config: HVPConfig, out_dir: str | Path, progress: bool = True,
              measure: Callable | str = MEASURE, redraw: bool | None = None) -> Path | None:
    """Measures every unfinished point of `config` into `out_dir`; returns `out_dir`.

    Safe to re-run: finished points are kept; rows of a shape cut short by a kill are
    dropped and its points measured again.

    Args:
      measure: what the worker runs per shape (`measure_shape`'s signature), a
        module-level callable or "module:function"; tests swap in one that crashes.
      redraw: None measures whatever is left (even nothing); False returns None, after
        saying so, when the run is already complete; True also redraws a complete run.
    Raises:
      ConfigError: the device cannot be used, the directory holds another config, or a
        shape could not be measured at all.
    """
    out_dir = Path(out_dir)
    record = RunRecord.open(out_dir, config, MEASUREMENT_KEYS)
    sweep = _Sweep(config, measure)
    try:
        environment, budget = sweep.start()
        log = CsvLog(add_repeat_column(out_dir / "runs.csv"), COLUMNS)
        previous = log.read()
        finished, kept = finished_points(previous, config.num_runs, budget)
        planned = plan_points(config)
        todo = [p for p in planned if p not in finished]
        if redraw is not None and record.nothing_to_do(len(todo), redraw):
            return None
        if len(kept) != len(previous):
            log.rewrite(kept)
        record.start(environment, total=len(planned), done=len(planned) - len(todo))
        record.update(memory_budget_bytes=budget)
        with record.guard():
            _measure_all(config, sweep, log, todo, budget, progress)
            write_csv_atomic(out_dir / "summary.csv", summarize_runs(log.read()))
            record.finish("failed" if failures(summarize_runs(log.read())) else "ok")
    finally:
        sweep.close()
    return out_dir


def _measure_all(config: HVPConfig, sweep: _Sweep, log: CsvLog, todo: list[Point], budget: int,
                 progress: bool) -> None:
    """Measures `todo` shape by shape, rewriting summary.csv after each shape."""
    planned = plan_points(config)
    bar = tqdm(total=sum(p.cost for p in planned), initial=sum(p.cost for p in planned) - sum(p.cost for p in todo),
               desc=config.name, disable=not progress, file=sys.stderr,
               bar_format="{l_bar}{bar}| {percentage:3.0f}% [{elapsed}<{remaining}]{postfix}")
    shapes = [(r, d, w) for r in range(config.repeats) for d, w in plan_shapes(config, r)]
    measured_in = None
    for repeat, depth, width in shapes:
        points = [p for p in todo if (p.repeat, p.depth, p.width) == (repeat, depth, width)]
        if not points:
            continue
        if measured_in is not None and repeat != measured_in:
            sweep.restart()
        measured_in = repeat
        if config.repeats > 1:
            bar.set_description(f"{config.name} (repeat {repeat + 1}/{config.repeats})")
        rows = log.read()
        skips = {p: reason for p in points if (reason := depth_skip(rows, config, p))}
        if skips:
            log.append([_lost_point_row(config, p, "skipped", r) for p, r in skips.items()])
        measured = [p for p in points if p not in skips]
        if measured:
            sweep.measure_shape(log, depth, width, measured, budget, bar)
        bar.update(sum(p.cost for p in points))
        write_csv_atomic(log.path.parent / "summary.csv", summarize_runs(log.read()))
    bar.close()


def failures(summary: pd.DataFrame) -> str | None:
    """One line naming the failed, timed-out and wrong points of a summary, or None if none."""
    bad = summary[summary["status"].isin(["failed", "timeout", "wrong"])]
    if bad.empty:
        return None
    names = [f"{r.method} ({r.variant}) at depth {r.depth}, width {r.width}: {r.status}" for r in bad.itertuples()]
    shown = "; ".join(names[:5]) + (f"; and {len(names) - 5} more" if len(names) > 5 else "")
    return f"{len(names)} point(s) failed, timed out or gave wrong values (see summary.csv): {shown}"

