"""The scaling analysis: model exponents, slope fits and their CIs, the report, bad input."""

import json
import runpy
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hvp_bench import analysis
from hvp_bench.plots import LABELS
from hvp_bench.report import HAND_END, HAND_START, write_report
from hvp_bench.config import METHOD_NAMES
from hvp_bench.sweep import COLUMNS, summarize_runs

TINY_RUN = Path(__file__).parent / "data" / "tiny_run"
SCRIPT = Path(__file__).parents[1] / "scripts" / "report_hvp.py"
DEPTHS = np.linspace(50, 1000, 15, dtype=int)
LINEAR = [m for m in METHOD_NAMES if m not in ("hessian_then_hvp", "naive_hvp")]


def synthetic_groups(k: float, sigma: float = 0.1, runs: int = 10, seed: int = 0) -> dict[float, np.ndarray]:
    """t = 1e-6 n^k times lognormal noise, `runs` timed runs at each of the task's depths."""
    rng = np.random.default_rng(seed)
    return {float(n): 1e-6 * n**k * rng.lognormal(0.0, sigma, runs) for n in DEPTHS}


def synthetic_rows(depth_widths, exponents: dict, width_exponents: dict, runs: int = 5,
                   sigma: float = 0.05, scale: float = 1.0, seed: int = 0) -> list[dict]:
    """runs.csv rows with time = scale * 1e-6 * depth^k * (width/4)^kw * noise per method."""
    rng = np.random.default_rng(seed)
    rows = []
    for depth, width in depth_widths:
        for method, k in exponents.items():
            t = scale * 1e-6 * depth**k * (width / 4) ** width_exponents[method] * rng.lognormal(0, sigma, runs)
            params = depth * width * width
            for i in range(runs):
                rows.append({
                    "depth": depth, "width": width, "method": method, "run_index": i, "status": "ok",
                    "time_s": t[i], "compile_s": 0.5, "prepare_s": 0.0, "params": params, "batch": 1,
                    "dtype": "float32", "form": "scan", "finite": True, "nonzero": True, "note": "",
                    "predicted_bytes": analysis.predicted_terms(method, depth, width)["memory"],
                    "compiled_bytes": 2 * analysis.predicted_terms(method, depth, width)["memory"],
                })
    return rows


def write_run(run_dir: Path, rows: list[dict], depths, widths=(), width_depth=100, name="synthetic", device="cpu"):
    run_dir.mkdir(parents=True)
    pd.DataFrame(rows, columns=COLUMNS).to_csv(run_dir / "runs.csv", index=False)
    meta = json.loads((TINY_RUN / "meta.json").read_text())
    meta["config"].update(name=name, depths=[int(d) for d in depths], widths=list(widths), width_depth=width_depth)
    meta["environment"]["device"] = device
    (run_dir / "meta.json").write_text(json.dumps(meta))
    return run_dir


# --- the analytic model -----------------------------------------------------------------


def test_predicted_exponents_are_the_derivations():
    for regime in ("arithmetic", "bandwidth"):
        assert analysis.predicted_depth_exponent("hessian_then_hvp", "time", regime) == 2
        assert analysis.predicted_depth_exponent("naive_hvp", "time", regime) == 2
        for m in LINEAR:
            assert analysis.predicted_depth_exponent(m, "time", regime) == 1
    assert analysis.predicted_depth_exponent("hessian_then_hvp", "memory") == 2
    assert analysis.predicted_depth_exponent("naive_hvp", "memory") == 2
    assert analysis.predicted_depth_exponent("hvp_rev_rev", "memory") == 1
    assert analysis.predicted_depth_exponent("gradient", "memory") == 1
    # Overhead-bound: n sequential steps, whatever the width; H @ v is one op.
    assert analysis.predicted_depth_exponent("hvp_rev_rev", "time", "overhead") == 1
    assert analysis.predicted_depth_exponent("hessian_then_hvp", "time", "overhead") == 1
    assert analysis.predicted_depth_exponent("naive_hvp", "time", "overhead") == 0
    assert analysis.predicted_width_exponent("hvp_fwd_rev", "time") == 2
    assert analysis.predicted_width_exponent("hessian_then_hvp", "time") == 4
    assert analysis.predicted_width_exponent("gradient", "time", "overhead") == 0
    with pytest.raises(ValueError, match="unknown method"):
        analysis.predicted_depth_exponent("hvp_magic")
    with pytest.raises(ValueError, match="quantity"):
        analysis.predicted_depth_exponent("gradient", "energy")


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_exponent_table_agrees_with_the_cost_counts(method):
    """The stated exponents are the large-size log-derivatives of the counted costs."""
    term = {"overhead": "steps", "arithmetic": "flops", "bandwidth": "bytes"}

    def slope(key, n1, n2, w1, w2):
        a = analysis.predicted_terms(method, n1, w1)[key]
        b = analysis.predicted_terms(method, n2, w2)[key]
        return np.log(b / a) / np.log((n2 / n1) if n2 != n1 else (w2 / w1))

    for regime, key in term.items():
        if key == "steps" and method == "naive_hvp":
            assert analysis.predicted_terms(method, 1e4, 4)["steps"] == analysis.predicted_terms(method, 2e4, 4)["steps"]
            continue
        assert slope(key, 1e4, 2e4, 4, 4) == pytest.approx(analysis.predicted_depth_exponent(method, "time", regime), abs=0.02)
        if key != "steps":
            assert slope(key, 100, 100, 1e3, 2e3) == pytest.approx(analysis.predicted_width_exponent(method, "time", regime), abs=0.02)
    assert slope("memory", 1e4, 2e4, 4, 4) == pytest.approx(analysis.predicted_depth_exponent(method, "memory"), abs=0.02)
    assert slope("memory", 100, 100, 1e3, 2e3) == pytest.approx(analysis.predicted_width_exponent(method, "memory"), abs=0.02)


def test_roofline_regimes():
    gpu = analysis.MACHINES["gpu"]
    # Width 4, batch 1 on a GPU: per-layer methods are launch-bound, ~2 steps x 10 us a layer.
    p = analysis.predicted_time("gradient", 1000, 4, 1, gpu)
    assert p["regime"] == "overhead"
    assert p["time_s"] == pytest.approx(2000 * gpu.step_s, rel=0.01)
    assert analysis.predicted_time("gradient", 100, 4096, 256, gpu)["regime"] == "arithmetic"
    assert analysis.predicted_time("naive_hvp", 1000, 4, 1, gpu)["regime"] == "bandwidth"
    # Any HVP is 3 gradients of matmuls, a stored linearization 2.
    assert analysis.GRADIENT_MULTIPLE["hvp_fwd_rev"]["arithmetic"] == 3
    assert analysis.GRADIENT_MULTIPLE["hvp_linearized_apply"]["arithmetic"] == 2
    assert analysis.GRADIENT_MULTIPLE["hvp_rev_rev"]["overhead"] == 2


# --- fitting ----------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1.0, 2.0])
def test_slope_recovers_known_exponent_and_ci_contains_it(k):
    fit = analysis.bootstrap_slope(synthetic_groups(k), n_boot=1000, seed=0)
    assert fit.points == 15
    assert abs(fit.slope - k) < 0.05  # 10% noise, 10 runs at 15 depths over 1.3 decades
    assert fit.lo <= k <= fit.hi
    assert 0.005 < fit.hi - fit.lo < 0.15


def test_bootstrap_ci_coverage_is_near_nominal():
    hits = 0
    for seed in range(40):
        fit = analysis.bootstrap_slope(synthetic_groups(1.0, sigma=0.2, seed=seed), n_boot=400, seed=seed)
        hits += fit.lo <= 1.0 <= fit.hi
    # Nominal 95%; the percentile bootstrap of a median of 10 runs under-covers a little.
    assert hits >= 33


def test_bootstrap_is_seeded_and_widens_with_noise():
    groups = synthetic_groups(2.0, sigma=0.05)
    a = analysis.bootstrap_slope(groups, n_boot=300, seed=1)
    assert a == analysis.bootstrap_slope(groups, n_boot=300, seed=1)
    noisy = analysis.bootstrap_slope(synthetic_groups(2.0, sigma=0.4), n_boot=300, seed=1)
    assert noisy.hi - noisy.lo > 3 * (a.hi - a.lo)
    assert np.isnan(analysis.bootstrap_slope({50.0: np.ones(3)}).slope)  # one depth: no slope


def test_floor_hides_the_exponent_and_the_floor_fit_recovers_it():
    n = DEPTHS.astype(float)
    t = 2e-3 + 1e-9 * n**2  # the floor is the whole time at 50 layers, 1/3 of it at 1000
    plain, _ = analysis.loglog_slope(n, t)
    assert plain < 1.0
    floor = analysis.fit_floor_power_law(n, t)
    assert floor["k"] == pytest.approx(2.0, abs=0.05)
    assert floor["a"] == pytest.approx(2e-3, rel=0.05)


def test_ratios_and_comparison_from_planted_times(tmp_path):
    exps = {"gradient": 1.0, "hvp_fwd_rev": 1.0, "hessian_then_hvp": 2.0}
    rows = pd.DataFrame(synthetic_rows([(d, 4) for d in (50, 100, 200)], exps, dict.fromkeys(exps, 0), sigma=0))
    rows.loc[rows["method"] == "hvp_fwd_rev", "time_s"] *= 2.5
    ratios = analysis.gradient_ratios(rows)
    np.testing.assert_allclose(ratios["hvp_fwd_rev"], 2.5)
    np.testing.assert_allclose(ratios["hessian_then_hvp"], [50, 100, 200])  # 1e-6 n^2 / 1e-6 n
    faster = rows.assign(time_s=rows["time_s"] / 4)
    cmp = analysis.compare_runs(rows, faster[faster["depth"] != 200])
    assert len(cmp) == 6  # matched points only
    np.testing.assert_allclose(cmp["speedup"], 4.0)


def test_fit_time_slopes_upper_half_and_memory():
    exps = {"gradient": 1.0, "naive_hvp": 2.0}
    rows = pd.DataFrame(synthetic_rows([(int(d), 4) for d in DEPTHS], exps, dict.fromkeys(exps, 0), runs=5, sigma=0.02))
    # A floor of 1 ms under the gradient: the all-points slope flattens, the upper half less.
    rows.loc[rows["method"] == "gradient", "time_s"] += 1e-3
    fits = analysis.fit_time_slopes(rows, n_boot=200).set_index("method")
    assert fits.loc["naive_hvp", "slope"] == pytest.approx(2.0, abs=0.03)
    assert fits.loc["gradient", "slope"] < fits.loc["gradient", "upper_slope"] < 1.0
    assert fits.loc["gradient", "floor_k"] == pytest.approx(1.0, abs=0.1)
    assert fits.loc["naive_hvp", "pred_arithmetic"] == 2 and fits.loc["naive_hvp", "pred_overhead"] == 0
    mem = analysis.fit_memory_slopes(summarize_runs(rows)).set_index("method")
    assert mem.loc["naive_hvp", "compiled_bytes_slope"] == pytest.approx(2.0, abs=0.01)
    assert mem.loc["gradient", "predicted_bytes_upper"] == pytest.approx(1.0, abs=0.01)


# --- the report -------------------------------------------------------------------------


def _is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


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
    for label in LABELS.values():
        assert f"| {label} |" in report
    assert "| **median** |" in report
    names = {p.name for p in written}
    assert {"report.md", "report_time_vs_depth.png", "report_memory_vs_depth.png", "report_hvp_over_gradient.png"} <= names
    assert all(_is_png(p) for p in written if p.suffix == ".png")
    assert not (TINY_RUN / "report.md").exists()
    assert "# old" not in report and report.count("My own words.") == 1
    assert "_(Write the analysis here" not in report  # the placeholder only when nothing was written


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
    width_fits = analysis.fit_time_slopes(analysis.split_sweeps(pd.read_csv(cpu / "runs.csv"),
                                                                json.loads((cpu / "meta.json").read_text()))[1],
                                          "width", n_boot=100).set_index("method")
    assert width_fits.loc["hessian_then_hvp", "slope"] == pytest.approx(4.0, abs=0.1)
    assert width_fits.loc["gradient", "slope"] == pytest.approx(2.0, abs=0.1)


# --- bad input ----------------------------------------------------------------------------


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
