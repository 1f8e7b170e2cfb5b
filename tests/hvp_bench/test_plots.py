"""Figures drawn from a tiny hand-written run directory (no JAX run needed)."""

import ast
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer

import hvp_bench
from expkit.cli import run_cli
from hvp_bench.cli import main_plot
from hvp_bench.config import METHOD_NAMES, TASK_METHODS
from hvp_bench.words import AXIS_LABELS, COMPILE, DEPTH, LABELS, TIME, WIDTH, subtitle
from hvp_bench.words import DEAD_LABEL
from hvp_bench.plots import (figure_compile_times, figure_compositions, figure_task_timings,
                             figure_width_sweep)
from hvp_bench.run_figures import plot_run
from hvp_bench.rundir import COLUMNS, format_summary, load_run, load_summary, summarize_runs
from hvp_bench.words import ms
from hvp_bench.variant_figures import figure_variants

TASK_LABELS = tuple(LABELS[m] for m in TASK_METHODS)


def tiny_run(path, widths=()):
    rows = []
    for depth in (10, 20, 40):
        for method, t in (("hessian_then_hvp", 1e-3 * depth**2), ("naive_hvp", 1e-5 * depth**2),
                          ("hvp_rev_rev", 1e-4 * depth), ("gradient", 4e-5 * depth)):
            if depth == 40 and method in ("hessian_then_hvp", "naive_hvp"):
                status = "skipped" if method == "naive_hvp" else "failed"
                rows.append(dict(depth=depth, width=4, method=method, run_index=0, status=status,
                                 note="needs 9 GB > budget 1 GB"))
                continue
            rows += [dict(depth=depth, width=4, method=method, run_index=i, status="ok",
                          time_s=t * (1 + 0.1 * i), compile_s=0.5, params=16 * depth,
                          finite=True, nonzero=True) for i in range(3)]
    for width in widths:
        rows += [dict(depth=20, width=width, method="gradient", run_index=i, status="ok",
                      time_s=1e-6 * width**2, compile_s=0.4) for i in range(3)]
    path.mkdir()
    pd.DataFrame(rows, columns=COLUMNS).to_csv(path / "runs.csv", index=False)
    config = {"width": 4, "batch": 1, "dtype": "float32", "form": "scan",
              "widths": list(widths), "width_depth": 20}
    (path / "meta.json").write_text(json.dumps({"config": config, "environment": {"device": "cpu"}}))
    return path


@pytest.mark.slow
def test_figures_are_written_with_skipped_and_failed_points_marked(tmp_path):
    paths = plot_run(tiny_run(tmp_path / "run"))
    names = sorted(p.name for p in paths)
    assert names == sorted(f"{n}.{ext}" for n in ("task_timings", "hvp_compositions", "compile_times")
                           for ext in ("png", "svg"))
    svg = (tmp_path / "run" / "task_timings.svg").read_text()
    assert "Number of layers" in svg and "Computation time (s)" in svg
    assert "(2) multiply a given Hessian: skipped" in svg
    assert "(1) build the Hessian, then multiply: failed" in svg
    assert "(3) autodiff HVP (reverse-over-reverse)" in svg
    assert all(p.stat().st_size > 5_000 for p in paths)


@pytest.mark.slow
def test_width_sweep_figure_when_the_run_has_one(tmp_path):
    paths = plot_run(tiny_run(tmp_path / "run", widths=(8, 16, 32)))
    assert tmp_path / "run" / "width_sweep.png" in paths
    assert "Hidden width" in (tmp_path / "run" / "width_sweep.svg").read_text()


def test_plot_script_refuses_a_directory_without_results(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        run_cli(main_plot, [str(tmp_path)])
    assert info.value.code == 2
    assert "has no runs.csv" in capsys.readouterr().err


@pytest.mark.slow
def test_dead_points_are_drawn_hollow_and_said_so(tmp_path):
    run = tiny_run(tmp_path / "run")
    rows = pd.read_csv(run / "runs.csv")
    rows.loc[(rows["depth"] == 40) & (rows["status"] == "ok"), "nonzero"] = False
    rows.to_csv(run / "runs.csv", index=False)
    plot_run(run)
    svg = (run / "hvp_compositions.svg").read_text()
    assert DEAD_LABEL in svg
    # Two methods dead at depth 40, each a white-faced marker (plus the legend's).
    assert svg.count("fill: #ffffff; stroke: ") == 3
    plot_run(tiny_run(tmp_path / "alive"))
    assert DEAD_LABEL not in (tmp_path / "alive" / "hvp_compositions.svg").read_text()


# --- What a newcomer reads: statistics that stay positive, few legend entries, one vocabulary.

def noisy_run(path, variants=("scan",), methods=("hessian_then_hvp", "naive_hvp", "hvp_rev_rev", "gradient"),
              depths=tuple(np.linspace(50, 1000, 15, dtype=int)), sigma=1.2, runs=10, seed=0):
    """A run whose fast calls are so noisy that mean - std < 0 (lognormal, sigma 1.2)."""
    rng = np.random.default_rng(seed)
    rows = []
    for variant in variants:
        for depth in depths:
            for method in methods:
                base = {"hessian_then_hvp": 1e-6 * depth**2, "naive_hvp": 5e-8 * depth**2}.get(method, 1e-6 * depth)
                rows += [dict(depth=depth, width=4, variant=variant, method=method, run_index=i, status="ok",
                              time_s=base * rng.lognormal(0, sigma), compile_s=0.3, params=16 * depth,
                              finite=True, nonzero=depth < 600) for i in range(runs)]
    path.mkdir()
    pd.DataFrame(rows, columns=COLUMNS).to_csv(path / "runs.csv", index=False)
    config = {"width": 4, "batch": 1, "dtype": "float32", "matmul_precision": "highest", "variants": list(variants),
              "widths": [], "width_depth": 100, "num_runs": runs}
    meta = {"config": config, "environment": {"device": "cpu", "cpu_count": 2}}
    (path / "meta.json").write_text(json.dumps(meta))
    return path, meta


def error_bars(ax) -> np.ndarray:
    """(low, high) of every error bar drawn on `ax`."""
    return np.array([(seg[0][1], seg[1][1]) for c in ax.containers if isinstance(c, ErrorbarContainer)
                     for seg in c.lines[2][0].get_segments()])


def test_task_figure_log_panel_never_goes_below_zero_and_shows_the_printed_medians(tmp_path):
    run, meta = noisy_run(tmp_path / "run")
    summary = load_summary(run)[0]
    fig = figure_task_timings(summary, meta)
    linear, log = fig.axes[:2]
    assert linear.get_yscale() == "linear" and log.get_yscale() == "log"
    # The run is noisy enough that the task's mean - std is below zero somewhere...
    assert (error_bars(linear)[:, 0] < 0).any()
    # ...but every lower whisker of the log panel is above zero, at every point of every method.
    bars = error_bars(log)
    assert len(bars) == 3 * 15 and (bars[:, 0] > 0).all()
    # The log panel's points are the medians the printed table shows.
    drawn = sorted(y for c in log.containers if c.get_label() in TASK_LABELS for y in c.lines[0].get_ydata())
    assert np.allclose(drawn, sorted(summary[summary["method"].isin(TASK_METHODS)]["median_s"]))
    assert "mean ± 1 standard deviation" in linear.get_title() and "median" in log.get_title()
    assert [t.get_text() for t in linear.get_legend().get_texts()][:3] == list(TASK_LABELS)


@pytest.mark.slow
def test_variants_are_small_multiples_with_few_legend_entries(tmp_path):
    many = ["scan", "scan-u2", "scan-u4", "scan-u8", "scan-fused", "scan-remat", "fori", "scan-exact"]
    for name, variants in (("two", ("scan", "scan-fused-jvp-remat")), ("many", many)):
        run, meta = noisy_run(tmp_path / name, variants=variants, methods=(*METHOD_NAMES, "dispatch_floor"))
        meta["config"]["variants"] = list(variants)
        summary = summarize_runs(load_run(run)[0])
        for column in ("median_s", "compile_s"):
            fig = figure_variants(summary, meta, column=column)
            assert len(fig.axes) == len(METHOD_NAMES) + 1  # one panel per method
            for ax in fig.axes:
                legend = ax.get_legend()
                assert legend is None or len(legend.get_texts()) <= 6
                assert sum(not line.get_label().startswith("_") for line in ax.get_lines()) <= 6
        # The variants drawn are named once, in words, under the panels.
        text = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
        assert "scan (plain layers in one compiled loop)" in text and len(text) <= len(METHOD_NAMES) + 3
        if name == "two":
            assert "scan-fused-jvp-remat (fused products, hand-written JVP, recomputed backward)" in text


@pytest.mark.slow
def test_plot_run_draws_each_variant_alone_only_for_a_few(tmp_path):
    run, _ = noisy_run(tmp_path / "run", variants=("scan", "scan-fused", "scan-remat", "fori"),
                       methods=("hvp_rev_rev", "gradient"), depths=(50, 100, 200), runs=3)
    names = {p.stem for p in plot_run(run)}
    # No dense route in the run: no task figure; four variants: the first alone, then compared.
    assert names == {"hvp_compositions", "compile_times", "variants", "variants_compile"}


@pytest.mark.slow
def test_axis_labels_come_from_one_vocabulary(tmp_path):
    run, meta = noisy_run(tmp_path / "run", variants=("scan", "scan-remat"), methods=(*METHOD_NAMES,),
                          depths=(50, 100, 200), runs=3)
    summary = load_summary(run)[0]
    everything = summarize_runs(load_run(run)[0])
    figures = [figure_task_timings(summary, meta), figure_compositions(summary, meta),
               figure_compile_times(summary, meta), figure_width_sweep(summary.assign(width=summary["depth"]), meta),
               figure_variants(everything, meta), figure_variants(everything, meta, column="compile_s"),
               figure_variants(everything.assign(width=everything["depth"]), meta, x="width")]
    labels = {text for fig in figures for ax in fig.axes for text in (ax.get_xlabel(), ax.get_ylabel()) if text}
    assert labels <= AXIS_LABELS and {DEPTH, TIME, COMPILE, WIDTH} <= labels
    # And statically: no hvp_bench module passes an axis label as a literal string.
    literal = []
    for path in sorted(Path(hvp_bench.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("set_xlabel", "set_ylabel", "supxlabel", "supylabel") and node.args
                    and isinstance(node.args[0], (ast.Constant, ast.JoinedStr))):
                literal.append(f"{path.name}:{node.lineno}")
    assert not literal


@pytest.mark.slow
def test_titles_speak_plain_words(tmp_path):
    run, _ = noisy_run(tmp_path / "run", variants=("scan", "scan-fused-jvp-remat"), depths=(50, 100, 200), runs=3)
    texts = {p.name: p.read_text() for p in plot_run(run) if p.suffix == ".svg"}
    for name, svg in texts.items():
        assert "task's" not in svg and "matmul precision" not in svg, name
        assert "2-core CPU, float32" in svg and "layers = hidden layers" in svg, name
    assert "fused products, hand-written JVP, recomputed backward" in texts["task_timings_scan-fused-jvp-remat.svg"]
    meta = {"config": {"dtype": "float32", "matmul_precision": "default", "width": 8, "batch": 1},
            "environment": {"device": "NVIDIA H100 80GB HBM3"}}
    assert subtitle(meta, "scan").startswith("NVIDIA H100 80GB HBM3, float32 (matrix products may round to TF32)")


def test_printed_table_fits_in_100_columns_with_one_number_format(tmp_path):
    run, _ = noisy_run(tmp_path / "run", variants=("scan", "fori-fused-jvp-remat-exact-u8"),
                       methods=(*METHOD_NAMES, "dispatch_floor"))
    summary = summarize_runs(load_run(run)[0])
    summary.loc[summary.index[:2], "median_s"] = [3.66e-8, 12.3456]  # 0.0000366 ms and 12300 ms
    summary.loc[summary.index[2], "status"] = "skipped"
    text = format_summary(summary, LABELS)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 100
    assert lines[0].startswith("median time per call (ms)") and "summary.csv" in lines[-1]
    assert lines[-1].startswith("Showing 6 of 15 depths")
    heads = [line for line in lines if line.startswith("layers:")]
    # First, last and evenly spaced between: 6 of the 15 depths.
    assert len(heads) == 2 and all(head.split()[1:] == ["50", "253", "457", "592", "796", "1000"] for head in heads)
    cells = [c for line in lines if line[:1] in "(aehlg" and not line.startswith("layers")
             for c in re.split(r"\s{2,}", line.strip())[1:]]
    numbers = [c for c in cells if c != "skipped"]
    assert len(numbers) == 2 * 10 * 6 - 1
    # One format: plain decimals, 3 significant digits, never an exponent.
    assert all(re.fullmatch(r"\d+(\.\d+)?", c) for c in numbers)
    assert all(len(c.replace(".", "").lstrip("0")) == 3 or c.endswith("0") for c in numbers)
    for method in (*METHOD_NAMES, "dispatch_floor"):  # one row per method and variant
        assert sum(line.startswith(LABELS[method] + " ") for line in lines) == 2


@pytest.mark.parametrize("seconds, text", [(3.66e-5, "0.0366"), (9.9996e-3, "10.0"), (0.944, "944"),
                                           (1.2104, "1210"), (5.48e-3, "5.48"), (0.0, "-")])
def test_milliseconds_to_three_significant_digits(seconds, text):
    assert ms(seconds) == text
