"""Scaling analysis: the analytic cost model and power-law fits of measured times.

Everything here works on result tables (runs.csv rows), so the analysis can be redone
or changed without re-running a sweep. Two parts (the report is hvp_bench/report.py):

- Model: per-layer matmul, byte and sequential-step counts of every method, derived in
  docs/analysis.md. They give the predicted exponent of time and memory in depth and in
  width, per regime (overhead-, arithmetic- or bandwidth-bound), and a roofline-style
  time `predicted_time(method, n, w, b, machine)` with machine constants as parameters.
- Fits: log-log slopes of time against depth (or width) with a bootstrap CI over the
  timed runs, `T = a + c n^k` with the fixed floor `a` taken out, memory slopes, and
  each HVP's time as a multiple of the gradient's.

Notation: n hidden layers of width w, batch b, P ~= n w^2 parameters, s bytes a number.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from hvp_bench.config import METHOD_NAMES
from hvp_bench.memory import predicted_bytes

# --- the analytic model -------------------------------------------------------------------

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
    "hessian_then_hvp": 2,      # the vmapped fwd-over-rev: two loops, each P columns wide
    "naive_hvp": 0,             # one matrix-vector product, no loop over layers
}
# (b, w) x (w, w) matmuls per layer, in units of one forward matmul (2 b w^2 flops).
# Gradient: h W forward, g W^T and h^T g backward = 3. Each bilinear op's tangent costs
# two products, so any HVP = 3 primal + 6 tangent = 9 (3x the gradient); a stored
# linearization applies the 6 tangent products only. The dense Hessian runs the 6 tangent
# products for each of P basis vectors (the primal once).
_MATMULS_PER_LAYER = {
    "gradient": 3, "hvp_fwd_rev": 9, "hvp_rev_fwd": 9, "hvp_rev_rev": 9, "hvp_linearize": 9,
    "hvp_linearized_apply": 6,
}
# Reads and writes of P-sized arrays (weights, v, tangents, outputs) per call, and of the
# per-layer activation tape (n w b numbers), in the bandwidth-bound regime.
_PARAM_PASSES = {
    "gradient": 3, "hvp_fwd_rev": 6, "hvp_rev_fwd": 6, "hvp_rev_rev": 7, "hvp_linearize": 7,
    "hvp_linearized_apply": 5,
}
_TAPE_PASSES = {
    "gradient": 4, "hvp_fwd_rev": 8, "hvp_rev_fwd": 8, "hvp_rev_rev": 12, "hvp_linearize": 12,
    "hvp_linearized_apply": 4,
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


# Order-of-magnitude constants. step_s from design.md's measurements: on the H100 a
# gradient costs ~21 us per layer (2 steps); on the 2-core CPU ~0.15-0.2 us per layer.
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


# --- fitting -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SlopeFit:
    """A log-log slope with a bootstrap percentile CI; NaN where too few points."""

    slope: float
    lo: float
    hi: float
    intercept: float
    points: int


_NO_FIT = SlopeFit(math.nan, math.nan, math.nan, math.nan, 0)


def loglog_slope(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) of log y = intercept + slope log x by least squares. x, y: (k,)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(np.unique(x)) < 2:
        return math.nan, math.nan
    slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    return float(slope), float(intercept)


def bootstrap_slope(groups: Mapping[float, np.ndarray], stat: str = "median", n_boot: int = 2000,
                    ci: float = 0.95, seed: int = 0) -> SlopeFit:
    """Log-log slope of the per-x median (or mean) time, with a bootstrap CI.

    The timed runs at each x are resampled with replacement, the per-x statistic
    recomputed and the slope refitted, n_boot times; the CI is the percentile interval.
    It covers run-to-run noise only, not a wrong model (a curved log-log line).

    Args:
      groups: x (depth or width) -> (runs,) positive times.
      stat: "median" or "mean".
    """
    reduce = {"median": np.median, "mean": np.mean}[stat]
    xs = np.array(sorted(groups), float)
    samples = [np.asarray(groups[x], float) for x in sorted(groups)]
    if len(xs) < 2 or any(len(t) == 0 for t in samples):
        return _NO_FIT
    point = np.array([reduce(t) for t in samples])
    slope, intercept = loglog_slope(xs, point)
    rng = np.random.default_rng(seed)
    boot = np.empty((n_boot, len(xs)))
    for j, t in enumerate(samples):
        boot[:, j] = reduce(t[rng.integers(0, len(t), size=(n_boot, len(t)))], axis=1)
    # The least-squares slope of every resample at once: cov(log x, log y) / var(log x).
    lx = np.log(xs) - np.log(xs).mean()
    slopes = np.log(boot) @ lx / (lx @ lx)
    lo, hi = np.quantile(slopes, [(1 - ci) / 2, (1 + ci) / 2])
    return SlopeFit(slope, float(lo), float(hi), intercept, len(xs))


def fit_floor_power_law(x: np.ndarray, y: np.ndarray,
                        ks: np.ndarray = np.linspace(0.1, 5.0, 246)) -> dict[str, float]:
    """T(x) = a + c x^k, a, c >= 0: the exponent with a fixed floor `a` taken out.

    For each k on a grid, a and c are a linear least-squares fit of relative errors
    (each point weighted 1/y, so small and large times count alike); the best k wins.
    A floor (launch overhead, dispatch) bends the log-log line and hides the exponent.

    Returns {"a", "c", "k", "rel_rms"}; NaNs with fewer than 3 distinct x.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(np.unique(x)) < 3:
        return {"a": math.nan, "c": math.nan, "k": math.nan, "rel_rms": math.nan}
    best = None
    for k in ks:
        design = np.stack([np.ones_like(x), x**k], axis=1) / y[:, None]
        coef, *_ = np.linalg.lstsq(design, np.ones_like(y), rcond=None)
        if coef[0] < 0:  # no negative floors: refit through zero
            coef = np.array([0.0, np.linalg.lstsq(design[:, 1:], np.ones_like(y), rcond=None)[0][0]])
        if coef[1] <= 0:
            continue
        rms = float(np.sqrt(np.mean((design @ coef - 1) ** 2)))
        if best is None or rms < best["rel_rms"]:
            best = {"a": float(coef[0]), "c": float(coef[1]), "k": float(k), "rel_rms": rms}
    return best or {"a": math.nan, "c": math.nan, "k": math.nan, "rel_rms": math.nan}


def ok_times(runs: pd.DataFrame) -> pd.DataFrame:
    """The timed rows: status ok and a positive, finite time_s."""
    t = pd.to_numeric(runs["time_s"], errors="coerce")
    keep = (runs["status"] == "ok") & np.isfinite(t) & (t > 0)
    return runs.assign(time_s=t)[keep]


def _groups(rows: pd.DataFrame, x: str) -> dict[float, np.ndarray]:
    return {float(k): g["time_s"].to_numpy(float) for k, g in rows.groupby(x)}


def fit_time_slopes(runs: pd.DataFrame, x: str = "depth", n_boot: int = 2000, seed: int = 0,
                    methods: Sequence[str] | None = None) -> pd.DataFrame:
    """Per method: the log-log slope of time against `x`, with CIs, beside the prediction.

    Args:
      runs: runs.csv rows of one sweep (fixed width for x="depth", fixed depth for "width").
      x: "depth" or "width".
    Returns:
      One row per method: points; slope, lo, hi (all points); upper_* (the upper half of
      the x values: the floor matters less there); local_* (the three largest x);
      floor_k, floor_a_s (`fit_floor_power_law` on the medians); predicted exponents.
    """
    rows = ok_times(runs)
    predict = predicted_depth_exponent if x == "depth" else predicted_width_exponent
    out = []
    for method in methods or [m for m in METHOD_NAMES if m in set(rows["method"])]:
        groups = _groups(rows[rows["method"] == method], x)
        xs = sorted(groups)
        upper = {k: groups[k] for k in xs if k >= np.median(xs)} if len(xs) >= 4 else {}
        local = {k: groups[k] for k in xs[-3:]} if len(xs) >= 4 else {}
        full, up, loc = (bootstrap_slope(g, n_boot=n_boot, seed=seed) for g in (groups, upper, local))
        medians = np.array([np.median(groups[k]) for k in xs])
        floor = fit_floor_power_law(np.array(xs), medians)
        out.append({
            "method": method, "points": full.points,
            "slope": full.slope, "lo": full.lo, "hi": full.hi, "intercept": full.intercept,
            "upper_slope": up.slope, "upper_lo": up.lo, "upper_hi": up.hi,
            "local_slope": loc.slope, "local_lo": loc.lo, "local_hi": loc.hi,
            "floor_k": floor["k"], "floor_a_s": floor["a"],
            **{f"pred_{r}": predict(method, "time", r) for r in REGIMES},
        })
    return pd.DataFrame(out)


def fit_memory_slopes(summary: pd.DataFrame, x: str = "depth") -> pd.DataFrame:
    """Per method: log-log slopes of compiled_bytes and predicted_bytes against `x`.

    Any point with a compiled size counts, skipped ones included (a point skipped after
    compiling still measured its memory). Upper half as in `fit_time_slopes`.
    """
    predict = predicted_depth_exponent if x == "depth" else predicted_width_exponent
    out = []
    for method in [m for m in METHOD_NAMES if m in set(summary["method"])]:
        data = summary[summary["method"] == method]
        row = {"method": method, "predicted_exponent": predict(method, "memory")}
        for col in ("compiled_bytes", "predicted_bytes"):
            values = pd.to_numeric(data[col], errors="coerce")
            d = data.assign(v=values)[values > 0].sort_values(x)
            xs, ys = d[x].to_numpy(float), d["v"].to_numpy(float)
            row[f"{col}_points"] = len(xs)
            row[f"{col}_slope"] = loglog_slope(xs, ys)[0]
            top = xs >= np.median(xs) if len(xs) >= 4 else np.zeros(len(xs), bool)
            row[f"{col}_upper"] = loglog_slope(xs[top], ys[top])[0]
        out.append(row)
    return pd.DataFrame(out)


def gradient_ratios(runs: pd.DataFrame, x: str = "depth") -> pd.DataFrame:
    """Median time of every method / median time of the gradient, per `x` (index) and method.

    NaN where either is missing. Empty if the run has no gradient.
    """
    rows = ok_times(runs)
    medians = rows.pivot_table(index=x, columns="method", values="time_s", aggfunc="median")
    if "gradient" not in medians:
        return pd.DataFrame()
    ratios = medians.div(medians["gradient"], axis=0)
    return ratios[[m for m in METHOD_NAMES if m in ratios and m != "gradient"]]


def compare_runs(runs_a: pd.DataFrame, runs_b: pd.DataFrame) -> pd.DataFrame:
    """Median times of two runs at matched (depth, width, method), and their ratio.

    Returns columns depth, width, method, median_a_s, median_b_s, speedup = a / b
    (> 1: run b is faster).
    """
    keys = ["depth", "width", "method"]
    a = ok_times(runs_a).groupby(keys)["time_s"].median().rename("median_a_s")
    b = ok_times(runs_b).groupby(keys)["time_s"].median().rename("median_b_s")
    both = pd.concat([a, b], axis=1, join="inner").reset_index()
    return both.assign(speedup=both["median_a_s"] / both["median_b_s"])


def split_sweeps(runs: pd.DataFrame, meta: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(depth sweep rows at the config's width, width sweep rows at width_depth or empty)."""
    config = meta.get("config", {})
    width = config.get("width")
    if width is None or not (runs["width"] == width).any():
        width = runs["width"].mode().iloc[0]
    depth_rows = runs[runs["width"] == width]
    width_depth = config.get("width_depth")
    width_rows = runs[runs["depth"] == width_depth] if config.get("widths") else runs.iloc[:0]
    if width_rows["width"].nunique() < 2:
        width_rows = runs.iloc[:0]
    return depth_rows, width_rows


def verdict(fit_lo: float, fit_hi: float, overhead: float, asymptotic: float) -> str:
    """One phrase placing a CI against the overhead-bound and asymptotic exponents."""
    if not np.isfinite(fit_lo):
        return "too few points to fit"
    if overhead != asymptotic and fit_lo <= overhead <= fit_hi and fit_lo <= asymptotic <= fit_hi:
        return f"CI too wide to tell the overhead-bound {overhead:g} from the asymptotic {asymptotic:g}"
    if fit_hi - fit_lo > 0.5 and fit_lo <= asymptotic <= fit_hi:
        return f"consistent with {asymptotic:g}, but the CI is too wide to be evidence"
    if fit_lo <= asymptotic <= fit_hi:
        return f"consistent with the asymptotic exponent {asymptotic:g}"
    if fit_lo <= overhead <= fit_hi:
        return f"consistent with the overhead-bound exponent {overhead:g}"
    low, high = min(overhead, asymptotic), max(overhead, asymptotic)
    if fit_hi < low:
        return "shallower than predicted: a fixed floor (dispatch, launch) dominates the small sizes"
    if fit_lo > high:
        return "steeper than predicted: costs grow faster (cache misses, a falling-off memory hierarchy)"
    return f"between the overhead-bound {overhead:g} and the asymptotic {asymptotic:g}: a mixed regime"
