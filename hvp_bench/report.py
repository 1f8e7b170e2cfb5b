"""The scaling report of a run: report.md and its figures, from result files alone.

`write_report(run_dir, compare_dir)` reads runs.csv and meta.json, fits every method with
hvp_bench.analysis, and writes `<run_dir>/report.md` plus PNG figures (measured points,
fitted lines, theory lines; HVP/gradient ratios; memory; the width sweep; a comparison
with another run, e.g. CPU against GPU). A hand-written section between two markers is
kept when the report is regenerated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from hvp_bench.analysis import (  # noqa: E402
    FORMULAS,
    GRADIENT_MULTIPLE,
    MACHINES,
    REGIMES,
    compare_runs,
    fit_memory_slopes,
    fit_time_slopes,
    gradient_ratios,
    ok_times,
    predicted_depth_exponent,
    predicted_time,
    predicted_width_exponent,
    split_sweeps,
    verdict,
)
from hvp_bench.config import METHOD_NAMES  # noqa: E402
from hvp_bench.methods import TASK_METHODS  # noqa: E402
from hvp_bench.plots import COLORS, LABELS  # noqa: E402
from hvp_bench.sweep import load_run, summarize_runs  # noqa: E402


# --- loading ----------------------------------------------------------------------------


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


def _finish(ax, xlabel: str, ylabel: str, title: str, base: int = 10) -> None:
    ax.set_xscale("log", base=base)
    if base == 2:  # widths are powers of two: label them 4, 8, 16, not 2^2
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=110)  # constrained layout: one draw, no tight-bbox re-draw
    plt.close(fig)
    return path


def figure_time_fits(rows: pd.DataFrame, fits: pd.DataFrame, path: Path, title: str, x: str = "depth") -> Path:
    """Two log-log panels (the task's three timings; the HVPs and the gradient)."""
    rows = ok_times(rows)
    # Solid: least-squares fit over all points; dotted: the asymptotic (arithmetic- or
    # bandwidth-bound) prediction through the largest-x median, so a bend towards it shows.
    fig, axes = plt.subplots(1, 2, figsize=(14, 6), layout="constrained")
    groups = [TASK_METHODS, [m for m in METHOD_NAMES if m not in ("hessian_then_hvp", "naive_hvp")]]
    names = ["the task's three timings", "HVP compositions and the gradient"]
    xlabel = "Number of hidden layers n" if x == "depth" else "Hidden width w"
    for ax, methods, name in zip(axes, groups, names):
        _plot_fits(ax, rows, fits, methods, x)
        _finish(ax, xlabel, "Computation time (s), median and 25-75%", name, base=10 if x == "depth" else 2)
    fig.suptitle(f"{title}\nsolid: fitted power law; dotted: predicted exponent "
                 "(arithmetic/bandwidth-bound) through the largest point", fontsize=10)
    return _save(fig, path)


def figure_memory(summary: pd.DataFrame, path: Path, title: str) -> Path:
    """Compiled (solid) and predicted (dashed) bytes against depth, log-log."""
    fig, ax = plt.subplots(figsize=(8.5, 5.5), layout="constrained")
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
    fig, ax = plt.subplots(figsize=(8.5, 5.5), layout="constrained")
    for method in ratios:
        if method in ("hessian_then_hvp", "naive_hvp"):
            continue
        r = ratios[method].dropna()
        ax.plot(r.index, r.to_numpy(), "o-", color=COLORS.get(method), markersize=4, label=LABELS.get(method, method))
    ax.axhline(1, color="k", linewidth=0.8)
    ax.axhspan(2, 3, color="0.85", zorder=0, label="arithmetic-bound prediction: 2x (stored linearization) to 3x")
    ax.set_xlabel("Number of hidden layers n")
    ax.set_ylabel("Time / gradient time (median)")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(f"{title}\nHVP cost in gradients", fontsize=10)
    return _save(fig, path)


def figure_compare(cmp_depth: pd.DataFrame, cmp_width: pd.DataFrame, path: Path, name_a: str, name_b: str) -> Path:
    """Speedup of run b over run a (median a / median b) against depth, and against width."""
    panels = [(cmp_depth, "depth", "Number of hidden layers n")]
    if len(cmp_width):
        panels.append((cmp_width, "width", "Hidden width w"))
    fig, axes = plt.subplots(1, len(panels), figsize=(8.5 * len(panels), 5.5), layout="constrained", squeeze=False)
    for ax, (cmp, x, xlabel) in zip(axes[0], panels):
        for method in [m for m in METHOD_NAMES if m in set(cmp["method"])]:
            d = cmp[cmp["method"] == method].sort_values(x)
            ax.plot(d[x], d["speedup"], "o-", color=COLORS.get(method), markersize=4, label=LABELS.get(method, method))
        ax.axhline(1, color="k", linewidth=0.8)
        ax.set_yscale("log")
        if x == "width":
            ax.set_xscale("log", base=2)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"speedup = time({name_a}) / time({name_b})")
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
        ax.set_title(f"against {x}", fontsize=10)
    fig.suptitle(f"{name_b} vs {name_a} at matched depth and width; above 1: {name_b} faster", fontsize=10)
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


def _interpretation(fits: pd.DataFrame, ratios: pd.DataFrame, depth_rows: pd.DataFrame, meta: dict,
                    mem: pd.DataFrame) -> list[str]:
    lines = ["## Generated interpretation", ""]
    for _, f in fits.iterrows():
        if not np.isfinite(f["slope"]):
            continue
        m = f["method"]
        s = (f"- **{LABELS.get(m, m)}**: time ~ n^{f['slope']:.2f} (95% CI [{f['lo']:.2f}, {f['hi']:.2f}]), "
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
        backend = str(meta.get("environment", {}).get("backend", "cpu"))
        machine = MACHINES["cpu" if backend == "cpu" else "gpu"]
        if per_layer > 0:
            rate = flops / per_layer
            s = (f"- The gradient costs {per_layer * 1e6:.3g} µs per extra layer (linear fit of the "
                 f"medians) for {flops} flops of matmuls per layer: {rate / 1e9:.3g} GFLOP/s, "
                 f"{rate / machine.flops_per_s:.2%} of the ~{machine.flops_per_s / 1e9:.3g} GFLOP/s assumed for "
                 f"{machine.name}.")
            if rate < 0.1 * machine.flops_per_s:
                s += (" So the per-layer cost is fixed overhead, not arithmetic: the regime where "
                      "time ~ n and does not depend on w.")
            lines.append(s)
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
    mem = mem[np.isfinite(mem["compiled_bytes_slope"].astype(float))] if len(mem) else mem
    if len(mem):
        parts = ", ".join(f"{LABELS.get(r.method, r.method)} {r.compiled_bytes_slope:.2f} (predicted {r.predicted_exponent})"
                          for r in mem.itertuples())
        lines.append(f"- Compiled memory ~ n^k with k: {parts}.")
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

    mem = fit_memory_slopes(depth_summary)
    lines += ["## Memory against depth", ""]
    lines += _memory_section(mem)
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
        if name_b == name:  # the same config on the same device: tell them apart by directory
            name, name_b = f"{name} ({run_dir.name})", f"{name_b} ({Path(compare_dir).name})"
        cmp = compare_runs(runs, runs_b)
        backends = {m.get("environment", {}).get("backend") for m in (meta, meta_b)}
        cpu_vs_gpu = ("At small widths every per-layer method is launch-bound on a GPU (a fixed "
                      "~10 µs per sequential step), so the GPU loses to the CPU there; it wins where "
                      "one big kernel does the work (H@v, the vectorised dense Hessian) or once the "
                      "width makes each layer's arithmetic large.") if "cpu" in backends and len(backends) == 2 else ""
        lines += [f"## Comparison: {name_b} against {name}", "",
                  f"Speedup = median time here / median time in {compare_dir}, at matched depth, "
                  f"width and method: above 1 the other run is faster. {cpu_vs_gpu}".rstrip(), ""]
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
            depth_b, width_b = split_sweeps(runs_b, meta_b)
            path = figure_compare(compare_runs(depth_rows, depth_b), compare_runs(width_rows, width_b),
                                  run_dir / "report_compare.png", _device(meta), _device(meta_b))
            written.append(path)
            lines += [f"![comparison]({path.name})", ""]

    lines += _interpretation(fits, ratios, depth_rows, meta, mem)
    report = run_dir / "report.md"
    lines += ["## Analysis", "", HAND_START, _hand_written(report).rstrip("\n") + "\n", HAND_END, ""]
    report.write_text("\n".join(lines))
    return [report, *written]
