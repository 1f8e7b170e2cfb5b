"""Figures drawn from a tiny hand-written run directory (no JAX run needed)."""

import json

import pandas as pd
import pytest

from expkit.cli import run_cli
from hvp_bench.cli import main_plot
from hvp_bench.plots import DEAD_LABEL, plot_run
from hvp_bench.rundir import COLUMNS


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


def test_figures_are_written_with_skipped_and_failed_points_marked(tmp_path):
    paths = plot_run(tiny_run(tmp_path / "run"))
    names = sorted(p.name for p in paths)
    assert names == sorted(f"{n}.{ext}" for n in ("task_timings", "hvp_compositions", "compile_times")
                           for ext in ("png", "svg"))
    svg = (tmp_path / "run" / "task_timings.svg").read_text()
    assert "Number of layers" in svg and "Computation time (s)" in svg
    assert "(2) naive HVP, Hessian given: skipped" in svg
    assert "(1) full Hessian + naive HVP: failed" in svg
    assert all(p.stat().st_size > 5_000 for p in paths)


def test_width_sweep_figure_when_the_run_has_one(tmp_path):
    paths = plot_run(tiny_run(tmp_path / "run", widths=(8, 16, 32)))
    assert tmp_path / "run" / "width_sweep.png" in paths
    assert "Hidden width" in (tmp_path / "run" / "width_sweep.svg").read_text()


def test_plot_script_refuses_a_directory_without_results(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        run_cli(main_plot, [str(tmp_path)])
    assert info.value.code == 2
    assert "has no runs.csv" in capsys.readouterr().err


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
