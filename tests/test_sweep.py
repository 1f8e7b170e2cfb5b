"""The runner end to end: resume after a kill, the memory guard, crashes, bad input."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from expkit.config import ConfigError
from hvp_bench.cli import main_run
from hvp_bench.config import HVPConfig
from hvp_bench.rundir import COLUMNS
from hvp_bench.sweep import Point, finished_points, measure_point, plan_points, run_sweep

ROOT = Path(__file__).resolve().parent.parent
TINY = dict(name="tiny", depths=(1, 3), width=3, input_size=2, num_runs=3, warmup=1, device="cpu",
            methods=("naive_hvp", "hvp_rev_rev", "gradient"))


def keys(frame):
    return list(zip(frame["depth"], frame["width"], frame["method"], frame["run_index"]))


def crash_on_hvp_at_depth_3(config, point):
    """A measure function that kills its worker, as the OOM killer would."""
    if point == Point(3, config.width, "hvp_rev_rev"):
        os._exit(137)
    return measure_point(config, point)


def test_plan_points_depth_then_width_sweep():
    config = HVPConfig(depths=(1, 2), width=3, widths=(3, 5), width_depth=2, methods=("gradient",))
    assert plan_points(config) == [Point(1, 3, "gradient"), Point(2, 3, "gradient"), Point(2, 5, "gradient")]


def test_sweep_writes_rows_summary_and_meta(tmp_path):
    out = run_sweep(HVPConfig(**TINY), tmp_path / "run", progress=False)
    rows = pd.read_csv(out / "runs.csv")
    assert list(rows.columns) == COLUMNS
    assert len(rows) == 2 * 3 * 3 and set(rows["status"]) == {"ok"}
    assert rows["run_index"].tolist()[:3] == [0, 1, 2]
    assert rows["finite"].all() and rows["nonzero"].all()
    assert (rows["compile_s"] > 0).all() and (rows["time_s"] > 0).all()
    assert rows.loc[rows["depth"] == 3, "params"].iloc[0] == 2 * 3 + 2 * 9 + 3
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 6 and (summary["runs"] == 3).all()
    meta = (out / "meta.json").read_text()
    assert '"finished": "20' in meta and '"jax":' in meta


def test_resume_after_a_partial_write_loses_and_duplicates_nothing(tmp_path):
    config = HVPConfig(**TINY)
    out = run_sweep(config, tmp_path / "run", progress=False)
    full = pd.read_csv(out / "runs.csv")
    # What a kill mid-point leaves: the last point's rows cut, a partial line.
    text = (out / "runs.csv").read_text().splitlines(keepends=True)
    (out / "runs.csv").write_text("".join(text[:-2]) + text[-2][:7])
    run_sweep(config, out, progress=False)
    resumed = pd.read_csv(out / "runs.csv")
    assert sorted(keys(resumed)) == sorted(keys(full))
    assert len(set(keys(resumed))) == len(resumed)
    # Finished points were kept, not re-measured.
    untouched = resumed[resumed["method"] != "gradient"]
    pd.testing.assert_frame_equal(untouched.reset_index(drop=True),
                                  full[full["method"] != "gradient"].reset_index(drop=True))


def test_resume_after_kill_9(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, str(ROOT / "scripts/run_hvp.py"), "--config", "configs/hvp_smoke.toml",
           "--out", str(out), "--no-plots", "--set", "depths=[1, 2, 3]",
           "--set", "methods=['hvp_rev_rev', 'gradient']"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        runs = out / "runs.csv"
        if runs.exists() and len(runs.read_text().splitlines()) > 1 + 2 * 3:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the runner and its worker, mid-sweep
    proc.wait()
    partial = pd.read_csv(out / "runs.csv")
    assert 0 < len(partial) < 6 * 3
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    rows = pd.read_csv(out / "runs.csv")
    assert len(rows) == 6 * 3 and len(set(keys(rows))) == len(rows)
    assert finished_points(rows, 3)[0] == set(plan_points(HVPConfig(
        depths=(1, 2, 3), methods=("hvp_rev_rev", "gradient"), width=4)))


def test_memory_guard_skips_dense_points(tmp_path):
    # P = 4*8 + 3*64 + 8 = 232: a P^2 float32 Hessian is 215 kB, an HVP needs a few kB.
    config = HVPConfig(**{**TINY, "depths": (4,), "width": 8, "input_size": 4,
                          "methods": ("hessian_then_hvp", "naive_hvp", "hvp_rev_rev"),
                          "memory_budget_gb": 1e-4})
    summary = pd.read_csv(run_sweep(config, tmp_path / "run", progress=False) / "summary.csv")
    status = dict(zip(summary["method"], summary["status"]))
    assert status == {"hessian_then_hvp": "skipped", "naive_hvp": "skipped", "hvp_rev_rev": "ok"}
    note = summary.set_index("method").loc["naive_hvp", "note"]
    assert note.startswith("predicted needs 0.00 GB > budget 0.00 GB") or "GB > budget" in note


def test_a_dead_worker_fails_its_point_and_the_sweep_goes_on(tmp_path):
    out = run_sweep(HVPConfig(**TINY), tmp_path / "run", progress=False, measure=crash_on_hvp_at_depth_3)
    summary = pd.read_csv(out / "summary.csv").set_index(["depth", "method"])
    assert summary.loc[(3, "hvp_rev_rev"), "status"] == "failed"
    assert "worker process died" in summary.loc[(3, "hvp_rev_rev"), "note"]
    assert summary.loc[(3, "gradient"), "status"] == "ok"  # measured after the crash
    assert (summary["status"] == "ok").sum() == 5


def test_resume_refuses_another_configs_directory(tmp_path):
    out = run_sweep(HVPConfig(**{**TINY, "depths": (1,), "methods": ("gradient",)}), tmp_path / "run",
                    progress=False)
    with pytest.raises(ConfigError, match="holds a run with width=3, this config has width=5"):
        run_sweep(HVPConfig(**{**TINY, "width": 5}), out, progress=False)


@pytest.mark.parametrize(
    "args, match",
    [
        (["--config", "configs/nope.toml"], "config file not found"),
        (["--config", "configs/hvp_smoke.toml", "--set", "widht=3"], "unknown config key 'widht'"),
        (["--config", "configs/hvp_smoke.toml", "--set", "width=three"], "'width' must be an integer"),
        (["--config", "configs/hvp_smoke.toml", "--set", "depths=[0]"], "'depths' must be >= 1"),
        (["--config", "configs/hvp_smoke.toml", "--out", "/proc/version/run"], "cannot write to output"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, match):
    from expkit.cli import run_cli

    with pytest.raises(SystemExit) as info:
        run_cli(main_run, args if "--out" in args else args + ["--out", str(tmp_path / "run")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1 and err.startswith("error:")
    assert not (tmp_path / "run").exists()


def test_unknown_flag_is_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        main_run(["--config", "configs/hvp_smoke.toml", "--frobnicate"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --frobnicate" in err and err.count("\n") == 1


def test_smoke_config_end_to_end(tmp_path, capsys):
    assert main_run(["--config", "configs/hvp_smoke.toml", "--out", str(tmp_path / "smoke")]) == 0
    printed = capsys.readouterr().out
    assert "median time per call (ms)" in printed and "task_timings.png" in printed
    summary = pd.read_csv(tmp_path / "smoke" / "summary.csv")
    assert len(summary) == 2 * 8 and set(summary["status"]) == {"ok"}
    for name in ("task_timings", "hvp_compositions", "compile_times"):
        assert (tmp_path / "smoke" / f"{name}.png").stat().st_size > 10_000


def test_a_failed_point_is_measured_again_on_resume(tmp_path):
    config = HVPConfig(**{**TINY, "depths": (3,), "methods": ("hvp_rev_rev", "gradient")})
    out = run_sweep(config, tmp_path / "run", progress=False, measure=crash_on_hvp_at_depth_3)
    assert "failed" in set(pd.read_csv(out / "runs.csv")["status"])
    run_sweep(config, out, progress=False)
    rows = pd.read_csv(out / "runs.csv")
    assert set(rows["status"]) == {"ok"} and len(rows) == 2 * 3
    assert len(set(keys(rows))) == len(rows)
