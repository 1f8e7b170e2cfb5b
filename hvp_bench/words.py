"""The words of hvp_bench: method names, axis labels, statistics, titles, and how a time is written.

One vocabulary for every figure, table and report (hvp_bench.plots, hvp_bench.report,
hvp_bench.rundir's terminal table), so the same quantity is named and written the same
way everywhere: one table of method labels (`LABELS`), one time formatter (`ms`). A test
checks that every axis label of the package comes from `AXIS_LABELS`. "Layers" are the
MLP's hidden layers, as in the homework ("Number of layers"); each figure says so once,
in its subtitle. Neither JAX nor matplotlib.
"""

from __future__ import annotations

import numpy as np

from hvp_bench.config import FLOOR_METHOD
from hvp_bench.variants import describe

LABELS = {
    "hessian_then_hvp": "(1) build the Hessian, then multiply",
    "naive_hvp": "(2) multiply a given Hessian",
    "hvp_rev_rev": "(3) autodiff HVP (reverse-over-reverse)",
    "hvp_fwd_rev": "autodiff HVP (forward-over-reverse)",
    "hvp_rev_fwd": "autodiff HVP (reverse-over-forward)",
    "hvp_linearize": "linearize, then apply (forward-over-reverse)",
    "hvp_linearized_apply": "apply a stored linearization",
    "hvp_by_hand": "hand-written HVP (R-operator)",
    "gradient": "gradient (baseline)",
    FLOOR_METHOD: "empty call (fixed cost of any call)",
}

DEPTH = "Number of layers"
WIDTH = "Hidden width"
TIME = "Computation time (s)"
COMPILE = "Compile time (s)"
MEMORY = "Memory (bytes)"
RATIO = "Time / gradient time"
SPEEDUP = "Speedup (ratio of median times)"
PER_LAYER = "Time per extra layer (µs)"
VECTORS = "Vectors per call"
AXIS_LABELS = frozenset({DEPTH, WIDTH, TIME, COMPILE, MEMORY, RATIO, SPEEDUP, PER_LAYER, VECTORS})
"""Every axis label an hvp_bench figure may carry."""

MEAN_STD = "mean ± 1 standard deviation over runs"
MEDIAN_IQR = "median, bars from the 25th to the 75th percentile over runs"
DEAD_LABEL = "hollow: result all zero or non-finite (dead network)"
LAYERS_NOTE = "layers = hidden layers"


def label(method: str) -> str:
    """A method's name in plain words (its code name if it has none)."""
    return LABELS.get(method, method)


def variant_words(name: str) -> str:
    """A variant's code name with its meaning, e.g. "scan-remat (recomputed backward)"."""
    words = describe(name)
    return name if words == name else f"{name} ({words})"


def machine(meta: dict) -> str:
    """"2-core CPU", or the accelerator's name, from meta.json's environment."""
    env = meta.get("environment", {})
    device = str(env.get("device", "?"))
    if device.lower() == "cpu":
        cores = env.get("cpu_count")
        return f"{cores}-core CPU" if cores else "CPU"
    return device


def precision(meta: dict) -> str:
    """The number format in plain words: "float32", or what the matmul precision changed."""
    config, env = meta.get("config", {}), meta.get("environment", {})
    dtype = config.get("dtype", "?")
    # Runs from before the key existed ran with JAX's default precision.
    setting = config.get("matmul_precision", "default")
    if dtype != "float32" or setting == "highest":
        return dtype
    if setting == "default":
        on_cpu = str(env.get("device", "")).lower() == "cpu"
        return dtype if on_cpu else f"{dtype} (matrix products may round to TF32)"
    return f"{dtype} (matrix products at precision {setting!r})"


def subtitle(meta: dict, variant: str | None = None, show_width: bool = True) -> str:
    """Machine, number format, model and model code of a run, in one short line.

    Args:
      variant: the variant drawn; None: the run's first; "all": every variant of the run.
    """
    config = meta.get("config", {})
    variant = variant or meta.get("_variant") or (config.get("variants") or config.get("forms")
                                                  or [config.get("form", "scan")])[0]
    width = f"width {config.get('width', '?')}, " if show_width else ""
    code = "every variant of the code" if variant == "all" else f"code: {variant_words(variant)}"
    return (f"{machine(meta)}, {precision(meta)} · MLP of {width}batch {config.get('batch', '?')} · "
            f"{code} · {LAYERS_NOTE}")


def title(meta: dict, what: str, show_width: bool = True, variant: str | None = None) -> str:
    """`what` over the run's subtitle line."""
    return f"{what}\n{subtitle(meta, variant, show_width)}"


def ms(seconds: float) -> str:
    """Milliseconds to 3 significant digits, never in exponent form: 0.0366, 5.48, 944, 1210."""
    value = float(seconds) * 1e3
    if not np.isfinite(value) or value <= 0:
        return "-"
    decimals = 2 - int(np.floor(np.log10(value)))
    value = round(value, decimals)  # may carry to the next power of ten: 9.996 -> 10.0
    decimals = 2 - int(np.floor(np.log10(value)))
    return f"{value:.{max(decimals, 0)}f}"


def significant(value: float, digits: int = 3) -> str:
    """`digits` significant digits, trailing zeros kept, never an exponent: 0.0691, 0.700, 6.46, 17.0, 315, 1162
    (3); 0.60, 1.4, 2.0, 12, 150 (2)."""
    return f"{value:.0f}" if abs(value) >= 10 ** (digits - 1) else f"{value:#.{digits}g}"


def duration(seconds: float) -> str:
    """A time with its unit, 3 significant digits: "0.312 ms", "58.5 ms", "3.48 s" (ms below a second)."""
    return f"{ms(seconds)} ms" if seconds < 1 else f"{ms(seconds / 1e3)} s"
