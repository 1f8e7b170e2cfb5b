"""Memory: what a point will need, what the machine has, and the guard between them.

A dense float32 Hessian needs 4 P^2 bytes (1 GB at P = 16k, 16 GB at 64k): the one
method whose memory grows with the square of the model. Building it with `jax.hessian`
vectorises all P columns, so each layer's residuals are held P times over.
"""

from __future__ import annotations

import os
from pathlib import Path

# Residual arrays a reverse pass keeps per layer and batch row (the layer input and the
# GELU pre-activation), and the extra tangent copies a second-order pass adds.
_RESIDUALS_PER_LAYER = 2
_SECOND_ORDER_FACTOR = 3


def predicted_bytes(method: str, params: int, depth: int, width: int, batch: int,
                    itemsize: int, hessian_block: int = 0) -> int:
    """An analytic estimate of one method's peak working memory, in bytes.

    Args:
      method: a registry name.
      params: P, the number of parameters.
      depth, width, batch: the model (n hidden layers of width w, batch b).
      itemsize: bytes per number (4 for float32).
      hessian_block: columns per block when building the dense Hessian (0: all P).
    """
    activations = depth * width * batch * itemsize * _RESIDUALS_PER_LAYER
    vectors = 4 * params * itemsize  # x, v, the output and one gradient-sized temporary
    if method in ("hessian_then_hvp", "naive_hvp"):
        columns = params if hessian_block <= 0 else min(hessian_block, params)
        hessian = params * params * itemsize
        # naive_hvp is given H, but H is built first: the build's temporaries count too.
        return hessian + columns * activations * _SECOND_ORDER_FACTOR + vectors
    if method == "gradient":
        return activations + vectors
    return activations * _SECOND_ORDER_FACTOR + vectors


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
