"""Timing methods honestly: compile apart, warm up, interleave, block, keep every raw time.

Follows jax's docs/benchmarking.md:
- The timed function is compiled ahead of time (`jit(...).lower(...).compile()`), so
  compile time is measured on its own and the timed call runs a fixed executable.
- The data is an argument of the timed function (`loss(params, inputs)`), not a
  constant XLA could fold into the program.
- Every timed call ends in `block_until_ready`, because JAX dispatches asynchronously.
- Methods measured together are interleaved run by run (`time_interleaved`), so slow
  drift of a shared machine spreads over all of them.
- The timed loop runs under `jax.transfer_guard("disallow")`: a host array among the
  arguments (re-uploaded on every call) or any host round trip inside the loop raises
  instead of silently adding a transfer to every time.

One path for one method and for many: `prepare_call` builds a method's timed call
(prepare, compile, warm up), `time_interleaved` times several of them round by round, and
`time_method` is the two for one method. Parameters and vectors are any pytree; a block of
k vectors has a leading axis k on every leaf.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

import jax
import numpy as np

from secondorder.methods import Method
from secondorder.products import vmap_safe_loss

Loss = Callable[..., jax.Array]  # loss(params, inputs) or loss(params, *inputs) -> scalar
CallHook = Callable[[Any], None]


@dataclasses.dataclass
class Timing:
    """One method at one point.

    Attributes:
      compile_s: lowering + XLA compilation of the timed function (and of `prepare`).
      prepare_s: running the untimed setup (e.g. building the Hessian that naive_hvp is
        given), 0 when the method has none.
      times_s: (num_runs,) wall-clock seconds of each timed call.
      memory: XLA's compiled memory analysis of the timed function, in bytes.
      output: the last call's result, with the structure of the parameters.
    """

    compile_s: float
    prepare_s: float
    times_s: np.ndarray
    memory: dict[str, int]
    output: Any = dataclasses.field(repr=False)


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


def is_block(x: Any, v: Any) -> bool:
    """Whether v is a block of vectors shaped like x: a leading axis on every leaf (even of length 1)."""
    return jax.tree.leaves(v)[0].ndim == jax.tree.leaves(x)[0].ndim + 1


def vmaps(method: Method, block: bool = False) -> bool:
    """Whether `method` runs vmapped products: a dense Hessian, or a block of vectors."""
    return method.dense or (block and method.needs_vector)


def _loss_to_run(method: Method, loss: Loss, block: bool) -> Loss:
    """`loss` as written, or, where the method vmaps products of the suite's MLP, the same
    loss of its vmap-safe form (`MLP.vmap_safe`: XLA:CPU's vmapped tanh-GELU fault)."""
    return vmap_safe_loss(loss) if vmaps(method, block) else loss


def _at(loss: Loss, inputs: Any) -> Callable:
    """p -> loss(p, *inputs) for a tuple of arguments, else loss(p, inputs)."""
    if isinstance(inputs, tuple):
        return lambda p: loss(p, *inputs)
    return lambda p: loss(p, inputs)


def timed_function(method: Method, loss: Loss, block: bool = False) -> Callable:
    """(state, x, v, inputs) -> the method's output, with the data a traced argument.

    Args:
      loss: loss(params, inputs); for a method that needs the model (hvp_by_hand), the
        bound `MLP.loss` of that model.
      block: v is a block of vectors (a leading axis on every leaf): the method is vmapped over it.
    """
    loss = _loss_to_run(method, loss, block)
    if method.needs_model:
        model = getattr(loss, "__self__", None)
        if not hasattr(model, "hvp_by_hand"):
            raise ValueError(f"{method.name} needs the suite's MLP: pass model.loss")

        def one(state, x, v, inputs):
            return method.apply(model, state, x, v, inputs)
    else:
        def one(state, x, v, inputs):
            return method.apply(_at(loss, inputs), state, x, v)

    if not block or not method.needs_vector:
        return one
    return lambda state, x, v, inputs: jax.vmap(lambda u: one(state, x, u, inputs))(v)


def compile_method(method: Method, loss: Loss, x: Any, v: Any, inputs: Any = None, state: Any = None):
    """Compiles the timed call ahead of time; returns (executable, seconds).

    The executable takes (state, x, v, inputs); v may be a block of vectors (`is_block`).
    """
    start = time.perf_counter()
    compiled = jax.jit(timed_function(method, loss, is_block(x, v))).lower(state, x, v, inputs).compile()
    return compiled, time.perf_counter() - start


def compile_prepare(method: Method, loss: Loss, x: Any, inputs: Any = None, block: bool = False):
    """Compiles `method.prepare` as (x, inputs) -> state, or None if the method has none.

    block: the timed call takes a block of vectors, so the state (a linearization) is
    applied vmapped: it is built from the vmap-safe form then.
    """
    if method.state is None:
        return None
    loss = _loss_to_run(method, loss, block)
    return jax.jit(lambda x, inputs: method.prepare(_at(loss, inputs), x)).lower(x, inputs).compile()


class OverBudget(Exception):
    """A compiled function needs more memory than the caller's budget allows.

    Attributes: reason (words), stage ("prepare" or the timed call), compiled_bytes.
    """

    def __init__(self, reason: str, stage: str, compiled_bytes: int):
        super().__init__(reason)
        self.reason, self.stage, self.compiled_bytes = reason, stage, compiled_bytes


@dataclasses.dataclass
class TimedCall:
    """A method's timed call, compiled and warmed up: `fn(*args)` is what gets timed.

    Attributes:
      compile_s: compiling `prepare` (if any) and the timed function.
      prepare_s: running the compiled `prepare` once.
      memory: the timed function's compiled memory analysis (memory_of).
      compiled_bytes: the larger total of `prepare`'s and the timed function's.
    """

    fn: Callable
    args: tuple  # (state, x, v, inputs)
    compile_s: float
    prepare_s: float
    memory: dict[str, int]
    compiled_bytes: int

    @property
    def state(self) -> Any:
        """What `prepare` built (None for most methods), held alive while the call may run."""
        return self.args[0]


def prepare_call(method: Method, f: Loss, x: Any, v: Any, *, inputs: Any = None, warmup: int = 1,
                 budget: Callable[[int], str | None] | None = None) -> TimedCall:
    """Prepares (untimed), compiles and warms up one method's timed call.

    Args:
      f: f(x) -> scalar, or f(x, inputs) (f(x, *inputs) for a tuple) when `inputs` is
        given; `model.loss` of the suite's MLP for a method that needs the model.
      x, v: device arrays (pytrees): the point and the vector, or a block of vectors.
      inputs: data passed to f as traced arguments of the timed call (an array, or a
        tuple of them), or None.
      budget: called with each compiled function's total bytes before it runs; a reason
        (not None) stops here with OverBudget.
    """
    # The suite's `model.loss` is passed on as it is (it accepts inputs=None): a method may
    # need the model, and the library picks its vmap-safe form where products are vmapped.
    is_model_loss = hasattr(getattr(f, "__self__", None), "vmap_safe")
    loss = f if inputs is not None or is_model_loss else (lambda p, _: f(p))
    start = time.perf_counter()
    prepare = compile_prepare(method, loss, x, inputs, is_block(x, v))
    compile_s = time.perf_counter() - start
    compiled_bytes, state, prepare_s = 0, None, 0.0
    if prepare is not None:
        compiled_bytes = memory_of(prepare).get("total_bytes", 0)
        if budget and (reason := budget(compiled_bytes)):
            raise OverBudget(reason, "prepare", compiled_bytes)
        start = time.perf_counter()
        state = jax.block_until_ready(prepare(x, inputs))
        prepare_s = time.perf_counter() - start
    compiled, seconds = compile_method(method, loss, x, v, inputs, state)
    memory = memory_of(compiled)
    compiled_bytes = max(compiled_bytes, memory.get("total_bytes", 0))
    if budget and (reason := budget(compiled_bytes)):
        raise OverBudget(reason, "call", compiled_bytes)
    args = (state, x, v, inputs)
    for _ in range(warmup):
        jax.block_until_ready(compiled(*args))
    return TimedCall(compiled, args, compile_s + seconds, prepare_s, memory, compiled_bytes)


def round_orders(names: list[str], num_runs: int, order: str = "shuffled", seed: Any = 0) -> list[list[str]]:
    """The call order of each round: config order ("round_robin") or a seeded permutation."""
    if order == "round_robin":
        return [list(names) for _ in range(num_runs)]
    if order != "shuffled":
        raise ValueError(f"order must be 'shuffled' or 'round_robin', got {order!r}")
    rng = np.random.default_rng(seed)
    return [[names[i] for i in rng.permutation(len(names))] for _ in range(num_runs)]


def time_interleaved(calls: Mapping[Any, tuple[Callable, tuple]], num_runs: int, warmup: int = 1,
                     order: str = "shuffled", seed: Any = 0, on_call: CallHook | None = None):
    """Times several compiled calls run by run: every call once per round.

    Args:
      calls: name -> (compiled function, its arguments as device arrays).
      num_runs: rounds; each call is timed once per round.
      warmup: untimed calls of each before the first round.
      order: "shuffled" (a permutation per round, drawn from `seed`) or "round_robin".
      on_call: called with each call's name just before it is timed (outside the timed
        interval), e.g. to say which call is in flight if it hangs.
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
                if on_call is not None:
                    on_call(name)
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


def time_method(method: Method, f: Callable, x: Any, v: Any, num_runs: int = 10, warmup: int = 1,
                inputs: Any = None) -> Timing:
    """Prepares, compiles and times one method on a scalar function.

    Args:
      method: e.g. `get_method("hvp_fwd_rev")`.
      f: f(x) -> scalar, or f(x, inputs) (f(x, *inputs) for a tuple) when `inputs` is
        given; `model.loss` of the suite's MLP for a method that needs the model.
      x, v: device arrays, any pytree: the point and the vector (or a block of vectors,
        a leading axis on every leaf).
      inputs: data passed to f as traced arguments of the timed call (an array, or a
        tuple of them, e.g. (x, y)), or None.
    """
    call = prepare_call(method, f, x, v, inputs=inputs, warmup=warmup)
    times, out = time_compiled(call.fn, call.args, num_runs, warmup=0)
    return Timing(call.compile_s, call.prepare_s, times, call.memory, out)
