"""Memory: what a point will need, what the machine has, and the guard between them.

A dense float32 Hessian needs H = 4 P^2 bytes (1 GB at P = 16k, 16 GB at 64k): the one
method whose memory grows with the square of the model. Building it vectorises C
columns at once (C = P with `jax.hessian`, else the block size), and each of them
carries its own tangent of the activation tape.

`predicted_bytes` is a model of XLA's compiled memory analysis (arguments + outputs +
temporaries), fitted on this suite's MLP (scan form, XLA:CPU, jax 0.10.2) over widths
4-256, batches 1-256 and depths 8-1000, with s bytes a number and n·w·b the activation
tape:
  dense build (naive_hvp's prepare): P s + H + [H + C P s + 5 C n w b s]
  hessian_then_hvp:                 3 P s + [2 H + C P s / 2 + 5 C n w b s]
  every other method:               p P s + t n w b s, (p, t) per method below.
tests/hvp_bench/test_memory.py checks it against the compiled figure (within 25% at the smoke
and homework sizes and across widths and batches; the dense routes, which run the GELU's
logistic form, are over-predicted by up to 30% at 3 layers, the safe side of the guard).
"""

from __future__ import annotations

import os
from pathlib import Path

# (copies of the P-sized vectors, copies of the activation tape) held at the peak of
# each linear-cost method: inputs, outputs and gradient-sized temporaries; the tape and
# its tangents (rev-over-rev and linearize keep two tapes).
_LINEAR_COPIES = {
    "gradient": (3, 6),
    "hvp_fwd_rev": (5, 12),
    "hvp_rev_fwd": (5, 14),
    "hvp_rev_rev": (6, 23),
    "hvp_linearize": (5, 24),
    "hvp_linearized_apply": (4, 24),
    "hvp_by_hand": (5, 4),
    "dispatch_floor": (1, 0),  # unused arguments are pruned from the executable: v only
}
_TANGENT_TAPES_PER_COLUMN = 5  # per vectorised Hessian column, in units of the tape n w b s


def predicted_bytes(method: str, params: int, depth: int, width: int, batch: int,
                    itemsize: int, hessian_block: int = 0, vectors: int = 1) -> int:
    """The predicted peak of XLA's compiled memory analysis for one method, in bytes.

    Args:
      method: a method's name (secondorder.methods).
      params: P, the number of parameters.
      depth, width, batch: the model (n hidden layers of width w, batch b).
      itemsize: bytes per number (4 for float32).
      hessian_block: columns per block when building the dense Hessian (0: all P).
      vectors: k for a block of k vectors per call (vmap): k copies of every per-vector
        array (the gradient runs once; the floor's argument is the block).
    """
    s, tape, k = itemsize, depth * width * batch * itemsize, vectors
    if method in ("hessian_then_hvp", "naive_hvp"):
        columns = params if hessian_block <= 0 else min(hessian_block, params)
        hessian = params * params * s
        tangents = _TANGENT_TAPES_PER_COLUMN * columns * tape
        if method == "naive_hvp":  # its peak is building the H it is then given
            return params * s + 2 * hessian + columns * params * s + tangents + 2 * (k - 1) * params * s
        return 3 * params * s + 2 * hessian + columns * params * s // 2 + tangents + 2 * (k - 1) * params * s
    copies, tapes = _LINEAR_COPIES[method]
    if method == "gradient":
        return copies * params * s + tapes * tape + (k - 1) * params * s
    if method == "dispatch_floor":
        return k * params * s
    return k * (copies * params * s + tapes * tape)


def available_host_bytes() -> int:
    """MemAvailable from /proc/meminfo (free RAM the kernel can hand out), else total RAM."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def available_device_bytes(device) -> int | None:
    """The allocator's limit on an accelerator, or None where JAX reports none (CPU)."""
    stats = device.memory_stats() if hasattr(device, "memory_stats") else None
    if not stats:
        return None
    return int(stats.get("bytes_limit", 0)) or None


def default_budget_bytes(device) -> int:
    """A safe budget: 90% of the device allocator's limit, or 75% of available host RAM.

    XLA:CPU compiles and runs in the host process, and compiling a dense Hessian needs
    host memory of its own, so the host budget keeps a wider margin.
    """
    limit = available_device_bytes(device)
    if limit is not None:
        return int(0.9 * limit)
    return int(0.75 * available_host_bytes())


def over_budget(needed: int, budget: int) -> str | None:
    """None if `needed` fits, else the reason a point is skipped."""
    if needed <= budget:
        return None
    return f"needs {needed / 1e9:.2f} GB > budget {budget / 1e9:.2f} GB"
