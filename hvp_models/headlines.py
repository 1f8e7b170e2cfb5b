"""What docs/hvp_models.md and README.md quote from a model-study run, written by code (expkit.headlines).

Every figure is read from the run's summary.csv, verdicts.csv, reference.csv and
meta.json. A ratio is written with two significant digits when its interval is wider
than ±10% of it, else three; its interval is named for what it is (a 95% percentile
bootstrap over repeats and rounds).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from hvp_models.catalog import HVP_METHODS, METHOD_LABELS, METHODS, MODEL_LABELS
from hvp_models.reference import CURVLINOPS, DAGREOU, MODEL_OF
from hvp_models.summary import FLOP_TOLERANCE

SHORT = {"hvp_fwd_rev": "fwd-over-rev", "hvp_rev_rev": "rev-over-rev", "hvp_rev_fwd": "rev-over-fwd",
         "hvp_linearize": "linearize + apply", "hvp_linearized_apply": "stored linearization",
         "hvp_block": "block, per vector", "ggn_product": "Gauss-Newton"}


def digits(value: float, lo: float, hi: float) -> int:
    """Significant digits a ratio earns: 2 when its interval is wider than ±10% of it, else 3."""
    return 2 if (hi - lo) / 2 > 0.1 * abs(value) else 3


def sig(x: float, n: int) -> str:
    """x to n significant digits, as plain decimals."""
    if not math.isfinite(x):
        return "-"
    if x == 0:
        return "0"
    decimals = max(n - 1 - math.floor(math.log10(abs(x))), 0)
    return f"{x:.{decimals}f}"


def ratio_text(row) -> str:
    """'2.1× [1.9, 2.4]': the paired ratio and its interval, digits by width."""
    n = digits(row["ratio"], row["lo"], row["hi"])
    return f"{sig(row['ratio'], n)}× [{sig(row['lo'], n)}, {sig(row['hi'], n)}]"


def _read(run_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    run = Path(run_dir)
    meta = json.loads((run / "meta.json").read_text())
    return pd.read_csv(run / "summary.csv"), pd.read_csv(run / "verdicts.csv"), meta


def machine(meta: dict) -> str:
    """The run's machine in words, from meta.json."""
    env = meta.get("environment", {})
    devices = env.get("jax_devices") or env.get("devices") or ""
    cpu = env.get("cpu") or env.get("processor") or "CPU"
    return f"{cpu}, {env.get('cpu_count', '?')} cores, jax {env.get('jax', env.get('jax_version', '?'))}" + (
        f", {devices}" if devices and "cpu" not in str(devices).lower() else "")


def time_table_lines(run_dir: str | Path) -> list[str]:
    """Per batch: each model's gradient time and every method's paired time ratio with its interval."""
    summary, _, meta = _read(run_dir)
    methods = [m for m in METHODS[1:] if m in set(summary["method"])]
    lines = [f"Machine: {machine(meta)}. Each cell: time over the gradient's, per vector, median of "
             f"{int(summary['rounds'].max())} paired rounds over {int(summary['repeats'].max())} repeats "
             f"[{summary['level'].max():.0%} percentile bootstrap interval].", ""]
    for batch, s in summary.groupby("batch"):
        lines += [f"Batch {batch}:", "", "| model | P | gradient | " + " | ".join(SHORT[m] for m in methods) + " |",
                  "|---|---|---|" + "---|" * len(methods)]
        for model, rows in s.groupby("model", sort=False):
            rows = rows.set_index("method")
            grad = rows.loc["gradient"]
            cells = [(ratio_text(rows.loc[m]) + ("" if rows.loc[m, "status"] == "ok" else f" ({rows.loc[m, 'status']})"))
                     if m in rows.index and math.isfinite(rows.loc[m, "ratio"]) else "-" for m in methods]
            lines.append(f"| {MODEL_LABELS[model]} | {int(grad['params']):,} | {grad['time_ms']:.3g} ms | "
                         + " | ".join(cells) + " |")
        lines.append("")
    return lines[:-1]


def cost_table_lines(run_dir: str | Path) -> list[str]:
    """Per model at the largest batch: flops, bytes, kernels and temporaries over the gradient's, and time over flops."""
    summary, _, _ = _read(run_dir)
    batch = summary["batch"].max()
    s = summary[summary["batch"] == batch]
    lines = [f"Batch {batch}; every figure is the compiled program's, over the gradient's, per vector:", "",
             "| model | method | flops | bytes | kernels | temporaries | time / flops |", "|---|---|---|---|---|---|---|"]
    for _, row in s[s["method"] != "gradient"].iterrows():
        lines.append(f"| {MODEL_LABELS[row['model']]} | {METHOD_LABELS[row['method']]} | {row['flop_ratio']:.2f} | "
                     f"{row['bytes_ratio']:.2f} | {row['kernel_ratio']:.2f} | {row['temp_ratio']:.2f} | "
                     f"{row['time_over_flops']:.2f} |")
    return lines


def reference_lines(run_dir: str | Path) -> list[str]:
    """The three HVP compositions here beside the published ratios (their A100, their sizes, batch 64)."""
    summary, _, meta = _read(run_dir)
    reference = pd.read_csv(Path(run_dir) / "reference.csv")
    batch = summary["batch"].max()
    ours = summary[summary["batch"] == batch].set_index(["model", "method"])
    theirs = reference[(reference["source"] == DAGREOU) & (reference["batch"] == 64)]
    lines = [f"| model here (theirs) | method | here: CPU, batch {batch} | theirs: JAX, A100, batch 64 "
             "| theirs: PyTorch | theirs: JAX memory |", "|---|---|---|---|---|---|"]
    for their_model, ours_model in MODEL_OF.items():
        for method in ("hvp_fwd_rev", "hvp_rev_fwd", "hvp_rev_rev"):
            def pick(framework):
                row = theirs[(theirs["model"] == their_model) & (theirs["framework"] == framework)
                             & (theirs["method"] == method)]
                return row.iloc[0] if len(row) else None
            jax_row, torch_row = pick("jax"), pick("torch")
            here = ratio_text(ours.loc[(ours_model, method)]) if (ours_model, method) in ours.index else "-"
            memory = f"{jax_row['memory_ratio']:.1f}×" if jax_row is not None and pd.notna(jax_row["memory_ratio"]) \
                else "-"
            lines.append(f"| {MODEL_LABELS[ours_model]} ({their_model}) | {SHORT[method]} | {here} | "
                         f"{jax_row['time_ratio']:.2f}× | {torch_row['time_ratio']:.2f}× | {memory} |")
    r50 = reference[(reference["model"] == "resnet50") & (reference["method"] == "hvp_rev_rev")]
    r50 = r50.set_index("framework")["time_ratio"]
    if len(r50):  # in their stored data, not in their post
        lines.append(f"| - (resnet50, their data only) | rev-over-rev | - | {r50['jax']:.2f}× | {r50['torch']:.2f}× | - |")
    for _, row in reference[reference["source"] == CURVLINOPS].iterrows():
        lines.append(f"| - ({row['model']}, {CURVLINOPS}) | fwd-over-rev | - | - | {row['time_ratio']:.2f}× | - |")
    return lines


def verdict_lines(run_dir: str | Path) -> list[str]:
    """Whether the best HVP is within 2x the gradient (or 1.1x its own flop ratio), and each within 1.25x."""
    _, verdicts, _ = _read(run_dir)
    lines = [f"The issue's targets: the best HVP within 2× the gradient, or within {FLOP_TOLERANCE['best']}× its own "
             f"flop ratio where that ratio is above 2; every composition within {FLOP_TOLERANCE['each']}× its flop "
             "ratio.", ""]
    for _, v in verdicts.iterrows():
        best = (f"best {SHORT[v['best']]} {sig(v['best_ratio'], digits(v['best_ratio'], v['best_lo'], v['best_hi']))}×"
                f" the gradient, flop ratio {v['best_flop_ratio']:.2f}")
        lines.append(f"- {MODEL_LABELS[v['model']]}, batch {v['batch']}: {best} "
                     f"({'met' if v['best_ok'] else 'NOT met'}); slowest against its flops: "
                     f"{SHORT[v['worst_method']]} at {v['worst_time_over_flops']:.2f}× its flop ratio "
                     f"({'met' if v['each_ok'] else 'NOT met'}).")
    return lines


def headline_lines(run_dir: str | Path) -> list[str]:
    """README's one line: the best HVP over the gradient per model at the largest batch, beside the reference."""
    summary, verdicts, meta = _read(run_dir)
    reference = pd.read_csv(Path(run_dir) / "reference.csv")
    theirs = reference[(reference["source"] == DAGREOU) & (reference["framework"] == "jax") & (reference["batch"] == 64)
                       & reference["model"].isin(list(MODEL_OF))]["time_ratio"]
    batch = verdicts["batch"].max()
    parts = [f"{MODEL_LABELS[v['model']]} {sig(v['best_ratio'], digits(v['best_ratio'], v['best_lo'], v['best_hi']))}×"
             for _, v in verdicts[verdicts["batch"] == batch].iterrows()]
    return [f"On real models (2-core CPU, batch {batch}), the best HVP costs {', '.join(parts)} a gradient "
            f"(paired medians over {int(summary['repeats'].max())} repeats; Dagréou et al. 2024 measured "
            f"{_span(theirs, '{:.1f}')}× with JAX on an A100): [docs/hvp_models.md](docs/hvp_models.md)."]


def _span(values, fmt="{:.2g}") -> str:
    """'a-b' (or 'a' when they round alike) of a series of figures."""
    lo, hi = fmt.format(min(values)), fmt.format(max(values))
    return lo if lo == hi else f"{lo}-{hi}"


def finding_lines(run_dir: str | Path) -> list[str]:
    """What the run shows, at its largest batch: reverse-over-reverse's waste and where it is, what reuse buys, memory."""
    summary, _, _ = _read(run_dir)
    batch = summary["batch"].max()
    s = summary[summary["batch"] == batch].set_index(["model", "method"])
    models = list(dict.fromkeys(summary["model"]))

    def at(method, column):
        return [s.loc[(m, method), column] for m in models if (m, method) in s.index]

    lines = [f"At batch {batch}:"]
    rr = [(m, s.loc[(m, "hvp_rev_rev")]) for m in models if (m, "hvp_rev_rev") in s.index]
    worst_model, worst = max(rr, key=lambda t: t[1]["time_over_flops"])
    fwd = s.loc[(worst_model, "hvp_fwd_rev")] if (worst_model, "hvp_fwd_rev") in s.index else None
    text = (f"- Reverse-over-reverse is slowest against its arithmetic on the {MODEL_LABELS[worst_model]}: "
            f"{ratio_text(worst)} a gradient where its flops are {worst['flop_ratio']:.2f}× the gradient's "
            f"({worst['time_over_flops']:.2f}× its flop ratio).")
    if fwd is not None and worst["convolutions_not_nhwc"] > 0:
        text += (f" Its compiled program holds {int(worst['convolutions_not_nhwc'])} convolutions in layouts other "
                 f"than NHWC; forward-over-reverse's holds {int(fwd['convolutions_not_nhwc'])}.")
    lines.append(text)
    others = [f"{MODEL_LABELS[m]} {r['time_over_flops']:.2f}×" for m, r in rr if m != worst_model]
    lines.append(f"- Reverse-over-reverse's time over its flop ratio elsewhere: {', '.join(others)}.")
    fr = at("hvp_fwd_rev", "ratio")
    for method, words in (("hvp_linearized_apply", "Applying a stored linearization costs"),
                          ("hvp_block", "A vmapped block of vectors costs"),
                          ("ggn_product", "The Gauss-Newton product costs")):
        if at(method, "ratio"):
            lines.append(f"- {words} {_span(at(method, 'ratio'))}× a gradient per vector across the models, against "
                         f"{_span(fr)}× for forward-over-reverse (flop ratios {_span(at(method, 'flop_ratio'))}× and "
                         f"{_span(at('hvp_fwd_rev', 'flop_ratio'))}×).")
    temps = [t for m in ("hvp_fwd_rev", "hvp_rev_rev", "hvp_rev_fwd") for t in at(m, "temp_ratio")]
    lines.append(f"- Temporaries of the three compositions: {_span(temps)}× the gradient's "
                 f"(the compiled programs' memory analysis).")
    return lines


def program_lines(run_dir: str | Path) -> list[str]:
    """What each composition's compiled program holds beside the gradient's: transposes, bytes, convolution layouts."""
    summary, _, _ = _read(run_dir)
    batch = summary["batch"].max()
    lines = [f"Batch {batch}, from the optimised HLO and XLA's cost analysis:", "",
             "| model | program | flops (× gradient's) | bytes (× gradient's) | transposes | convolutions not NHWC |",
             "|---|---|---|---|---|---|"]
    for _, row in summary[summary["batch"] == batch].iterrows():
        if row["method"] in ("gradient", *HVP_METHODS):
            lines.append(f"| {MODEL_LABELS[row['model']]} | {SHORT.get(row['method'], 'gradient')} | "
                         f"{row['flop_ratio']:.2f} | {row['bytes_ratio']:.2f} | {int(row['transposes'])} | "
                         f"{int(row['convolutions_not_nhwc'])} |")
    return lines
