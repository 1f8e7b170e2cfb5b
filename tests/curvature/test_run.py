"""curvature.run and scripts/run_curvature.py: results, resume after a kill, bad input, failures."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from curvature import cost
from curvature.run import cli
from tests.helpers.cli_runs import assert_rejected, finish, forget_units, run_in_process
from tests.helpers.tiny_configs import CURVATURE, with_keys

ROOT = Path(__file__).resolve().parents[2]

# Every stage, as few compiles as the pipeline allows: study at 1 layer (P = 272),
# cost sweep at 1 and 2 layers.
TINY = with_keys(CURVATURE, trace_estimators=["hutchinson", "hutchpp"], trace_reps=3,
                 diag_estimators=["hutchinson", "xdiag"],  # xdiag transposes the product
                 cost_depths=[1, 2], cost_routes=["hvp", "lanczos", "dense_hessian", "dense_eigvalsh"],
                 dense_runs=1, cost_trace_hvps=12)


def write_config(tmp_path, text=TINY):
    path = tmp_path / "tiny.toml"
    path.write_text(text)
    return path


def run(argv, capsys):
    return run_in_process(cli, argv, capsys)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("finished")
    config = write_config(tmp)
    return config, finish(cli, config, tmp / "out")


@pytest.mark.slow
def test_a_run_writes_its_results(finished):
    _, out = finished
    names = {p.name for p in out.iterdir()}
    for stem in ("trace_error", "density", "eigen", "cost", "overview"):
        assert {f"{stem}.png", f"{stem}.svg"} <= names
    exact = json.loads((out / "exact.json").read_text())
    assert exact["params"] == 272 and exact["trace"] == pytest.approx(exact["trace_from_eigenvalues"], rel=1e-10)
    trace = pd.read_csv(out / "trace.csv")
    assert len(trace) == 2 * 3 * 3 and np.all(np.isfinite(trace["estimate"]))
    eigen = pd.read_csv(out / "eigen.csv")
    lanczos = eigen[(eigen["method"] == "lanczos") & (eigen["hvps"] == 12) & (eigen["rank"] == 1)]
    assert lanczos["rel_error"].max() < 1e-5  # 12 steps find both ends of a 272 x 272 Hessian
    cost_rows = pd.read_csv(out / "cost.csv")
    dense = cost_rows[cost_rows["route"].str.startswith("dense")]
    assert list(dense["status"]) == ["ok", "ok", "skipped", "skipped"]  # P = 272, then 528 > 300
    checks = pd.read_csv(out / "estimates.csv").set_index(["depth", "quantity"])["value"]
    assert checks[(1, "dense_vs_single")] < 1e-12
    assert max(checks[(d, "matmat_vs_single")] for d in (1, 2)) < 1e-12
    assert max(checks[(d, "fd_vs_single")] for d in (1, 2)) < 1e-6
    summary = json.loads((out / "summary.json").read_text())
    meta = json.loads((out / "meta.json").read_text())
    assert summary["status"] == "ok" and meta["status"] == "ok" and meta["environment"]["jax"]
    assert meta["config"]["init_scale"] == 1.55 and "git_dirty" in meta["environment"]
    assert set(summary["goals"]) >= {"top_k_float64", "slope_hutchinson", "slq_w1"}


@pytest.mark.slow
def test_resume_after_a_kill_redoes_only_what_was_lost(finished, tmp_path, capsys):
    config, done = finished
    out = tmp_path / "killed"
    shutil.copytree(done, out)
    whole = (done / "trace.csv").read_bytes()
    lines = whole.splitlines(keepends=True)
    # Killed inside the last group: two of its three rows, half of the second; eigen.csv never written.
    (out / "trace.csv").write_bytes(b"".join(lines[:-2]) + lines[-2][:9])
    (out / "eigen.csv").unlink()
    forget_units(out, [pd.read_csv(done / "trace.csv")["unit"].iloc[-1], "eigen"])
    status, stdout, _ = run(["--config", config, "--out", out, "--no-plots"], capsys)
    assert status == 0 and "results in" in stdout
    assert (out / "trace.csv").read_bytes() == whole
    assert (out / "eigen.csv").read_bytes() == (done / "eigen.csv").read_bytes()
    assert len(pd.read_csv(out / "cost.csv")) == len(pd.read_csv(done / "cost.csv"))


@pytest.mark.slow
def test_a_failed_route_exits_3_and_is_retried(finished, tmp_path, capsys, monkeypatch):
    config, done = finished
    out = tmp_path / "failing"
    shutil.copytree(done, out)
    frame = pd.read_csv(out / "cost.csv")
    frame[frame["route"] != "lanczos"].to_csv(out / "cost.csv", index=False)
    forget_units(out, frame.loc[frame["route"] == "lanczos", "unit"])

    def broken(*args, **kwargs):
        raise RuntimeError("RESOURCE_EXHAUSTED: pretend")

    monkeypatch.setitem(cost.MATRIX_FREE, "lanczos", broken)
    status, _, err = run(["--config", config, "--out", out, "--no-plots"], capsys)
    assert status == 3 and "failed" in err
    failed = pd.read_csv(out / "cost.csv").query("status == 'failed'")
    assert len(failed) == 2 and failed["note"].str.contains("RESOURCE_EXHAUSTED").all()
    monkeypatch.undo()
    status, _, _ = run(["--config", config, "--out", out, "--no-plots"], capsys)
    assert status == 0
    assert (pd.read_csv(out / "cost.csv").groupby("route").size() == pd.read_csv(done / "cost.csv").groupby("route").size()).all()


@pytest.mark.slow
def test_wrong_values_are_a_status_exit_3_and_are_measured_again(finished, tmp_path, capsys, monkeypatch):
    config, done = finished
    out = tmp_path / "wrong"
    shutil.copytree(done, out)
    frame = pd.read_csv(out / "cost.csv")
    frame[frame["route"] != "hvp"].to_csv(out / "cost.csv", index=False)
    forget_units(out, frame.loc[frame["route"] == "hvp", "unit"])
    real = cost.block_check
    monkeypatch.setattr(cost, "block_check", lambda *a, **k: {**real(*a, **k), "matmat_vs_single": 3e7})
    status, _, err = run(["--config", config, "--out", out, "--no-plots"], capsys)
    assert status == 3 and "wrong values" in err
    wrong = pd.read_csv(out / "cost.csv").query("status == 'wrong'")
    assert set(wrong["route"]) == {"hvp"} and wrong["note"].str.contains("matmat_vs_single = 3e").all()
    monkeypatch.undo()
    status, _, _ = run(["--config", config, "--out", out, "--no-plots"], capsys)
    assert status == 0 and set(pd.read_csv(out / "cost.csv")["status"]) == {"ok", "skipped"}


@pytest.mark.slow  # needs a finished run (34 s)
def test_a_run_made_with_the_retired_gelu_key_still_resumes_and_another_form_is_refused(finished, tmp_path, capsys):
    config, done = finished
    for value, status in (("logistic", 0), ("tanh", 2)):
        out = tmp_path / value
        shutil.copytree(done, out)
        meta = json.loads((out / "meta.json").read_text())
        meta["config"]["gelu"] = value
        (out / "meta.json").write_text(json.dumps(meta))
        code, stdout, err = run(["--config", config, "--out", out, "--no-plots"], capsys)
        assert code == status
        assert ("nothing to do" if status == 0 else "'gelu' is retired") in err


@pytest.mark.parametrize("args, message", [
    (["--set", "widht=3"], "unknown config key 'widht'"),
    (["--set", "width=wide"], "'width' must be an integer"),
    (["--set", "study_depth=100"], "gives P = 25616 > dense_max_params"),
    (["--set", "lanczos_steps=600"], "'lanczos_steps' (600) must be <"),
    (["--set", "trace_budgets=[10]"], "multiples of 6"),
    (["--set", "cost_routes=[\"dense_eigvalsh\"]"], "dense_eigvalsh needs dense_hessian"),
    (["--set", "devices=2", "--set", "batch=2"], "JAX sees 1 device"),
    (["--set", "devices=2"], "must be a multiple of 'devices'"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, args, message):
    assert_rejected(cli, write_config(tmp_path), tmp_path / "out", args, message, capsys)


