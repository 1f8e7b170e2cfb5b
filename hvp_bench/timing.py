"""Timing one method honestly: compile apart, warm up, block, keep every raw time.

Follows jax's docs/benchmarking.md: the function is compiled ahead of time
(`jit(...).lower(...).compile()`), so compile time is measured on its own and the
timed loop calls an executable that cannot retrace; a compile-event listener
double-checks that nothing compiles inside the loop. Every timed call ends in
`block_until_ready`, because JAX dispatches asynchronously.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import time
from collections.abc import Callable, Iterator
from typing import Any

import jax
import numpy as np

from hvp_bench.methods import Method

BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


@contextlib.contextmanager
def count_compilations() -> Iterator[list[float]]:
    """Yields a list that collects the duration of every XLA compile inside the block."""
    durations: list[float] = []

    def listener(event: str, duration: float, **kwargs) -> None:
        if event == BACKEND_COMPILE_EVENT:
            durations.append(duration)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield durations
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


@dataclasses.dataclass
class Timing:
    """One method at one point.

    Attributes:
      compile_s: lowering + XLA compilation of the timed function.
      prepare_s: untimed setup (running `prepare`, e.g. building the Hessian that
        naive_hvp is given; its compile included unless it came precompiled, as in
        the sweep), 0 when the method has none.
      times_s: (num_runs,) wall-clock seconds of each timed call.
      memory: XLA's compiled memory analysis of the timed function, in bytes.
      output: the last call's result, (P,).
    """

    compile_s: float
    prepare_s: float
    times_s: np.ndarray
    memory: dict[str, int]
    output: jax.Array


def memory_of(compiled) -> dict[str, int]:
    """Argument, output, temporary and total bytes XLA reports for a compiled function."""
    stats = compiled.memory_analysis()
    if stats is None:  # some backends report nothing
        return {}
    out = {
        "argument_bytes": int(stats.argument_size_in_bytes),
        "output_bytes": int(stats.output_size_in_bytes),
        "temp_bytes": int(stats.temp_size_in_bytes),
    }
    out["total_bytes"] = out["argument_bytes"] + out["output_bytes"] + out["temp_bytes"] - int(
        stats.alias_size_in_bytes
    )
    return out


def compile_method(method: Method, f: Callable, x: jax.Array, v: jax.Array, state: Any = None):
    """Compiles `method.apply(f, state, x, v)` ahead of time; returns (executable, seconds)."""
    start = time.perf_counter()
    compiled = jax.jit(functools.partial(method.apply, f)).lower(state, x, v).compile()
    return compiled, time.perf_counter() - start


def compile_prepare(method: Method, f: Callable, x: jax.Array):
    """Compiles `method.prepare(f, x)` ahead of time, or None if the method has none."""
    if method.prepare is None:
        return None
    return jax.jit(functools.partial(method.prepare, f)).lower(x).compile()


def prepare_state(method: Method, f: Callable, x: jax.Array, compiled_prepare=None) -> tuple[Any, float]:
    """Runs `method.prepare` (compiled, blocked) if it has one; returns (state, seconds).

    The seconds include compiling `prepare` unless `compiled_prepare` is given.
    """
    if method.prepare is None:
        return None, 0.0
    start = time.perf_counter()
    compiled_prepare = compiled_prepare or compile_prepare(method, f, x)
    state = jax.block_until_ready(compiled_prepare(x))
    return state, time.perf_counter() - start


def time_compiled(compiled, args: tuple, num_runs: int, warmup: int = 1) -> tuple[np.ndarray, Any]:
    """Calls `compiled(*args)` warmup + num_runs times; returns (raw seconds, last output).

    Raises:
      RuntimeError: if anything compiled inside the timed loop.
    """
    out = None
    for _ in range(warmup):
        out = jax.block_until_ready(compiled(*args))
    times = np.empty(num_runs)
    with count_compilations() as compiles:
        for i in range(num_runs):
            start = time.perf_counter()
            out = jax.block_until_ready(compiled(*args))
            times[i] = time.perf_counter() - start
    if compiles:
        raise RuntimeError(f"{len(compiles)} compilation(s) inside the timed loop")
    return times, out


def time_method(
    method: Method, f: Callable, x: jax.Array, v: jax.Array, num_runs: int = 10, warmup: int = 1
) -> Timing:
    """Prepares, compiles and times one method on one (f, x, v)."""
    state, prepare_s = prepare_state(method, f, x)
    compiled, compile_s = compile_method(method, f, x, v, state)
    times, out = time_compiled(compiled, (state, x, v), num_runs, warmup)
    return Timing(compile_s, prepare_s, times, memory_of(compiled), out)
