"""The runner end to end: resume after a kill, the memory and compile budgets, a worker
that dies or hangs, exit statuses, no orphans, bad input."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from expkit.cli import run_cli
from expkit.config import ConfigError
from expkit.worker import report
from hvp_bench.cli import main_bench, main_run
from hvp_bench.config import FLOOR_METHOD, HVPConfig
from hvp_bench.measure import measure_shape
from hvp_bench.rundir import COLUMNS
from hvp_bench.sweep import Point, depth_skip, finished_points, plan_points, run_sweep

ROOT = Path(__file__).resolve().parents[2]
TINY = dict(name="tiny", depths=(1, 3), width=3, input_size=2, num_runs=3, warmup=1, device="cpu",
            methods=("naive_hvp", "hvp_rev_rev", "gradient"))
POINTS_PER_SHAPE = 4  # three methods and the dispatch floor


def keys(frame):
    return list(zip(frame["depth"], frame["width"], frame["variant"], frame["method"], frame["run_index"]))


def crash_on_hvp_at_depth_3(config, depth, width, todo, budget, repeat=0):
    """Kills its worker while on hvp_rev_rev at depth 3, as the OOM killer would."""
    if depth == 3 and ("scan", "hvp_rev_rev") in todo:
        report(("scan", "hvp_rev_rev"))
        os._exit(137)
    return measure_shape(config, depth, width, todo, budget, repeat)


def wrong_hvp_at_depth_3(config, depth, width, todo, budget, repeat=0):
    """Measures, then calls hvp_rev_rev's values wrong at depth 3, as a failed value check would."""
    rows = measure_shape(config, depth, width, todo, budget, repeat)
    for row in rows:
        if depth == 3 and row["method"] == "hvp_rev_rev":
            row.update(status="wrong", max_rel_error=2.0, note="wrong values: pretend")
    return rows


def hang_on_hvp_at_depth_3(config, depth, width, todo, budget, repeat=0):
    """Hangs while on hvp_rev_rev at depth 3."""
    if depth == 3 and ("scan", "hvp_rev_rev") in todo:
        report(("scan", "hvp_rev_rev"))
        time.sleep(3600)
    return measure_shape(config, depth, width, todo, budget, repeat)


def test_plan_points_depth_then_width_sweep_each_with_the_floor():
    config = HVPConfig(depths=(1, 2), width=3, widths=(3, 5), width_depth=2, methods=("gradient",),
                       variants=("unrolled", "scan"))
    shapes = [(1, 3), (2, 3), (2, 5)]
    assert plan_points(config) == [Point(d, w, f, m) for d, w in shapes for f in ("unrolled", "scan")
                                   for m in ("gradient", FLOOR_METHOD)]


def test_a_points_cost_grows_with_depth_and_a_dense_methods_with_its_square():
    # The progress bar's weights: the deep points, which come last, must not look as cheap as the first.
    hvp = [Point(d, 4, "homework", "hvp_fwd_rev").cost for d in (50, 100, 1000)]
    dense = [Point(d, 4, "homework", "hessian_then_hvp").cost for d in (50, 100, 1000)]
    assert hvp == [2.0, 3.0, 21.0] and dense == [2.0, 5.0, 401.0]


@pytest.mark.slow
def test_sweep_writes_rows_summary_and_meta(tmp_path):
    out = run_sweep(HVPConfig(**TINY), tmp_path / "run", progress=False)
    rows = pd.read_csv(out / "runs.csv")
    assert list(rows.columns) == COLUMNS
    assert len(rows) == 2 * POINTS_PER_SHAPE * 3 and set(rows["status"]) == {"ok"}
    assert set(rows["backend"]) == {"cpu"} and set(rows["variant"]) == {"scan"}
    assert rows["finite"].all() and (rows["time_s"] > 0).all()
    assert rows.loc[rows["depth"] == 3, "params"].iloc[0] == 2 * 3 + 2 * 9 + 3
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 2 * POINTS_PER_SHAPE and (summary["runs"] == 3).all()
    meta = (out / "meta.json").read_text()
    assert '"finished": "20' in meta and '"jax":' in meta and '"matmul_precision": "highest"' in meta
    assert '"jax_platforms": "cpu"' in meta and '"git_dirty":' in meta


@pytest.mark.slow
def test_resume_after_a_partial_write_loses_and_duplicates_nothing(tmp_path):
    config = HVPConfig(**TINY)
    out = run_sweep(config, tmp_path / "run", progress=False)
    full = pd.read_csv(out / "runs.csv")
    # What a kill mid-append leaves: the last shape's rows cut, a partial line.
    text = (out / "runs.csv").read_text().splitlines(keepends=True)
    (out / "runs.csv").write_text("".join(text[:-2]) + text[-2][:7])
    run_sweep(config, out, progress=False)
    resumed = pd.read_csv(out / "runs.csv")
    assert sorted(keys(resumed)) == sorted(keys(full))
    assert len(set(keys(resumed))) == len(resumed)
    # The finished shape was kept, not measured again.
    pd.testing.assert_frame_equal(resumed[resumed["depth"] == 1].reset_index(drop=True),
                                  full[full["depth"] == 1].reset_index(drop=True))


def run_command(out, *extra):
    return [sys.executable, str(ROOT / "scripts/run_hvp.py"), "--config", "configs/hvp_smoke.toml",
            "--out", str(out), "--no-plots", "--set", "depths=[1, 2, 3]",
            "--set", "methods=['hvp_rev_rev', 'gradient']", *extra]


def wait_for_rows(path: Path, rows: int, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists() and len(path.read_text().splitlines()) > rows:
            return
        time.sleep(0.05)
    raise TimeoutError(f"{path} never had {rows} rows")


def children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    return [int(c) for t in tasks.iterdir() for c in (t / "children").read_text().split()]


def alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()


@pytest.mark.slow
def test_kill_9_of_the_runner_leaves_no_worker_and_the_rerun_resumes(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(run_command(out), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_rows(out / "runs.csv", 3 * 3)  # the first shape is in
    workers = children(proc.pid)
    assert workers, "the runner measures in a worker process"
    os.kill(proc.pid, signal.SIGKILL)  # the runner alone: its worker must go by itself
    proc.wait()
    deadline = time.monotonic() + 5
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(w) for w in workers), "a worker outlived the killed runner"
    partial = pd.read_csv(out / "runs.csv")
    assert 0 < len(partial) < 3 * 3 * 3
    subprocess.run(run_command(out), cwd=ROOT, check=True, capture_output=True)
    rows = pd.read_csv(out / "runs.csv")
    assert len(rows) == 3 * 3 * 3 and len(set(keys(rows))) == len(rows)


@pytest.mark.slow
def test_memory_guard_skips_dense_points_and_a_raised_budget_measures_them(tmp_path):
    # P = 4*8 + 3*64 + 8 = 232: a P^2 float32 Hessian is 215 kB, an HVP needs a few kB.
    small = dict(TINY, depths=(4,), width=8, input_size=4, methods=("hessian_then_hvp", "naive_hvp", "hvp_rev_rev"))
    out = run_sweep(HVPConfig(**small, memory_budget_gb=1e-4), tmp_path / "run", progress=False)
    summary = pd.read_csv(out / "summary.csv").set_index("method")
    assert summary["status"].to_dict() == {"dispatch_floor": "ok", "hessian_then_hvp": "skipped",
                                           "naive_hvp": "skipped", "hvp_rev_rev": "ok"}
    assert "GB > budget 0.00 GB" in summary.loc["naive_hvp", "note"]
    run_sweep(HVPConfig(**small, memory_budget_gb=1e-4), out, progress=False)  # same budget: still skipped
    assert (pd.read_csv(out / "summary.csv")["status"] == "skipped").sum() == 2
    run_sweep(HVPConfig(**small, memory_budget_gb=1.0), out, progress=False)  # raised: measured now
    assert set(pd.read_csv(out / "summary.csv")["status"]) == {"ok"}


@pytest.mark.slow
def test_the_compile_budget_skips_deeper_depths_until_it_is_raised(tmp_path):
    config = HVPConfig(**dict(TINY, methods=("gradient",), compile_budget_s=1e-6))
    out = run_sweep(config, tmp_path / "run", progress=False)
    summary = pd.read_csv(out / "summary.csv").set_index(["depth", "method"])
    assert summary.loc[(1, "gradient"), "status"] == "ok"  # compiled, too slowly for the budget
    assert summary.loc[(3, "gradient"), "status"] == "skipped"
    assert "skipped after depth 1, where it took" in summary.loc[(3, "gradient"), "note"]
    run_sweep(HVPConfig(**dict(TINY, methods=("gradient",))), out, progress=False)
    assert set(pd.read_csv(out / "summary.csv")["status"]) == {"ok"}


@pytest.mark.slow
def test_a_dead_worker_fails_its_point_and_the_sweep_goes_on(tmp_path):
    out = run_sweep(HVPConfig(**TINY), tmp_path / "run", progress=False, measure=crash_on_hvp_at_depth_3)
    summary = pd.read_csv(out / "summary.csv").set_index(["depth", "method"])
    assert summary.loc[(3, "hvp_rev_rev"), "status"] == "failed"
    assert "worker process died" in summary.loc[(3, "hvp_rev_rev"), "note"]
    assert summary.loc[(3, "gradient"), "status"] == "ok"  # its shape-mates, measured again
    assert (summary["status"] == "ok").sum() == 2 * POINTS_PER_SHAPE - 1


@pytest.mark.slow
def test_a_hung_point_times_out_and_the_sweep_goes_on(tmp_path):
    config = HVPConfig(**TINY, point_timeout_s=8.0)
    start = time.monotonic()
    out = run_sweep(config, tmp_path / "run", progress=False, measure=hang_on_hvp_at_depth_3)
    assert time.monotonic() - start < 120
    summary = pd.read_csv(out / "summary.csv").set_index(["depth", "method"])
    assert summary.loc[(3, "hvp_rev_rev"), "status"] == "timeout"
    assert "time limit of 8 s" in summary.loc[(3, "hvp_rev_rev"), "note"]
    assert (summary["status"] == "ok").sum() == 2 * POINTS_PER_SHAPE - 1


@pytest.mark.slow
def test_failed_points_are_measured_again_on_resume(tmp_path):
    config = HVPConfig(**{**TINY, "depths": (3,), "methods": ("hvp_rev_rev", "gradient")})
    out = run_sweep(config, tmp_path / "run", progress=False, measure=crash_on_hvp_at_depth_3)
    assert "failed" in set(pd.read_csv(out / "runs.csv")["status"])
    run_sweep(config, out, progress=False)
    rows = pd.read_csv(out / "runs.csv")
    assert set(rows["status"]) == {"ok"} and len(rows) == 3 * 3
    assert len(set(keys(rows))) == len(rows)


@pytest.mark.slow
def test_wrong_points_are_named_and_measured_again_on_resume(tmp_path):
    from hvp_bench.rundir import load_run, summarize_runs
    from hvp_bench.sweep import failures

    config = HVPConfig(**{**TINY, "depths": (3,), "methods": ("hvp_rev_rev", "gradient")})
    out = run_sweep(config, tmp_path / "run", progress=False, measure=wrong_hvp_at_depth_3)
    message = failures(summarize_runs(load_run(out)[0]))
    assert message.startswith("1 point(s)") and "hvp_rev_rev (scan) at depth 3, width 3: wrong" in message
    run_sweep(config, out, progress=False)
    rows = pd.read_csv(out / "runs.csv")
    assert set(rows["status"]) == {"ok"} and len(rows) == 3 * 3
    assert rows.loc[rows["method"] == "hvp_rev_rev", "max_rel_error"].max() < 1e-5


def test_runs_written_before_the_value_check_read_as_unchecked_in_the_variants_gelu(tmp_path):
    from hvp_bench.rundir import load_run

    old = [c for c in COLUMNS if c not in ("gelu", "max_rel_error")]
    rows = [dict(depth=1, width=3, variant=v, method="hvp_fwd_rev", run_index=0, status="ok", time_s=1e-3)
            for v in ("scan-k16", "scan-exact", "torch")]
    pd.DataFrame(rows, columns=old).to_csv(tmp_path / "runs.csv", index=False)
    runs, _ = load_run(tmp_path)
    assert list(runs["gelu"]) == ["tanh", "exact", "tanh"] and runs["max_rel_error"].isna().all()


@pytest.mark.slow
def test_a_run_with_failures_exits_3_after_writing_everything(tmp_path, capsys):
    # A limit no shape can meet: every point times out, is recorded, and the run says so.
    args = ["--config", "configs/hvp_smoke.toml", "--out", str(tmp_path / "run"), "--no-plots",
            "--set", "depths=[2]", "--set", "methods=['gradient']", "--set", "point_timeout_s=0.001"]
    with pytest.raises(SystemExit) as info:
        run_cli(main_run, args)
    assert info.value.code == 3
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: 2 point(s) failed, timed out or gave wrong values") and "re-run the same command" in err
    summary = pd.read_csv(tmp_path / "run" / "summary.csv")
    assert set(summary["status"]) == {"timeout"}
    assert '"finished": "20' in (tmp_path / "run" / "meta.json").read_text()


def test_finished_points_keeps_ok_and_still_too_big_skips():
    rows = pd.DataFrame([
        *[dict(depth=1, width=3, variant="scan", method="gradient", status="ok", run_index=i, note="") for i in range(2)],
        dict(depth=1, width=3, variant="scan", method="naive_hvp", status="skipped", predicted_bytes=500,
             compiled_bytes=0, note="predicted needs 0.00 GB > budget 0.00 GB"),
        dict(depth=1, width=3, variant="scan", method="hvp_rev_rev", status="timeout", note="time limit"),
        *[dict(depth=1, width=3, variant="scan", method="hvp_fwd_rev", status="wrong", run_index=i, note="wrong values")
          for i in range(2)],
    ])
    done, kept = finished_points(rows, num_runs=2, budget_bytes=100)
    assert done == {Point(1, 3, "scan", "gradient"), Point(1, 3, "scan", "naive_hvp")}
    assert len(kept) == 3
    done, _ = finished_points(rows, num_runs=2, budget_bytes=1000)  # the skip fits now
    assert done == {Point(1, 3, "scan", "gradient")}


@pytest.mark.slow
def test_resume_refuses_another_configs_directory(tmp_path):
    out = run_sweep(HVPConfig(**{**TINY, "depths": (1,), "methods": ("gradient",)}), tmp_path / "run",
                    progress=False)
    with pytest.raises(ConfigError, match="holds a run with width=3, this config has width=5"):
        run_sweep(HVPConfig(**{**TINY, "width": 5}), out, progress=False)
    with pytest.raises(ConfigError, match="matmul_precision='highest', this config has matmul_precision='default'"):
        run_sweep(HVPConfig(**{**TINY, "matmul_precision": "default"}), out, progress=False)


@pytest.mark.slow
def test_a_device_that_is_not_there_is_one_line_and_nothing_is_written(tmp_path):
    with pytest.raises(ConfigError, match="cannot start JAX on device 'gpu'"):
        run_sweep(HVPConfig(**{**TINY, "device": "gpu"}), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "args, match",
    [
        (["--config", "configs/hvp_smoke.toml", "--set", "width=three"], "'width' must be an integer"),
        (["--config", "configs/hvp_smoke.toml", "--set", "depths=[0]"], "'depths' must be >= 1"),
        (["--config", "configs/hvp_smoke.toml", "--set", "point_timeout_s=-1"], "'point_timeout_s' must be >= 0"),
        (["--config", "configs/hvp_smoke.toml", "--set", "variants=['loop']"], "variant 'loop' must start with"),
        (["--config", "configs/hvp_smoke.toml", "--set", "xla_flags=--xla_no_such_flag=1"],
         "cannot start JAX on device 'cpu' with xla_flags='--xla_no_such_flag=1'"),
        (["--config", "configs/hvp_smoke.toml", "--set", "matmul_precision=tf32"], "'matmul_precision' must be one of"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, match):
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


@pytest.mark.slow
@pytest.mark.parametrize("main", [main_run, main_bench])
def test_device_flag_overrides_the_config(tmp_path, capsys, main):
    # --device gpu on a CPU-only host must reach the worker and fail there, before
    # anything is timed (the GPU job, scripts/gpu_runs.sh, relies on the flag).
    with pytest.raises(SystemExit) as info:
        run_cli(main, ["--config", "configs/hvp_smoke.toml", "--device", "gpu", "--out", str(tmp_path / "run")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "device 'gpu'" in err and err.count("\n") == 1


@pytest.mark.slow
def test_smoke_config_end_to_end(tmp_path, capsys):
    assert main_run(["--config", "configs/hvp_smoke.toml", "--out", str(tmp_path / "smoke")]) == 0
    printed = capsys.readouterr().out
    assert "median time per call (ms)" in printed and "task_timings.png" in printed
    summary = pd.read_csv(tmp_path / "smoke" / "summary.csv")
    assert len(summary) == 2 * 9 and set(summary["status"]) == {"ok"}
    for name in ("task_timings", "hvp_compositions", "compile_times"):
        assert (tmp_path / "smoke" / f"{name}.png").stat().st_size > 10_000


def test_repeats_plan_every_point_once_per_repeat_later_repeats_in_a_shuffled_order():
    config = HVPConfig(depths=tuple(range(1, 9)), width=3, methods=("gradient",), repeats=3)
    points = plan_points(config)
    assert len(points) == 3 * 8 * 2 and len(set(points)) == len(points)
    order = {r: list(dict.fromkeys(p.depth for p in points if p.repeat == r)) for r in range(3)}
    assert order[0] == list(range(1, 9))  # depth order: the compile budget skips deeper depths
    assert sorted(order[1]) == sorted(order[2]) == order[0] and order[1] != order[0] and order[2] != order[1]
    assert [p.repeat for p in points] == sorted(p.repeat for p in points)  # one repeat after another
    assert plan_points(config) == points  # drawn from the seed: the same on resume


def test_finished_points_and_depth_skips_are_per_repeat():
    ok = [dict(depth=1, width=3, variant="scan", method="gradient", status="ok", run_index=i, note="", repeat=0,
               predicted_bytes=0, compiled_bytes=0, compile_s=0.1) for i in range(2)]
    lost = dict(depth=2, width=3, variant="scan", method="gradient", status="timeout", note="time limit", repeat=0)
    rows = pd.DataFrame([*ok, lost])
    done, kept = finished_points(rows, num_runs=2, budget_bytes=100)
    assert done == {Point(1, 3, "scan", "gradient", 0)} and len(kept) == 2
    config = HVPConfig(depths=(1, 2, 3), width=3, methods=("gradient",), repeats=2)
    assert depth_skip(rows, config, Point(2, 3, "scan", "gradient", 0)) is None  # measured again on resume
    assert "skipped after depth 2" in depth_skip(rows, config, Point(2, 3, "scan", "gradient", 1))
    assert "skipped after depth 2" in depth_skip(rows, config, Point(3, 3, "scan", "gradient", 0))
    assert depth_skip(rows, config, Point(1, 3, "scan", "gradient", 1)) is None


@pytest.mark.slow
def test_a_repeated_study_measures_each_repeat_in_fresh_workers_and_a_raised_count_adds_repeats(tmp_path):
    seen = tmp_path / "pids"
    config = HVPConfig(**{**TINY, "methods": ("gradient",), "repeats": 1})
    out = run_sweep(config, tmp_path / "run", progress=False, measure=f"{__name__}:measure_noting_pid")
    # The committed runs before repeats existed had no repeat column: resuming one upgrades it.
    old = pd.read_csv(out / "runs.csv").drop(columns="repeat")
    old.to_csv(out / "runs.csv", index=False)
    first = pd.read_csv(out / "runs.csv")
    os.environ["HVP_TEST_PIDS"] = str(seen)
    try:
        run_sweep(HVPConfig(**{**TINY, "methods": ("gradient",), "repeats": 3}), out, progress=False,
                  measure=f"{__name__}:measure_noting_pid")
    finally:
        del os.environ["HVP_TEST_PIDS"]
    rows = pd.read_csv(out / "runs.csv")
    assert list(rows.columns) == COLUMNS
    assert rows.groupby("repeat").size().to_dict() == {0: 2 * 2 * 3, 1: 2 * 2 * 3, 2: 2 * 2 * 3}
    pd.testing.assert_frame_equal(rows[rows["repeat"] == 0].drop(columns="repeat").reset_index(drop=True),
                                  first.drop(columns=[c for c in ["repeat"] if c in first]).reset_index(drop=True))
    pids = {}
    for line in seen.read_text().split():
        repeat, pid = line.split(":")
        pids.setdefault(int(repeat), set()).add(pid)
    assert set(pids) == {1, 2} and all(len(p) == 1 for p in pids.values()) and pids[1] != pids[2]
    summary = pd.read_csv(out / "summary.csv")
    assert (summary["repeats"] == 3).all() and (summary["runs"] == 9).all()


def measure_noting_pid(config, depth, width, todo, budget, repeat=0):
    """measure_shape, noting which process measured which repeat."""
    if path := os.environ.get("HVP_TEST_PIDS"):
        with open(path, "a") as f:
            f.write(f"{repeat}:{os.getpid()}\n")
    return measure_shape(config, depth, width, todo, budget, repeat)
