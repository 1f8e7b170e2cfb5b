"""Tables of what a method costs per layer, for the pages: from the compiled programs, and over each
formulation's own gradient. Rendered through hvp_bench.headlines (`headlines:hvp_bench.program_lines`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from hvp_bench.words import label, significant

PER_LAYER_METHODS = ("hvp_fwd_rev", "hvp_rev_rev", "hvp_rev_fwd", "hvp_linearized_apply", "hvp_by_hand", "gradient")
"""The rows of the per-layer tables, in order; each named by hvp_bench.words.label."""


def method_rows() -> list[tuple[str, str]]:
    return [(method, label(method)) for method in PER_LAYER_METHODS]


def variant_row(costs: pd.DataFrame, variant: str, method: str):
    """The variants.csv row of (variant, method), or None."""
    rows = costs[(costs["variant"] == variant) & (costs["method"] == method)]
    return rows.iloc[0] if len(rows) else None


def program_lines(run_dir: str | Path) -> list[str]:
    """The noise-free cost of README's per-layer table (hvp_bench.programs' per_layer.csv): kernels per loop
    step, flops and bytes per layer, each with its ratio to the same formulation's gradient."""
    run_dir = Path(run_dir)
    table = pd.read_csv(run_dir / "per_layer.csv")
    meta = json.loads((run_dir / "meta.json").read_text())
    config, env = meta["config"], meta["environment"]
    variants = list(dict.fromkeys(table["variant"]))

    def cell(row) -> str:
        return " · ".join(f"{row[c]:.0f} ({row[c + '_over_gradient']:.2f}×)"
                          for c in ("kernels_per_step", "flops_per_layer", "bytes_per_layer"))

    lines = [f"Per layer, from the compiled programs (`{run_dir.as_posix()}`: jax {env.get('jax')}, width "
             f"{config['width']}, {config['dtype']}, compiled at {config['depths'][0]} and {config['depths'][1]} "
             f"layers; commit {env.get('git_commit', '')[:7]}). Each cell: kernels per loop step · flops per layer · "
             "bytes accessed per layer, each (in brackets) over the same formulation's gradient:", "",
             "| method | " + " | ".join(f"`{v}`" for v in variants) + " |", "|---|" + "---|" * len(variants)]
    for method, name in method_rows():
        rows = [table[(table["variant"] == v) & (table["method"] == method)] for v in variants]
        if all(len(r) for r in rows):
            lines.append(f"| {name} | " + " | ".join(cell(r.iloc[0]) for r in rows) + " |")
    return lines


def own_gradient_lines(run_dir: str | Path) -> list[str]:
    """Each formulation's HVPs per layer over its own gradient (variants.csv): the like-for-like ratio,
    with bounds from the two slopes' own 95% CIs (the bootstrap replicates are not kept, so no joint CI)."""
    run_dir = Path(run_dir)
    costs = pd.read_csv(run_dir / "variants.csv")
    env = json.loads((run_dir / "meta.json").read_text())["environment"]
    methods = [m for m in ("hvp_fwd_rev", "hvp_rev_rev") if m in set(costs["method"])]
    lines = [f"Per extra layer over the same formulation's gradient (`{run_dir.as_posix()}`, {env.get('device')}; "
             "in brackets: bounds from the two slopes' own 95% CIs, lowest over highest and back):", "",
             "| formulation | " + " | ".join(label(m) for m in methods) + " |", "|---|" + "---|" * len(methods)]
    for variant in dict.fromkeys(costs["variant"]):
        gradient = variant_row(costs, variant, "gradient")
        rows = [variant_row(costs, variant, m) for m in methods]
        if gradient is None or any(r is None for r in rows):
            continue
        cells = [f"{significant(r.per_layer_s / gradient.per_layer_s, 2)}× [{significant(r.lo / gradient.hi, 2)}, "
                 f"{significant(r.hi / gradient.lo, 2)}]" for r in rows]
        lines.append(f"| `{variant}` | " + " | ".join(cells) + " |")
    return lines


LEVER_METHODS = ("gradient", "hvp_by_hand", "hvp_fwd_rev", "hvp_rev_rev", "hvp_rev_fwd", "hvp_linearize",
                 "hvp_linearized_apply", "dispatch_floor")


def lever_lines(run_dir: str | Path, task: str = "scan", tuned: str = "scan-fused-jvp-remat") -> list[str]:
    """docs/speed.md's lever table (variants.csv): nanoseconds per extra layer of every formulation and
    method, [its 95% CI]; the tuned formulation's row in bold (no entry is: most intervals overlap)."""
    costs = pd.read_csv(Path(run_dir) / "variants.csv")
    variants = json.loads((Path(run_dir) / "meta.json").read_text())["config"]["variants"]
    methods = [m for m in LEVER_METHODS if m in set(costs["method"])]
    lines = ["| variant | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for variant in variants:
        rows = [variant_row(costs, variant, m) for m in methods]
        if any(r is None for r in rows):
            continue
        cells = [f"{r.per_layer_s * 1e9:.0f} [{r.lo * 1e9:.0f}, {r.hi * 1e9:.0f}]" for r in rows]
        name = {task: f"`{task}` (the homework's)", tuned: f"**`{tuned}`**"}.get(variant, f"`{variant}`")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


BLOCK_METHODS = {"hvp_fwd_rev": "fwd-over-rev", "hvp_rev_rev": "rev-over-rev", "hvp_rev_fwd": "rev-over-fwd",
                 "hvp_linearized_apply": "linearization applied", "hvp_by_hand": "by hand"}


def block_lines(run_dir: str | Path, base: str = "scan-fused-jvp-remat") -> list[str]:
    """docs/speed.md's table of blocks (variants.csv): each HVP's nanoseconds per extra layer and per
    vector of `base` applied to blocks of k vectors (variants `base` and `base-k<k>`), by k."""
    costs = pd.read_csv(Path(run_dir) / "variants.csv")
    blocks = costs[(costs["variant"] == base) | costs["variant"].str.fullmatch(rf"{base}-k\d+")]
    lines = ["| k | " + " | ".join(BLOCK_METHODS.values()) + " |", "|---|" + "---|" * len(BLOCK_METHODS)]
    for k, rows in sorted(blocks.groupby("vectors")):
        per_vector = rows.set_index("method")["per_vector_s"]
        if all(m in per_vector for m in BLOCK_METHODS):
            lines.append(f"| {k} | " + " | ".join(f"{per_vector[m] * 1e9:.0f}" for m in BLOCK_METHODS) + " |")
    return lines


WIDTH_METHODS = {"gradient": "gradient", "hvp_fwd_rev": "forward-over-reverse", "hvp_rev_rev": "reverse-over-reverse",
                 "hvp_by_hand": "R-operator (`-fused` vs matmul)"}


def width_lines(run_dir: str | Path, task: str = "scan", tuned: str = "scan-fused-jvp-remat") -> list[str]:
    """docs/speed.md's width table (summary.csv): the tuned formulation's median time over the homework's,
    per method and width, at the run's one depth."""
    summary = pd.read_csv(Path(run_dir) / "summary.csv").set_index(["variant", "method", "width"])["median_s"]
    widths = sorted({w for v, m, w in summary.index if v == tuned})
    lines = ["| width | " + " | ".join(map(str, widths)) + " |", "|---|" + "---|" * len(widths)]
    for method, name in WIDTH_METHODS.items():
        lines.append(f"| {name} | " + " | ".join(f"{summary[(tuned, method, w)] / summary[(task, method, w)]:.2f}"
                                                 for w in widths) + " |")
    return lines


FRAMEWORKS = {"scan": "JAX `scan`", "scan-fused-jvp-remat": "JAX tuned", "torch": "torch eager",
              "torch-func": "`torch.func`", "torch-compile": "`torch.compile`"}


def framework_lines(run_dir: str | Path) -> list[str]:
    """docs/speed.md's JAX-beside-PyTorch table: µs per extra layer of each framework's gradient and HVPs
    (variants.csv); where a method has no fit, why (summary.csv: it crashed, or was skipped past its budget)."""
    costs = pd.read_csv(Path(run_dir) / "variants.csv")
    summary = pd.read_csv(Path(run_dir) / "summary.csv")

    def cell(variant: str, method: str) -> str:
        if (row := variant_row(costs, variant, method)) is not None:
            return f"{significant(row.per_layer_s * 1e6, 3)} µs"
        statuses = set(summary[(summary["variant"] == variant) & (summary["method"] == method)]["status"])
        return "(crashed)" if "failed" in statuses else "(budget)" if "skipped" in statuses else "(not run)"

    lines = ["| method | " + " | ".join(FRAMEWORKS.values()) + " |", "|---|" + "---|" * len(FRAMEWORKS)]
    for method, name in {"gradient": "gradient", "hvp_fwd_rev": "forward-over-reverse",
                         "hvp_rev_rev": "reverse-over-reverse", "hvp_rev_fwd": "reverse-over-forward"}.items():
        lines.append(f"| {name} | " + " | ".join(cell(v, method) for v in FRAMEWORKS) + " |")
    return lines


def blocks16_lines(run_dir: str | Path, tuned: str = "scan-fused-jvp-remat", task: str = "scan") -> list[str]:
    """docs/speed.md's table of a block of 16 with right values (variants.csv): per extra layer, ns [95% CI],
    one HVP in the tuned formulation (tanh and logistic GELU) and the homework's, against a block of 16 in
    the logistic form; ratios to two significant digits."""
    run_dir = Path(run_dir)
    costs = pd.read_csv(run_dir / "variants.csv")
    config = json.loads((run_dir / "meta.json").read_text())["config"]
    init = "task's init" if (config["init"], config["init_scale"]) == ("normal", 1.0) else \
        f"fan-in × {config['init_scale']:g}"
    one, one_logistic, block = tuned, f"{tuned}-logistic", f"{tuned}-logistic-k16"
    task_block = f"{task}-logistic-k16"
    lines = [f"| width {config['width']} ({init}) | one, tuned tanh | one, tuned logistic | block of 16, tuned logistic | "
             f"block / one logistic | block / one tanh | one, `{task}` | block, `{task}-logistic` | block / one |",
             "|---|" + "---|" * 8]
    for method, name in BLOCK_METHODS.items():
        if method == "hvp_rev_fwd":
            continue
        rows = {v: variant_row(costs, v, method) for v in (one, one_logistic, block, task, task_block)}
        if any(r is None for r in rows.values()):
            continue
        ns = {v: f"{r.per_layer_s * 1e9:.0f} [{r.lo * 1e9:.0f}, {r.hi * 1e9:.0f}]" for v, r in rows.items()}
        ratio = lambda a, b: f"{significant(rows[a].per_layer_s / rows[b].per_layer_s, 2)}×"  # noqa: E731
        lines.append(f"| {name} | {ns[one]} | {ns[one_logistic]} | {ns[block]} | {ratio(block, one_logistic)} | "
                     f"{ratio(block, one)} | {ns[task]} | {ns[task_block]} | {ratio(task_block, task)} |")
    return lines


def gpu_lever_lines(run_dir: str | Path, task: str = "scan", tuned: str = "scan-fused-jvp-remat") -> list[str]:
    """docs/speed.md's GPU lever table (variants.csv): µs per extra layer of the gradient and three HVPs per
    formulation, slowest gradient first; each column's fastest in bold with its 95% CI; the range of the
    HVPs' compile times."""
    costs = pd.read_csv(Path(run_dir) / "variants.csv")
    variants = json.loads((Path(run_dir) / "meta.json").read_text())["config"]["variants"]
    methods = ["gradient", "hvp_fwd_rev", "hvp_rev_rev", "hvp_by_hand"]
    fastest = {m: costs[costs["method"] == m]["per_layer_s"].min() for m in methods}
    lines = ["| variant | gradient | fwd-over-rev | rev-over-rev | by hand | compile (HVP, 1000 layers) |",
             "|---|---|---|---|---|---|"]
    names = {task: f"`{task}` (the homework's formulation)", tuned: f"`{tuned}` (CPU-tuned)"}
    for variant in sorted(variants, key=lambda v: -variant_row(costs, v, "gradient").per_layer_s):
        rows = {m: variant_row(costs, variant, m) for m in methods}
        cells = [f"**{significant(r.per_layer_s * 1e6, 3)} µs [{significant(r.lo * 1e6, 3)}, "
                 f"{significant(r.hi * 1e6, 3)}]**" if r.per_layer_s == fastest[m]
                 else f"{significant(r.per_layer_s * 1e6, 3)} µs" for m, r in rows.items()]
        compile_s = [rows[m].compile_s for m in methods[1:]]
        lines.append(f"| {names.get(variant, f'`{variant}`')} | " + " | ".join(cells)
                     + f" | {min(compile_s):.1f}-{max(compile_s):.1f} s |")
    return lines
