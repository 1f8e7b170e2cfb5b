"""Timing methods honestly: compile apart, warm up, interleave, block, keep every raw time.

Follows jax's docs/benchmarking.md:
- The timed function is compiled ahead of time (`jit(...).lower(...).compile()`), so
  compile time is measured on its own and the timed call runs a fixed executable.
- The network's input is an argument of the timed function (`loss(params, inputs)`),
  not a constant XLA could fold into the program.
- Every timed call ends in `block_until_ready`, because JAX dispatches asynchronously.
- Methods measured together are interleaved run by run (`time_interleaved`), so slow
  drift of a shared machine spreads over all of them.
- The timed loop runs under `jax.transfer_guard("disallow")`: a host array among the
  arguments (re-uploaded on every call) or any host round trip inside the loop raises
  instead of silently adding a transfer to every time.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

import jax
import numpy as np

from expkit.worker import report
from secondorder.methods import Method

Loss = Callable[[jax.Array, Any], jax.Array]  # loss(params, inputs) -> scalar


@dataclasses.dataclass
class Timing:
    """One method at one point.

    Attributes:
      compile_s: lowering + XLA compilation of the timed function.
      prepare_s: untimed setup (running `prepare`, e.g. building the Hessian that
        naive_hvp is given, its compile included), 0 when the method has none.
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


VECTOR_FREE = ("gradient", "dispatch_floor")
"""Methods that ignore v: given a block of vectors they still run once."""


def timed_function(method: Method, loss: Loss, vectors: int = 1) -> Callable:
    """(state, x, v, inputs) -> the method's output, with the input a traced argument.

    Args:
      loss: loss(params, inputs); for a method that needs the model (hvp_by_hand), the
        bound `MLP.loss` of that model.
      vectors: 1, or k for a block v of shape (k, P): the method is vmapped over it.
    """
    if method.needs_model:
        model = getattr(loss, "__self__", None)
        if not hasattr(model, "hvp_by_hand"):
            raise ValueError(f"{method.name} needs the suite's MLP: pass model.loss")

        def one(state, x, v, inputs):
            return method.apply(model, state, x, v, inputs)
    else:
        def one(state, x, v, inputs):
            return method.apply(lambda p: loss(p, inputs), state, x, v)

    if vectors == 1 or method.name in VECTOR_FREE:
        return one
    return lambda state, x, v, inputs: jax.vmap(lambda u: one(state, x, u, inputs))(v)


def compile_method(method: Method, loss: Loss, x: jax.Array, v: jax.Array, inputs: Any = None,
                   state: Any = None):
    """Compiles the timed call ahead of time; returns (executable, seconds).

    The executable takes (state, x, v, inputs); v of shape (k, P) is a block of k vectors.
    """
    start = time.perf_counter()
    vectors = v.shape[0] if v.ndim == 2 else 1
    compiled = jax.jit(timed_function(method, loss, vectors)).lower(state, x, v, inputs).compile()
    return compiled, time.perf_counter() - start


def compile_prepare(method: Method, loss: Loss, x: jax.Array, inputs: Any = None):
    """Compiles `method.prepare` as (x, inputs) -> state, or None if the method has none."""
    if method.prepare is None:
        return None
    prepare = method.prepare
    return jax.jit(lambda x, inputs: prepare(lambda p: loss(p, inputs), x)).lower(x, inputs).compile()


def prepare_state(method: Method, loss: Loss, x: jax.Array, inputs: Any = None,
                  compiled_prepare=None) -> tuple[Any, float]:
    """Runs `method.prepare` (compiled, blocked) if it has one; returns (state, seconds).

    The seconds include compiling `prepare` unless `compiled_prepare` is given.
    """
    if method.prepare is None:
        return None, 0.0
    start = time.perf_counter()
    compiled_prepare = compiled_prepare or compile_prepare(method, loss, x, inputs)
    state = jax.block_until_ready(compiled_prepare(x, inputs))
    return state, time.perf_counter() - start


def round_orders(names: list[str], num_runs: int, order: str = "shuffled", seed: Any = 0) -> list[list[str]]:
    """The call order of each round: config order ("round_robin") or a seeded permutation."""
    if order == "round_robin":
        return [list(names) for _ in range(num_runs)]
    if order != "shuffled":
        raise ValueError(f"order must be 'shuffled' or 'round_robin', got {order!r}")
    rng = np.random.default_rng(seed)
    return [[names[i] for i in rng.permutation(len(names))] for _ in range(num_runs)]


def time_interleaved(calls: Mapping[Any, tuple[Callable, tuple]], num_runs: int, warmup: int = 1,
                     order: str = "shuffled", seed: Any = 0):
    """Times several compiled calls run by run: every call once per round.

    Args:
      calls: name -> (compiled function, its arguments as device arrays).
      num_runs: rounds; each call is timed once per round.
      warmup: untimed calls of each before the first round.
      order: "shuffled" (a permutation per round, drawn from `seed`) or "round_robin".
    Returns:
      (times, positions, outputs): name -> (num_runs,) seconds; name -> (num_runs,) the
      call's position within its round; name -> the last output.
    Raises:
      JaxRuntimeError: a host-to-device or device-to-host transfer inside the loop.
    """
    names = list(calls)
    outputs = {}
    for name in names:
        fn, args = calls[name]
        for _ in range(warmup):
            outputs[name] = jax.block_until_ready(fn(*args))
    times = {name: np.empty(num_runs) for name in names}
    positions = {name: np.empty(num_runs, int) for name in names}
    with jax.transfer_guard("disallow"):
        for r, names_in_order in enumerate(round_orders(names, num_runs, order, seed)):
            for position, name in enumerate(names_in_order):
                report(name)  # outside the timed interval: who is in flight, if it hangs
                fn, args = calls[name]
                start = time.perf_counter()
                out = jax.block_until_ready(fn(*args))
                times[name][r] = time.perf_counter() - start
                positions[name][r] = position
                outputs[name] = out
    return times, positions, outputs


def time_compiled(compiled, args: tuple, num_runs: int, warmup: int = 1) -> tuple[np.ndarray, Any]:
    """Calls `compiled(*args)` warmup + num_runs times; returns (raw seconds, last output)."""
    times, _, outputs = time_interleaved({"call": (compiled, args)}, num_runs, warmup)
    return times["call"], outputs["call"]


def time_method(method: Method, f: Callable, x: jax.Array, v: jax.Array, num_runs: int = 10,
                warmup: int = 1, inputs: Any = None) -> Timing:
    """Prepares, compiles and times one method on a scalar function.

    Args:
      method: e.g. `get_method("hvp_fwd_rev")`.
      f: f(x) -> scalar, or f(x, inputs) when `inputs` is given; `model.loss` of the
        suite's MLP for a method that needs the model (hvp_by_hand).
      x, v: device arrays: the point (P,) and the vector (P,) or a block of them (k, P).
      inputs: data passed to f as a traced argument of the timed call, or None.
    """
    # A method that needs the model gets `model.loss` itself (it accepts inputs=None).
    loss = f if inputs is not None or method.needs_model else (lambda p, _: f(p))
    state, prepare_s = prepare_state(method, loss, x, inputs)
    compiled, compile_s = compile_method(method, loss, x, v, inputs, state)
    times, out = time_compiled(compiled, (state, x, v, inputs), num_runs, warmup)
    return Timing(compile_s, prepare_s, times, memory_of(compiled), out)
