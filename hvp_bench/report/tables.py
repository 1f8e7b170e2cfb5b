"""The report's tables: markdown sections built from fits, ratios and run metadata.

Each `*_section` returns a list of markdown lines; `md_table` and the number formatters
are shared with the rest of the report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from hvp_bench.config import METHOD_NAMES

DENSE = ("hessian_then_hvp", "naive_hvp")
from hvp_bench.cost_model import (
    FORMULAS, GRADIENT_MULTIPLE, MACHINES, REGIMES, predicted_depth_exponent, predicted_time,
    predicted_width_exponent,
)
from hvp_bench.words import label, ms
from hvp_bench.scaling import verdict


def md_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def num(x: float, fmt: str = ".2f") -> str:
    return format(x, fmt) if x is not None and np.isfinite(x) else "—"


def ci(fit: Mapping, prefix: str = "") -> str:
    s, lo, hi = fit[f"{prefix}slope"], fit[f"{prefix}lo"], fit[f"{prefix}hi"]
    return f"{num(s)} [{num(lo)}, {num(hi)}]" if np.isfinite(s) else "—"


def us(t: float) -> str:
    return f"{t * 1e6:.3g}" if np.isfinite(t) else "—"


def precision_note(meta: dict) -> list[str]:
    """What "float32" meant in this run: true float32, or JAX's default (TF32 on recent GPUs)."""
    config, env = meta.get("config", {}), meta.get("environment", {})
    precision = config.get("matmul_precision")
    gpu = str(env.get("backend", "")).lower() in ("gpu", "cuda", "rocm")
    if precision == "highest":
        text = "**Precision:** matmuls in true float32 (`matmul_precision = \"highest\"`)."
    elif precision is None:
        text = ("**Precision:** this run predates the `matmul_precision` key and used JAX's default "
                "matmul precision" + (", which on this GPU lets float32 matmuls run in TF32 (reduced "
                                      "precision): its \"float32\" times are TF32 times." if gpu else
                                      " (full float32 on a CPU)."))
    else:
        text = (f"**Precision:** `matmul_precision = \"{precision}\"`" + (
            ": on this GPU float32 matmuls may run in TF32 (reduced precision)." if gpu else "."))
    return [text, ""]


def provenance_note(meta: dict) -> list[str]:
    """Which code produced the run, and whether it was a clean commit."""
    env = meta.get("environment", {})
    commit, dirty = env.get("git_commit", "unknown"), env.get("git_dirty")
    if commit == "unknown":
        return ["**Code:** commit unknown (the run's copy had no .git and no commit was passed in).", ""]
    if dirty is None and str(commit).endswith("-dirty"):
        dirty = True
    state = {False: "a clean commit", True: "a tree with uncommitted changes", None: "a copy of the tree "
             "(commit passed in; cleanliness unknown)"}[dirty]
    lines = [f"**Code:** `{str(commit).removesuffix('-dirty')}`, {state}."]
    sessions = [s for s in meta.get("sessions", []) if s.get("todo_points")]
    if len({(s.get("git_commit"), s.get("git_dirty")) for s in sessions}) > 1:
        lines[0] += " The run was resumed from different code: " + "; ".join(
            f"{s['todo_points']} points left at {s.get('git_commit')}" + (" (dirty)" if s.get("git_dirty") else "")
            for s in sessions) + "."
    return lines + [""]


def what_was_run(meta: dict, run_dir: Path, runs: pd.DataFrame) -> list[str]:
    config, env = meta.get("config", {}), meta.get("environment", {})
    lines = ["## What was run", ""]
    if not meta:
        lines += ["No meta.json: configuration and environment unknown.", ""]
    rows = [(k, f"`{v}`") for k, v in config.items()]
    rows += [(f"environment.{k}", f"`{v}`") for k, v in env.items()]
    rows += [(k, f"`{meta[k]}`") for k in ("started", "finished", "resumed") if k in meta]
    rows += [("rows in runs.csv", len(runs)), ("points", runs.groupby(["depth", "width", "method"]).ngroups)]
    lines += [md_table(["key", "value"], rows), ""]
    if meta and not meta.get("finished"):
        lines += ["**The run has not finished** (meta.json has no end time): this report covers "
                  "the points measured so far.", ""]
    return lines


def model_section(meta: dict, depth_rows: pd.DataFrame) -> list[str]:
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
        rows.append([label(m), FORMULAS[m][0], FORMULAS[m][1], " / ".join(map(str, t)),
                     predicted_depth_exponent(m, "memory"), predicted_width_exponent(m, "time"),
                     f"{mult['overhead']:g} / {mult['arithmetic']:g}" if mult else "—"])
    lines += [md_table(["method", "time", "memory", "time exp. in n (ovh / arith / bw)",
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
            cells.append(f"{p['regime']} ({ms(p['time_s'])} ms)")
        rows.append([label(m), *cells])
    lines += [md_table(["method", f"n={depths[0]}", f"n={depths[-1]}"], rows), ""]
    return lines


def slope_section(fits: pd.DataFrame, what: str) -> list[str]:
    """Exponents per method: least squares (several ranges), Theil-Sen with its flags, dead points."""
    rows = []
    for _, f in fits.iterrows():
        m = f["method"]
        status = f.get("robust_status", "ok")
        robust = ci(f, "robust_") if status == "ok" else f"({ci(f, 'robust_')}) ⚠ {status}"
        dead = f"† {int(f['dead_depths'])} (from {int(f['first_dead'])})" if f.get("dead_depths", 0) else "—"
        rows.append([label(m), f["points"], ci(f), ci(f, "upper_"), ci(f, "local_"), ci(f, "floor_"), robust, dead,
                     f"{f['pred_overhead']} / {f['pred_arithmetic']}",
                     verdict(f["lo"], f["hi"], f["pred_overhead"], f["pred_arithmetic"])])
    return [md_table(["method", "points", f"slope in {what} [95% CI]", "upper half", "3 largest",
                      "above the measured floor", "Theil-Sen [95% CI over repeats and runs]", "dead points",
                      "predicted (ovh / asym.)", "all points vs prediction"], rows), ""]


def memory_section(mem: pd.DataFrame) -> list[str]:
    rows = [[label(r["method"]), r["predicted_exponent"],
             f"{ci(r, 'compiled_bytes_')} (upper {num(r['compiled_bytes_upper'])}, {r['compiled_bytes_points']} pts)",
             f"{ci(r, 'predicted_bytes_')} (upper {num(r['predicted_bytes_upper'])})"]
            for _, r in mem.iterrows()]
    return [
        md_table(["method", "predicted exponent", "compiled_bytes slope [95% CI]", "predicted_bytes slope [95% CI]"],
                 rows), "",
        "Bytes have no run-to-run noise: the CI (Student t on the residuals) measures how far "
        "log bytes is from a straight line in log depth.", "",
        "compiled_bytes is XLA's static memory analysis of the compiled call (arguments + "
        "outputs + temporaries − aliased): it counts the activation tape the scan stacks, "
        "the Hessian passed to naive_hvp as an argument and the stored linearization passed "
        "to hvp_linearized_apply, but not allocator fragmentation or the runtime peak. "
        "The P-sized vectors (x, v, outputs) give the linear methods a term ∝ n too, so "
        "their slope is 1 whether or not the tape dominates.", "",
    ]


def ratio_section(ratios: pd.DataFrame, above_floor: pd.DataFrame, dead: pd.DataFrame | None = None) -> list[str]:
    """Per depth: each method's median over the gradient's, raw and with the floor subtracted.

    Args:
      dead: depth (index) by method, True where that result was dead (scaling.dead_points):
        those cells get a † (as does a depth where the gradient's was).
    """
    if ratios.empty:
        return ["The run has no gradient baseline: no ratios.", ""]
    cols = list(ratios.columns)
    dead = pd.DataFrame() if dead is None else dead

    def is_dead(d, c):
        return any(k in dead and d in dead.index and bool(dead.at[d, k]) for k in (c, "gradient"))

    def cell(d, c):
        raw = num(ratios.loc[d, c]) + (" †" if is_dead(d, c) else "")
        if above_floor.empty or c not in above_floor or d not in above_floor.index:
            return raw
        return f"{raw} ({num(above_floor.loc[d, c])})"

    rows = [[int(d), *[cell(d, c) for c in cols]] for d in ratios.index]
    medians = [f"**{num(ratios[c].median())}**" + (f" ({num(above_floor[c].median())})"
                                                   if not above_floor.empty and c in above_floor else "")
               for c in cols]
    rows.append(["**median**", *medians])
    note = ["†: the result there was all zero or non-finite (a dead network; its time is that of the "
            "same arithmetic).", ""] if any(is_dead(d, c) for d in ratios.index for c in cols) else []
    return [md_table(["depth", *[label(c) for c in cols]], rows), ""] + note


def problems_section(summary: pd.DataFrame) -> list[str]:
    lines = ["## Skipped, failed and unhealthy points", ""]
    bad = summary[summary["status"] != "ok"]
    if bad.empty:
        lines += ["None skipped or failed.", ""]
    else:
        rows = [[int(r.depth), int(r.width), label(r.method), r.status, r.note]
                for r in bad.itertuples()]
        lines += [md_table(["depth", "width", "method", "status", "why"], rows), ""]
    ok = summary[summary["status"] == "ok"]
    unhealthy = ok[(ok["finite"].astype(str) != "True") | (ok["nonzero"].astype(str) != "True")]
    if len(unhealthy):
        where = ", ".join(f"{label(m)} at n={','.join(str(int(d)) for d in g['depth'])}"
                          for m, g in unhealthy.groupby("method"))
        lines += [f"{len(unhealthy)} timed point(s) returned a non-finite or all-zero result "
                  f"(the task's N(0, 1) init underflows or overflows in deep models): {where}. "
                  "Their times are those of the real arithmetic, but their values are not checkable.", ""]
    return lines


def compare_section(cmp: pd.DataFrame, name_a: str, name_b: str, compare_dir, backends: set) -> list[str]:
    """Median-time speedups of run b over run a at matched points, as a table and one line per method."""
    cpu_vs_gpu = ("At small widths every per-layer method is launch-bound on a GPU (a fixed "
                  "cost per sequential step), so the GPU loses to the CPU there; it wins where "
                  "one big kernel does the work (H@v, the vectorised dense Hessian) or once the "
                  "width makes each layer's arithmetic large.") if "cpu" in backends and len(backends) == 2 else ""
    lines = [f"## Comparison: {name_b} against {name_a}", "",
             f"Speedup = median time here / median time in {compare_dir}, at matched depth, "
             f"width and method: above 1 the other run is faster. {cpu_vs_gpu}".rstrip(), ""]
    if cmp.empty:
        return lines + ["No matched points between the two runs.", ""]
    table = cmp.pivot_table(index=["width", "depth"], columns="method", values="speedup")
    dead = (cmp.pivot_table(index=["width", "depth"], columns="method", values="dead", aggfunc="any", fill_value=False)
            if "dead" in cmp else pd.DataFrame(False, index=table.index, columns=table.columns))
    cols = [m for m in METHOD_NAMES if m in table]
    rows = [[int(w), int(d), *[num(table.loc[(w, d), c]) + (" †" if dead.loc[(w, d), c] else "") for c in cols]]
            for w, d in table.index]
    lines += [md_table(["width", "depth", *[label(c) for c in cols]], rows), ""]
    if dead[cols].to_numpy().any():
        lines += ["†: the result there was all zero or non-finite in either run (a dead network).", ""]
    for m in cols:
        s = cmp[cmp["method"] == m]["speedup"]
        lines.append(f"- {label(m)}: {name_b} faster at {(s > 1).sum()} of {len(s)} "
                     f"matched points (speedup {s.min():.3g}-{s.max():.3g}x).")
    return lines + [""]
