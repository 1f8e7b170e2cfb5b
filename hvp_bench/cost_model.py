"""The analytic cost model: what each method should cost, per regime, as the MLP grows.

Per-layer matmul, byte and sequential-step counts of every method, derived in
docs/analysis.md. They give the predicted exponent of time and memory in depth and in
width, per regime (overhead-, arithmetic- or bandwidth-bound), and a roofline-style time
`predicted_time(method, n, w, b, machine)` with machine constants as parameters. The fits
it is compared with are in hvp_bench/scaling.py.

Notation: n hidden layers of width w, batch b, P ~= n w^2 parameters, s bytes a number.
"""

from __future__ import annotations

import dataclasses

from hvp_bench.config import METHOD_NAMES
from hvp_bench.memory import predicted_bytes

REGIMES = ("overhead", "arithmetic", "bandwidth")
"""overhead: a fixed cost per sequential step (kernel launch, per-op dispatch) dominates;
arithmetic: flops / peak flop rate dominates; bandwidth: bytes moved / memory bandwidth."""

# Sequential scan steps per hidden layer (the overhead-bound term is steps * n * cost per
# step). How JAX lowers each composition of a `lax.scan` over layers: a forward scan, its
# transpose (the backward scan), and for second order the JVP or transpose of those.
_STEPS_PER_LAYER = {
    "gradient": 2,              # forward scan + backward scan
    "hvp_fwd_rev": 2,           # JVP of both scans: same two loops, tangents carried along
    "hvp_rev_fwd": 2,           # one JVP scan (primal + tangent), then its transpose
    "hvp_rev_rev": 4,           # inner forward + backward, then the transpose of each
    "hvp_linearize": 4,         # primal forward + backward, then the linear (tangent) pair
    "hvp_linearized_apply": 2,  # the linear pair only
    "hvp_by_hand": 2,           # one forward scan (h, Rh), one backward scan (g, Rg)
    "hessian_then_hvp": 2,      # the vmapped fwd-over-rev: two loops, each P columns wide
    "naive_hvp": 0,             # one matrix-vector product, no loop over layers
}
# (b, w) x (w, w) matmuls per layer, in units of one forward matmul (2 b w^2 flops).
# Gradient: h W forward, g W^T and h^T g backward = 3. Each bilinear op's tangent costs
# two products, so any HVP = 3 primal + 6 tangent = 9 (3x the gradient); a stored
# linearization applies the 6 tangent products only. The hand-derived R-operator needs 8:
# it never forms the gradient's h^T g. The dense Hessian runs the 6 tangent products for
# each of P basis vectors (the primal once).
_MATMULS_PER_LAYER = {
    "gradient": 3, "hvp_fwd_rev": 9, "hvp_rev_fwd": 9, "hvp_rev_rev": 9, "hvp_linearize": 9,
    "hvp_linearized_apply": 6, "hvp_by_hand": 8,
}
# Reads and writes of P-sized arrays (weights, v, tangents, outputs) per call, and of the
# per-layer activation tape (n w b numbers), in the bandwidth-bound regime.
_PARAM_PASSES = {
    "gradient": 3, "hvp_fwd_rev": 6, "hvp_rev_fwd": 6, "hvp_rev_rev": 7, "hvp_linearize": 7,
    "hvp_linearized_apply": 5, "hvp_by_hand": 5,
}
_TAPE_PASSES = {
    "gradient": 4, "hvp_fwd_rev": 8, "hvp_rev_fwd": 8, "hvp_rev_rev": 12, "hvp_linearize": 12,
    "hvp_linearized_apply": 4, "hvp_by_hand": 8,
}

# The derivation's result (docs/analysis.md): exponent of time in depth n per regime, of
# memory in n, and the same in width w. A test checks these against the counts above.
_DEPTH_TIME = {  # method: {regime: exponent}
    **{m: {"overhead": 1, "arithmetic": 1, "bandwidth": 1} for m in _MATMULS_PER_LAYER},
    "hessian_then_hvp": {"overhead": 1, "arithmetic": 2, "bandwidth": 2},
    "naive_hvp": {"overhead": 0, "arithmetic": 2, "bandwidth": 2},
}
_WIDTH_TIME = {
    **{m: {"overhead": 0, "arithmetic": 2, "bandwidth": 2} for m in _MATMULS_PER_LAYER},
    "hessian_then_hvp": {"overhead": 0, "arithmetic": 4, "bandwidth": 4},
    "naive_hvp": {"overhead": 0, "arithmetic": 4, "bandwidth": 4},
}
_DEPTH_MEMORY = {**{m: 1 for m in _MATMULS_PER_LAYER}, "hessian_then_hvp": 2, "naive_hvp": 2}
_WIDTH_MEMORY = {**{m: 2 for m in _MATMULS_PER_LAYER}, "hessian_then_hvp": 4, "naive_hvp": 4}

# The time formula of each method, for the report's table (s: bytes per number).
FORMULAS = {
    "gradient": ("2n steps; 3·2bw²·n flops", "s·(2nwb + 4P)"),
    "hvp_rev_rev": ("4n steps; 9·2bw²·n flops", "s·(6nwb + 4P): two tapes"),
    "hvp_fwd_rev": ("2n steps; 9·2bw²·n flops", "s·(6nwb + 4P)"),
    "hvp_rev_fwd": ("2n steps; 9·2bw²·n flops", "s·(6nwb + 4P)"),
    "hvp_linearize": ("4n steps; 9·2bw²·n flops", "s·(6nwb + 4P)"),
    "hvp_linearized_apply": ("2n steps; 6·2bw²·n flops", "s·(6nwb + 4P): the stored tape"),
    "hvp_by_hand": ("2n steps; 8·2bw²·n flops", "s·(4nwb + 4P): h, Rh, z, Rz"),
    "hessian_then_hvp": ("2n steps; 6P·2bw²·n + 2P² flops ≈ 12n²w⁴b", "s·P² + 3P·2nwb·s: H + P tapes"),
    "naive_hvp": ("1 op; 2P² flops, reads s·P² bytes", "s·P² (H is an argument)"),
}
# Time in gradients when arithmetic-bound (matmul counts) and when overhead-bound (steps).
GRADIENT_MULTIPLE = {
    m: {"arithmetic": _MATMULS_PER_LAYER[m] / 3, "overhead": _STEPS_PER_LAYER[m] / 2}
    for m in _MATMULS_PER_LAYER
}


@dataclasses.dataclass(frozen=True)
class Machine:
    """Machine constants of the roofline model (rough, effective values, not peaks).

    step_s: fixed cost of one sequential step (kernel launches, per-op dispatch), s.
    flops_per_s: arithmetic rate. bytes_per_s: memory bandwidth.
    """

    name: str
    step_s: float
    flops_per_s: float
    bytes_per_s: float


# Order-of-magnitude constants. step_s from measured gradients: on an H100 a gradient
# costs ~21 us per layer (2 steps); on a 2-core x86 CPU ~0.1-0.3 us per layer.
MACHINES = {
    "cpu": Machine("2-core x86 CPU (rough)", step_s=1e-7, flops_per_s=5e10, bytes_per_s=1e10),
    "gpu": Machine("H100 (rough)", step_s=1e-5, flops_per_s=5e13, bytes_per_s=3e12),
}


def _check_method(method: str) -> None:
    if method not in _DEPTH_TIME:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHOD_NAMES)}")


def predicted_terms(method: str, n: float, w: float, b: float = 1, itemsize: int = 4) -> dict[str, float]:
    """The counts that set each regime's time, and the memory, of one call.

    Args:
      method: a registry name. n: hidden layers. w: width. b: batch. itemsize: bytes/number.
    Returns:
      {"params": P = n w^2, "steps": sequential steps, "flops", "bytes": bytes moved,
       "memory": peak bytes (hvp_bench.memory.predicted_bytes)}.
    """
    _check_method(method)
    params = n * w * w
    tape = n * w * b  # one activation per layer and batch row
    if method == "naive_hvp":
        flops, moved = 2 * params**2, itemsize * params**2
    elif method == "hessian_then_hvp":
        # P tangent columns through the 6 tangent matmuls of each layer; then H @ v. H is
        # written once and read once; the P vmapped tapes are written and read.
        flops = 6 * params * 2 * b * w * w * n + 3 * 2 * b * w * w * n + 2 * params**2
        moved = itemsize * (2 * params**2 + 4 * params * tape)
    else:
        flops = _MATMULS_PER_LAYER[method] * 2 * b * w * w * n
        moved = itemsize * (_PARAM_PASSES[method] * params + _TAPE_PASSES[method] * tape)
    steps = _STEPS_PER_LAYER[method] * n + (1 if method in ("naive_hvp", "hessian_then_hvp") else 0)
    memory = predicted_bytes(method, int(round(params)), int(round(n)), int(round(w)), int(round(b)), itemsize)
    return {"params": params, "steps": steps, "flops": flops, "bytes": moved, "memory": memory}


def predicted_time(method: str, n: float, w: float, b: float, machine: Machine,
                   itemsize: int = 4) -> dict[str, float | str]:
    """Roofline-style time: steps * step_s + max(flops / flop rate, bytes / bandwidth).

    Returns {"overhead_s", "arithmetic_s", "bandwidth_s", "time_s", "regime"}, where
    regime names the largest of the three terms.
    """
    t = predicted_terms(method, n, w, b, itemsize)
    parts = {
        "overhead": t["steps"] * machine.step_s,
        "arithmetic": t["flops"] / machine.flops_per_s,
        "bandwidth": t["bytes"] / machine.bytes_per_s,
    }
    return {
        **{f"{k}_s": v for k, v in parts.items()},
        "time_s": parts["overhead"] + max(parts["arithmetic"], parts["bandwidth"]),
        "regime": max(parts, key=parts.get),
    }


def predicted_depth_exponent(method: str, quantity: str = "time", regime: str = "arithmetic") -> int:
    """k in time or memory ~ n^k at fixed width and batch.

    Args:
      method: a registry name.
      quantity: "time" or "memory" (memory has one exponent whatever the regime).
      regime: "overhead", "arithmetic" or "bandwidth" (time only).
    """
    return _exponent(method, quantity, regime, _DEPTH_TIME, _DEPTH_MEMORY)


def predicted_width_exponent(method: str, quantity: str = "time", regime: str = "arithmetic") -> int:
    """k in time or memory ~ w^k at fixed depth and batch (batch <= width)."""
    return _exponent(method, quantity, regime, _WIDTH_TIME, _WIDTH_MEMORY)


def _exponent(method: str, quantity: str, regime: str, time_table: dict, memory_table: dict) -> int:
    _check_method(method)
    if quantity == "memory":
        return memory_table[method]
    if quantity != "time":
        raise ValueError(f"quantity must be 'time' or 'memory', got {quantity!r}")
    if regime not in REGIMES:
        raise ValueError(f"regime must be one of {REGIMES}, got {regime!r}")
    return time_table[method][regime]
