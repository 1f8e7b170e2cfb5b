"""Scaling analysis of a run: the analytic cost model, power-law fits, and the report.

Everything here reads result files only (runs.csv, meta.json), so the analysis can be
redone or changed without re-running a sweep. Three parts:

- Model: per-layer matmul, byte and sequential-step counts of every method, derived in
  docs/analysis.md. They give the predicted exponent of time and memory in depth and in
  width, per regime (overhead-, arithmetic- or bandwidth-bound), and a roofline-style
  time `predicted_time(method, n, w, b, machine)` with machine constants as parameters.
- Fits: log-log slopes of time against depth (or width) with a bootstrap CI over the
  timed runs, `T = a + c n^k` with the fixed floor `a` taken out, memory slopes, and
  each HVP's time as a multiple of the gradient's.
- Report: `write_report(run_dir, compare_dir)` writes report.md and PNG figures.

Notation: n hidden layers of width w, batch b, P ~= n w^2 parameters, s bytes a number.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from hvp_bench.config import METHOD_NAMES, ConfigError  # noqa: E402
from hvp_bench.memory import predicted_bytes  # noqa: E402
from hvp_bench.plots import COLORS, LABELS, TASK_METHODS  # noqa: E402
from hvp_bench.sweep import COLUMNS, summarize_runs  # noqa: E402

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
    _check_method(method)
    if quantity == "memory":
        return _DEPTH_MEMORY[method]
    if quantity != "time":
        raise ValueError(f"quantity must be 'time' or 'memory', got {quantity!r}")
    if regime not in REGIMES:
        raise ValueError(f"regime must be one of {REGIMES}, got {regime!r}")
    return _DEPTH_TIME[method][regime]


def predicted_width_exponent(method: str, quantity: str = "time", regime: str = "arithmetic") -> int:
    """k in time or memory ~ w^k at fixed depth and batch (batch <= width)."""
    _check_method(method)
    if quantity == "memory":
        return _WIDTH_MEMORY[method]
    if quantity != "time":
        raise ValueError(f"quantity must be 'time' or 'memory', got {quantity!r}")
    if regime not in REGIMES:
        raise ValueError(f"regime must be one of {REGIMES}, got {regime!r}")
    return _WIDTH_TIME[method][regime]


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
                        ks: np.ndarray = np.linspace(0.2, 3.0, 141)) -> dict[str, float]:
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


# --- loading ----------------------------------------------------------------------------


def load_run(run_dir: str | Path) -> tuple[pd.DataFrame, dict]:
    """runs.csv and meta.json of a run directory; ConfigError (one line) if unusable."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError(f"run directory not found: {run_dir}")
    path = run_dir / "runs.csv"
    if not path.is_file():
        raise ConfigError(f"{run_dir} has no runs.csv (not a run directory)")
    try:
        runs = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise ConfigError(f"{path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path} is not a readable CSV: {str(e).splitlines()[0]}") from None
    missing = [c for c in ("depth", "width", "method", "status", "time_s") if c not in runs]
    if missing:
        raise ConfigError(f"{path} lacks column(s) {', '.join(missing)}; expected {','.join(COLUMNS)}")
    if runs.empty:
        raise ConfigError(f"{path} has no rows (no point measured yet)")
    meta_path = run_dir / "meta.json"
    meta = {}
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
        except ValueError:
            raise ConfigError(f"{meta_path} is not valid JSON") from None
    return runs, meta


# --- figures ----------------------------------------------------------------------------


def _device(meta: dict) -> str:
    env = meta.get("environment", {})
    return str(env.get("device") or env.get("backend") or "unknown device")


def _run_name(meta: dict, run_dir: Path) -> str:
    return f"{meta.get('config', {}).get('name', run_dir.name)} on {_device(meta)}"


def _theory_line(ax, xs: np.ndarray, anchor_x: float, anchor_y: float, k: float, color) -> None:
    """A dotted line of slope k through (anchor_x, anchor_y): the prediction's shape."""
    ax.plot(xs, anchor_y * (xs / anchor_x) ** k, ":", color=color, linewidth=1.5)


def _plot_fits(ax, rows: pd.DataFrame, fits: pd.DataFrame, methods, x: str) -> None:
    """Medians with 25-75% whiskers, the fitted power law (solid), the theory (dotted)."""
    for method in methods:
        data = rows[rows["method"] == method]
        if data.empty:
            continue
        q = data.groupby(x)["time_s"].quantile([0.25, 0.5, 0.75]).unstack()
        xs = q.index.to_numpy(float)
        color = COLORS.get(method)
        ax.errorbar(xs, q[0.5], yerr=[q[0.5] - q[0.25], q[0.75] - q[0.5]], fmt="o", markersize=4,
                    capsize=2, color=color)
        fit = fits[fits["method"] == method].iloc[0]
        label = LABELS.get(method, method)
        if np.isfinite(fit["slope"]):
            ax.plot(xs, np.exp(fit["intercept"]) * xs ** fit["slope"], "-", color=color,
                    label=f"{label}: fit k={fit['slope']:.2f}, theory {fit['pred_arithmetic']}")
            _theory_line(ax, xs, xs[-1], float(q[0.5].iloc[-1]), fit["pred_arithmetic"], color)
        else:
            ax.plot([], [], "o", color=color, label=f"{label} (too few points to fit)")


def _finish(ax, xlabel: str, ylabel: str, title: str) -> None:
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def figure_time_fits(rows: pd.DataFrame, fits: pd.DataFrame, path: Path, title: str, x: str = "depth") -> Path:
    """Two log-log panels (the task's three timings; the HVPs and the gradient)."""
    rows = ok_times(rows)
    # Solid: least-squares fit over all points; dotted: the asymptotic (arithmetic- or
    # bandwidth-bound) prediction through the largest-x median, so a bend towards it shows.
    fig, axes = plt.subplots(1, 2, figsize=(14, 5.5))
    groups = [TASK_METHODS, [m for m in METHOD_NAMES if m not in ("hessian_then_hvp", "naive_hvp")]]
    names = ["the task's three timings", "HVP compositions and the gradient"]
    xlabel = "Number of hidden layers n" if x == "depth" else "Hidden width w"
    for ax, methods, name in zip(axes, groups, names):
        _plot_fits(ax, rows, fits, methods, x)
        _finish(ax, xlabel, "Computation time (s), median and 25-75%", name)
    fig.suptitle(f"{title}\nsolid: fitted power law; dotted: predicted exponent "
                 "(arithmetic/bandwidth-bound) through the largest point", fontsize=10)
    return _save(fig, path)


def figure_memory(summary: pd.DataFrame, path: Path, title: str) -> Path:
    """Compiled (solid) and predicted (dashed) bytes against depth, log-log."""
    fig, ax = plt.subplots(figsize=(8.5, 5.5))
    for method in [m for m in METHOD_NAMES if m in set(summary["method"])]:
        data = summary[summary["method"] == method].sort_values("depth")
        for col, style, what in (("compiled_bytes", "o-", "compiled"), ("predicted_bytes", "x--", "predicted")):
            v = pd.to_numeric(data[col], errors="coerce")
            d = data[v > 0]
            if len(d):
                ax.plot(d["depth"], v[v > 0], style, color=COLORS.get(method), markersize=4,
                        label=f"{LABELS.get(method, method)} ({what})")
    _finish(ax, "Number of hidden layers n", "Bytes", f"{title}\nmemory: compiled (XLA memory analysis) vs predicted")
    return _save(fig, path)


def figure_ratios(ratios: pd.DataFrame, path: Path, title: str) -> Path:
    """Each method's median time over the gradient's, against depth."""
    fig, ax = plt.subplots(figsize=(8.5, 5.5))
    for method in ratios:
        if method in ("hessian_then_hvp", "naive_hvp"):
            continue
        r = ratios[method].dropna()
        ax.plot(r.index, r.to_numpy(), "o-", color=COLORS.get(method), markersize=4, label=LABELS.get(method, method))
    ax.axhline(1, color="k", linewidth=0.8)
    ax.axhspan(2, 3, color="0.85", zorder=0, label="arithmetic-bound prediction (2-3x)")
    ax.set_xlabel("Number of hidden layers n")
    ax.set_ylabel("Time / gradient time (median)")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(f"{title}\nHVP cost in gradients", fontsize=10)
    return _save(fig, path)


def figure_compare(cmp: pd.DataFrame, path: Path, name_a: str, name_b: str) -> Path:
    """Speedup of run b over run a (median a / median b) against depth, per method."""
    fig, ax = plt.subplots(figsize=(8.5, 5.5))
    for method in [m for m in METHOD_NAMES if m in set(cmp["method"])]:
        d = cmp[cmp["method"] == method].sort_values("depth")
        ax.plot(d["depth"], d["speedup"], "o-", color=COLORS.get(method), markersize=4, label=LABELS.get(method, method))
    ax.axhline(1, color="k", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("Number of hidden layers n")
    ax.set_ylabel(f"speedup = time({name_a}) / time({name_b})")
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    ax.set_title(f"{name_b} vs {name_a} at matched depth and width\nabove 1: {name_b} faster", fontsize=10)
    return _save(fig, path)


# --- the report -------------------------------------------------------------------------

HAND_START = "<!-- hand-written analysis: start (kept when the report is regenerated) -->"
HAND_END = "<!-- hand-written analysis: end -->"


def _md_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _num(x: float, fmt: str = ".2f") -> str:
    return format(x, fmt) if x is not None and np.isfinite(x) else "—"


def _ci(fit: Mapping, prefix: str = "") -> str:
    s, lo, hi = fit[f"{prefix}slope"], fit[f"{prefix}lo"], fit[f"{prefix}hi"]
    return f"{_num(s)} [{_num(lo)}, {_num(hi)}]" if np.isfinite(s) else "—"


def _ms(t: float) -> str:
    return f"{t * 1e3:.3g} ms" if np.isfinite(t) else "—"


def _what_was_run(meta: dict, run_dir: Path, runs: pd.DataFrame) -> list[str]:
    config, env = meta.get("config", {}), meta.get("environment", {})
    lines = ["## What was run", ""]
    if not meta:
        lines += ["No meta.json: configuration and environment unknown.", ""]
    rows = [(k, f"`{v}`") for k, v in config.items()]
    rows += [(f"environment.{k}", f"`{v}`") for k, v in env.items()]
    rows += [(k, f"`{meta[k]}`") for k in ("started", "finished", "resumed") if k in meta]
    rows += [("rows in runs.csv", len(runs)), ("points", runs.groupby(["depth", "width", "method"]).ngroups)]
    lines += [_md_table(["key", "value"], rows), ""]
    if meta and not meta.get("finished"):
        lines += ["**The run has not finished** (meta.json has no end time): this report covers "
                  "the points measured so far.", ""]
    return lines


def _model_section(meta: dict, depth_rows: pd.DataFrame) -> list[str]:
    config = meta.get("config", {})
    w = config.get("width", int(depth_rows["width"].mode().iloc[0]) if len(depth_rows) else 4)
    b = config.get("batch", 1)
    depths = sorted(depth_rows["depth"].unique()) if len(depth_rows) else [100]
    backend = str(meta.get("environment", {}).get("backend", "cpu"))
    machine = MACHINES["cpu" if backend == "cpu" else "gpu"]
    lines = [
        "## Analytic model", "",
        "n hidden layers of width w, batch b, P ≈ n·w² parameters, s = bytes per number. "
        "Every per-layer method runs sequential scan steps (each a fixed cost: a kernel "
        "launch on a GPU, per-op dispatch on a CPU), matmuls and memory traffic; time is "
        "roughly steps·t_step + max(flops / flop rate, bytes / bandwidth). The derivation "
        "is in docs/analysis.md. Exponents: time ~ n^k at fixed w, b (overhead-bound / "
        "arithmetic-bound / bandwidth-bound), memory ~ n^k, and time ~ w^k once not "
        "overhead-bound (flat when overhead-bound).", "",
    ]
    rows = []
    for m in METHOD_NAMES:
        t = [predicted_depth_exponent(m, "time", r) for r in REGIMES]
        mult = GRADIENT_MULTIPLE.get(m)
        rows.append([LABELS[m], FORMULAS[m][0], FORMULAS[m][1], " / ".join(map(str, t)),
                     predicted_depth_exponent(m, "memory"), predicted_width_exponent(m, "time"),
                     f"{mult['overhead']:g} / {mult['arithmetic']:g}" if mult else "—"])
    lines += [_md_table(["method", "time", "memory", "time exp. in n (ovh / arith / bw)",
                         "memory exp. in n", "time exp. in w", "x gradient (ovh / arith)"], rows), ""]
    lines += [
        f"Predicted regime at this run's sizes (w={w}, b={b}), with the rough constants of "
        f"{machine.name}: t_step={machine.step_s:g} s, {machine.flops_per_s:.3g} flop/s, "
        f"{machine.bytes_per_s:.3g} B/s (order of magnitude only):", "",
    ]
    rows = []
    for m in [m for m in METHOD_NAMES if m in set(depth_rows["method"])]:
        cells = []
        for n in (depths[0], depths[-1]):
            p = predicted_time(m, n, w, b, machine)
            cells.append(f"{p['regime']} ({_ms(p['time_s'])})")
        rows.append([LABELS[m], *cells])
    lines += [_md_table(["method", f"n={depths[0]}", f"n={depths[-1]}"], rows), ""]
    return lines


def _slope_section(fits: pd.DataFrame, what: str) -> list[str]:
    rows = []
    for _, f in fits.iterrows():
        m = f["method"]
        rows.append([LABELS.get(m, m), f["points"], _ci(f), _ci(f, "upper_"), _ci(f, "local_"),
                     _num(f["floor_k"]), _ms(f["floor_a_s"]),
                     f"{f['pred_overhead']} / {f['pred_arithmetic']}",
                     verdict(f["lo"], f["hi"], f["pred_overhead"], f["pred_arithmetic"])])
    return [_md_table(["method", "points", f"slope in {what} [95% CI]", "upper half", "3 largest",
                       "k of a + c·x^k", "floor a", "predicted (ovh / asym.)", "all points vs prediction"],
                      rows), ""]


def _memory_section(mem: pd.DataFrame) -> list[str]:
    rows = [[LABELS.get(r["method"], r["method"]), r["predicted_exponent"],
             f"{_num(r['compiled_bytes_slope'])} (upper {_num(r['compiled_bytes_upper'])}, {r['compiled_bytes_points']} pts)",
             f"{_num(r['predicted_bytes_slope'])} (upper {_num(r['predicted_bytes_upper'])})"]
            for _, r in mem.iterrows()]
    return [
        _md_table(["method", "predicted exponent", "compiled_bytes slope", "predicted_bytes slope"], rows), "",
        "compiled_bytes is XLA's static memory analysis of the compiled call (arguments + "
        "outputs + temporaries − aliased): it counts the activation tape the scan stacks, "
        "the Hessian passed to naive_hvp as an argument and the stored linearization passed "
        "to hvp_linearized_apply, but not allocator fragmentation or the runtime peak. "
        "The P-sized vectors (x, v, outputs) give the linear methods a term ∝ n too, so "
        "their slope is 1 whether or not the tape dominates.", "",
    ]


def _ratio_section(ratios: pd.DataFrame) -> list[str]:
    if ratios.empty:
        return ["The run has no gradient baseline: no ratios.", ""]
    cols = list(ratios.columns)
    rows = [[int(d), *[_num(ratios.loc[d, c]) for c in cols]] for d in ratios.index]
    rows.append(["**median**", *[f"**{_num(ratios[c].median())}**" for c in cols]])
    return [_md_table(["depth", *[LABELS.get(c, c) for c in cols]], rows), ""]


def _problems_section(summary: pd.DataFrame) -> list[str]:
    lines = ["## Skipped, failed and unhealthy points", ""]
    bad = summary[summary["status"] != "ok"]
    if bad.empty:
        lines += ["None skipped or failed.", ""]
    else:
        rows = [[int(r.depth), int(r.width), LABELS.get(r.method, r.method), r.status, r.note]
                for r in bad.itertuples()]
        lines += [_md_table(["depth", "width", "method", "status", "why"], rows), ""]
    ok = summary[summary["status"] == "ok"]
    unhealthy = ok[(ok["finite"].astype(str) != "True") | (ok["nonzero"].astype(str) != "True")]
    if len(unhealthy):
        where = ", ".join(f"{LABELS.get(m, m)} at n={','.join(str(int(d)) for d in g['depth'])}"
                          for m, g in unhealthy.groupby("method"))
        lines += [f"{len(unhealthy)} timed point(s) returned a non-finite or all-zero result "
                  f"(the task's N(0, 1) init underflows or overflows in deep models): {where}. "
                  "Their times are those of the real arithmetic, but their values are not checkable.", ""]
    return lines


def _interpretation(fits: pd.DataFrame, ratios: pd.DataFrame, depth_rows: pd.DataFrame, meta: dict) -> list[str]:
    lines = ["## Generated interpretation", ""]
    for _, f in fits.iterrows():
        if not np.isfinite(f["slope"]):
            continue
        m = f["method"]
        s = (f"- **{LABELS.get(m, m)}**: time ~ n^{f['slope']:.2f} (95% CI {f['lo']:.2f}-{f['hi']:.2f}), "
             f"{verdict(f['lo'], f['hi'], f['pred_overhead'], f['pred_arithmetic'])}")
        if np.isfinite(f["upper_slope"]) and abs(f["upper_slope"] - f["pred_arithmetic"]) < abs(f["slope"] - f["pred_arithmetic"]) - 0.05:
            s += f"; over the upper half of depths the slope is {f['upper_slope']:.2f}, closer to the asymptotic {f['pred_arithmetic']}"
        if np.isfinite(f["floor_k"]) and f["floor_a_s"] > 0:
            s += f"; with a floor of {_ms(f['floor_a_s'])} taken out, k = {f['floor_k']:.2f}"
        lines.append(s + ".")
    config = meta.get("config", {})
    w, b = config.get("width"), config.get("batch", 1)
    grad = ok_times(depth_rows)
    grad = grad[grad["method"] == "gradient"]
    if len(grad) and w and grad["depth"].nunique() >= 2:
        med = grad.groupby("depth")["time_s"].median()
        per_layer = np.polyfit(med.index.to_numpy(float), med.to_numpy(), 1)[0]
        flops = 3 * 2 * b * w * w
        if per_layer > 0:
            lines.append(
                f"- The gradient costs {per_layer * 1e6:.3g} µs per extra layer (linear fit of the "
                f"medians) for {flops} flops of matmuls per layer: {flops / per_layer / 1e9:.3g} GFLOP/s. "
                "A rate that far below the machine's peak means the per-layer cost is fixed "
                "overhead, not arithmetic: the regime where time ~ n and does not depend on w.")
    if not ratios.empty:
        hvps = [c for c in ratios if c not in ("hessian_then_hvp", "naive_hvp")]
        if hvps:
            med = ratios[hvps].median()
            parts = ", ".join(f"{LABELS.get(m, m)} {med[m]:.2f}x" for m in hvps)
            lines.append(f"- HVP cost in gradients (median over depths): {parts}. Arithmetic-bound "
                         "theory says about 3x for any HVP (9 matmuls against 3) and 2x to apply a "
                         "stored linearization; step-count theory (launch-bound GPU) says 1x, and 2x "
                         "for rev-over-rev and linearize, which run twice as many sequential loops. "
                         "Published jitted JAX: 2.1-2.5x (fwd-over-rev), up to 8.4x (rev-over-rev).")
    rows = ok_times(depth_rows)
    med = rows.groupby(["method", "depth"])["time_s"].median()
    if {"hessian_then_hvp", "naive_hvp", "hvp_rev_rev"} <= set(rows["method"]):
        common = sorted(set(med["hessian_then_hvp"].index) & set(med["naive_hvp"].index) & set(med["hvp_rev_rev"].index))
        if common:
            n = common[-1]
            th, tn, tv = med["hessian_then_hvp"][n], med["naive_hvp"][n], med["hvp_rev_rev"][n]
            s = (f"- At n={n}: full Hessian + H@v {_ms(th)}, H@v alone {_ms(tn)}, autograd HVP {_ms(tv)}: "
                 f"the dense route costs {th / tv:.3g} autograd HVPs.")
            if tn < tv:
                s += (f" Once H is built, each further product is cheaper, so the dense route pays off "
                      f"after about {th / (tv - tn):.3g} vectors at one point — if 4P² bytes fit.")
            else:
                s += " H@v alone is no faster than the autograd HVP here, so building H never pays off."
            lines.append(s)
    return lines + [""]


def _hand_written(report: Path) -> str:
    """The hand-written section of an existing report, or a placeholder."""
    if report.is_file():
        text = report.read_text()
        match = re.search(re.escape(HAND_START) + r"\n(.*?)" + re.escape(HAND_END), text, re.S)
        if match:
            return match.group(1)
    return "_(Write the analysis here: it is kept when the report is regenerated.)_\n\n"


def write_report(run_dir: str | Path, compare_dir: str | Path | None = None, n_boot: int = 2000,
                 seed: int = 0) -> list[Path]:
    """Writes `<run_dir>/report.md` and its figures; returns the paths written.

    Args:
      run_dir: a directory written by scripts/run_hvp.py (runs.csv, meta.json).
      compare_dir: another run (e.g. the same config on a GPU) to compare with.
      n_boot, seed: the bootstrap of the slope CIs.
    Raises:
      ConfigError: a missing or empty run directory (either one).
    """
    run_dir = Path(run_dir)
    runs, meta = load_run(run_dir)
    other = load_run(compare_dir) if compare_dir is not None else None
    name = _run_name(meta, run_dir)
    depth_rows, width_rows = split_sweeps(runs, meta)
    summary = summarize_runs(runs)
    depth_summary = summarize_runs(depth_rows)
    fits = fit_time_slopes(depth_rows, "depth", n_boot, seed)
    ratios = gradient_ratios(depth_rows)
    written = []

    lines = [f"# Scaling report: {name}", "",
             f"Generated by `python scripts/report_hvp.py {run_dir}"
             + (f" --compare {compare_dir}`" if compare_dir else "`")
             + " from runs.csv and meta.json alone. Times are per call (compile excluded), "
             "medians over the timed runs.", ""]
    lines += _what_was_run(meta, run_dir, runs)
    lines += _model_section(meta, depth_rows)

    lines += ["## Time against depth: fitted exponents", "",
              "Least-squares slope of log(median time) on log(depth); 95% CI from "
              f"{n_boot} bootstrap resamples of the timed runs within each depth (seed {seed}). "
              "'upper half': depths at or above the median depth; '3 largest': the local slope "
              "at the deepest models; 'k of a + c·x^k': the exponent once a constant floor a is "
              "fitted out. The CI covers run-to-run noise, not the curvature a floor causes.", ""]
    if fits.empty:
        lines += ["No timed points: nothing to fit.", ""]
    else:
        lines += _slope_section(fits, "n")
        path = figure_time_fits(depth_rows, fits, run_dir / "report_time_vs_depth.png", name)
        written.append(path)
        lines += [f"![time vs depth]({path.name})", ""]

    lines += ["## HVP time in gradients", "",
              "Median time of each method / median time of the gradient, per depth (a key figure: "
              "what an HVP costs relative to the gradient it differentiates).", ""]
    lines += _ratio_section(ratios)
    if not ratios.empty:
        path = figure_ratios(ratios, run_dir / "report_hvp_over_gradient.png", name)
        written.append(path)
        lines += [f"![HVP over gradient]({path.name})", ""]

    lines += ["## Memory against depth", ""]
    lines += _memory_section(fit_memory_slopes(depth_summary))
    path = figure_memory(depth_summary, run_dir / "report_memory_vs_depth.png", name)
    written.append(path)
    lines += [f"![memory vs depth]({path.name})", ""]

    if len(width_rows):
        wd = meta.get("config", {}).get("width_depth")
        wfits = fit_time_slopes(width_rows, "width", n_boot, seed)
        lines += [f"## Time against width (at n={wd})", "",
                  "Predicted: the gradient and HVPs ~ w² once arithmetic- or bandwidth-bound and "
                  "flat while overhead-bound; the dense Hessian ~ w⁴ (and n²).", ""]
        lines += _slope_section(wfits, "w")
        path = figure_time_fits(width_rows, wfits, run_dir / "report_time_vs_width.png",
                                f"{name}, width sweep at n={wd}", x="width")
        written.append(path)
        lines += [f"![time vs width]({path.name})", ""]

    lines += _problems_section(summary)

    if other is not None:
        runs_b, meta_b = other
        name_b = _run_name(meta_b, Path(compare_dir))
        cmp = compare_runs(runs, runs_b)
        lines += [f"## Comparison: {name_b} against {name}", "",
                  f"Speedup = median time here / median time in {compare_dir}, at matched depth, "
                  "width and method: above 1 the other run is faster. At small widths every "
                  "per-layer method is launch-bound on a GPU (a fixed ~10 µs per sequential step), "
                  "so the GPU loses to the CPU there; it wins where one big kernel does the work "
                  "(H@v, the vectorised dense Hessian) or once the width makes each layer's "
                  "arithmetic large.", ""]
        if cmp.empty:
            lines += ["No matched points between the two runs.", ""]
        else:
            table = cmp.pivot_table(index=["width", "depth"], columns="method", values="speedup")
            cols = [m for m in METHOD_NAMES if m in table]
            rows = [[int(w), int(d), *[_num(table.loc[(w, d), c]) for c in cols]] for w, d in table.index]
            lines += [_md_table(["width", "depth", *[LABELS.get(c, c) for c in cols]], rows), ""]
            for m in cols:
                s = cmp[cmp["method"] == m]["speedup"]
                lines.append(f"- {LABELS.get(m, m)}: {name_b} faster at {(s > 1).sum()} of {len(s)} "
                             f"matched points (speedup {s.min():.3g}-{s.max():.3g}x).")
            lines.append("")
            path = figure_compare(cmp, run_dir / "report_compare.png", _device(meta), _device(meta_b))
            written.append(path)
            lines += [f"![comparison]({path.name})", ""]

    lines += _interpretation(fits, ratios, depth_rows, meta)
    report = run_dir / "report.md"
    lines += ["## Analysis", "", HAND_START, _hand_written(report).rstrip("\n") + "\n", HAND_END, ""]
    report.write_text("\n".join(lines))
    return [report, *written]
