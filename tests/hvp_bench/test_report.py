"""The report: sections, kept hand-written analysis, width sweep, comparison, bad input."""

import json
import runpy
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from hvp_bench.config import METHOD_NAMES
from hvp_bench.words import LABELS
from hvp_bench.report import HAND_END, HAND_START, write_report
from hvp_bench.rundir import COLUMNS, split_sweeps
from hvp_bench.scaling import fit_time_slopes
from tests.helpers.synthetic_runs import TINY_RUN, repeated_rows, synthetic_rows, write_run

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "report_hvp.py"


def _is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


@pytest.mark.slow
def test_report_from_the_tiny_committed_run(tmp_path):
    run = shutil.copytree(TINY_RUN, tmp_path / "run")
    # An older report with hand-written analysis: regenerating must keep that section.
    (run / "report.md").write_text(f"# old\n{HAND_START}\nMy own words.\n{HAND_END}\n")
    written = write_report(run, n_boot=100)
    report = (run / "report.md").read_text()
    for heading in ("## What was run", "## Analytic model", "## Time against depth: fitted exponents",
                    "## HVP time in gradients", "## Memory against depth",
                    "## Skipped, failed and unhealthy points", "## Generated interpretation", "## Analysis"):
        assert heading in report
    assert "`3ae0f89599f738ea9d0752dbe9b9f943cd856767-dirty`" in report  # the commit, from meta.json
    for method in METHOD_NAMES:  # the tiny run predates the dispatch floor
        assert f"| {LABELS[method]} |" in report
    assert "| **median** |" in report
    names = {p.name for p in written}
    assert {"report.md", "report_time_vs_depth.png", "report_memory_vs_depth.png", "report_hvp_over_gradient.png",
            "report_exponents.csv", "report_per_layer.csv"} <= names
    assert all(_is_png(p) for p in written if p.suffix == ".png")
    per_layer = pd.read_csv(run / "report_per_layer.csv").set_index("method")
    assert per_layer.loc["gradient", "ratio"] == 1.0 and per_layer.loc["hvp_rev_rev", "per_layer_s"] > 0
    assert not (TINY_RUN / "report.md").exists()
    assert "# old" not in report and report.count("My own words.") == 1
    assert "_(Write the analysis here" not in report  # the placeholder only when nothing was written


@pytest.mark.slow
def test_report_with_width_sweep_failures_and_comparison(tmp_path):
    exps = {"gradient": 1.0, "hvp_rev_rev": 1.0, "hessian_then_hvp": 2.0}
    wexps = {"gradient": 2.0, "hvp_rev_rev": 2.0, "hessian_then_hvp": 4.0}
    depths, widths = [20, 40, 80, 160], [4, 8, 16, 32]
    shapes = [(d, 4) for d in depths] + [(40, w) for w in widths if w != 4]
    rows = synthetic_rows(shapes, exps, wexps)
    rows += [{"depth": 320, "width": 4, "method": "hessian_then_hvp", "run_index": 0, "status": "skipped",
              "note": "predicted needs 99 GB > budget 18 GB"},
             {"depth": 320, "width": 4, "method": "hvp_rev_rev", "run_index": 0, "status": "failed",
              "note": "worker process died"}]
    cpu = write_run(tmp_path / "cpu", rows, depths + [320], widths, width_depth=40)
    gpu = write_run(tmp_path / "gpu", synthetic_rows(shapes, exps, wexps, scale=0.25), depths, widths,
                    width_depth=40, device="cuda:0 NVIDIA H100")
    written = write_report(cpu, gpu, n_boot=100)
    report = (cpu / "report.md").read_text()
    assert "## Time against width (at n=40)" in report
    assert "predicted needs 99 GB > budget 18 GB" in report and "worker process died" in report
    assert "## Comparison: synthetic on cuda:0 NVIDIA H100 against synthetic on cpu" in report
    # Same seed, same noise: the GPU run is exactly the CPU one at a quarter of the time.
    assert "| 4 | 20 | 4.00 | 4.00 | 4.00 |" in report
    assert "faster at 7 of 7 matched points" in report
    assert {"report_time_vs_width.png", "report_compare.png"} <= {p.name for p in written}
    width_fits = fit_time_slopes(split_sweeps(pd.read_csv(cpu / "runs.csv"),
                                                                json.loads((cpu / "meta.json").read_text()))[1],
                                          "width", n_boot=100).set_index("method")
    assert width_fits.loc["hessian_then_hvp", "slope"] == pytest.approx(4.0, abs=0.1)
    assert width_fits.loc["gradient", "slope"] == pytest.approx(2.0, abs=0.1)


@pytest.mark.parametrize("case", ["no_dir", "no_runs_csv", "empty_file", "header_only"])
def test_bad_input_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys, case):
    run = tmp_path / "run"
    if case != "no_dir":
        run.mkdir()
    if case == "empty_file":
        (run / "runs.csv").write_text("")
    if case == "header_only":
        (run / "runs.csv").write_text(",".join(COLUMNS) + "\n")
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), str(run)])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "Traceback" not in err


@pytest.mark.slow
def test_report_flags_fits_and_marks_dead_points(tmp_path):
    per_layer = {"gradient": 2e-7, "hvp_fwd_rev": 6e-7, "hvp_rev_rev": 4e-7}
    depths = [50, 185, 321, 457, 592, 728, 864, 1000]
    long = write_run(tmp_path / "long", repeated_rows(depths, per_layer, repeats=3, dead_from=660), depths)
    write_report(long, n_boot=100)
    report = (long / "report.md").read_text()
    cost = report.split("## Cost per layer")[1].split("##")[0]
    # Eight depths, three repeats, straight lines: headlines, with the repeats' range beside them.
    assert "| gradient (baseline) | 8 | 0.2" in cost and "| 3 (0." in cost
    assert "† 3 (from n=728)" in cost and "⚠" not in cost.split("⚠:")[0]
    ratios = report.split("## HVP time in gradients, depth by depth")[1].split("##")[0]
    assert ratios.count("†") == 2 * 3 + 1  # two HVPs at three dead depths, and the note
    short = write_run(tmp_path / "short", repeated_rows([50, 525, 1000], per_layer, repeats=1), [50, 525, 1000])
    write_report(short, n_boot=100)
    cost = (short / "report.md").read_text().split("## Cost per layer")[1].split("##")[0]
    assert "| gradient (baseline) | 3 | (0.2" in cost and ") ⚠ too few depths |" in cost and "†" not in cost.split("†:")[0]


def test_bench_tables_mark_dead_depths_and_flag_variants(tmp_path):
    from hvp_bench.bench_tables import write_bench_tables

    depths = [50, 525, 1000]
    rows = repeated_rows(depths, {"gradient": 2e-7, "hvp_fwd_rev": 6e-7}, repeats=2, dead_from=660)
    rows += repeated_rows(depths, {"gradient": 3e-7, "hvp_fwd_rev": 5e-7}, repeats=2, dead_from=660, variant="fori")
    run = write_run(tmp_path / "run", rows, depths)
    meta = json.loads((run / "meta.json").read_text())
    meta["config"].update(variants=["scan", "fori"], width=4)
    (run / "meta.json").write_text(json.dumps(meta))
    write_bench_tables(run, n_boot=100)
    ratios = pd.read_csv(run / "hvp_over_gradient.csv", keep_default_na=False)
    assert list(ratios["dead"]) == ["", "", "all"]
    per_layer = pd.read_csv(run / "per_layer.csv").set_index("method")
    assert per_layer.loc["gradient", "dead_depths"] == 1 and per_layer.loc["gradient", "status"] == "too few depths"
    variants = pd.read_csv(run / "variants.csv").set_index(["variant", "method"])
    assert variants.loc[("fori", "hvp_fwd_rev"), "ratio"] == pytest.approx(2.5, rel=0.05)  # over scan's gradient
    assert (variants["status"] == "too few depths").all() and (variants["dead_depths"] == 1).all()
