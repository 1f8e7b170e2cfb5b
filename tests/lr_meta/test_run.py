"""lr_meta.run and scripts/run_lr_meta.py: bad input, results, resume, divergence."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lr_meta import closed_form
from lr_meta.run import EXIT_DIVERGED, cli
from tests.helpers.cli_runs import assert_rejected, finish, run_in_process, snapshot
from tests.helpers.tiny_configs import HORIZON, LR_META, TRAINING, with_keys

ROOT = Path(__file__).resolve().parents[2]

# Small but complete: 4 steps on dim 20; chunk_rows 3 does not divide the 12 rows, so
# the last chunk is cut and a resume starts mid-chunk.
TINY = with_keys(LR_META, beta_sweep=[0.05, 10.0])  # beta 10 diverges: the divergence test


def write_config(tmp_path, text=TINY, name="tiny.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def run(argv, capsys):
    return run_in_process(cli, argv, capsys)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One uninterrupted run of TINY, shared by the tests that read its results."""
    tmp = tmp_path_factory.mktemp("finished")
    config = write_config(tmp)
    return config, finish(cli, config, tmp / "out")


@pytest.mark.slow
def test_a_run_writes_its_results(finished):
    _, out = finished
    names = {p.name for p in out.iterdir()}
    for stem in ("meta_loss", "alpha", "quadratic", "beta_sweep"):
        assert {f"{stem}.png", f"{stem}.svg"} <= names
    assert {"trajectory.csv", "summary.json", "certificate.json", "meta.json", "beta_sweep.csv", "beta_sweep_curves.csv",
            "quadratic_table.csv", "quadratic_curves.csv"} <= names
    frame = pd.read_csv(out / "trajectory.csv")
    assert list(frame.columns) == ["unit", "step", "loss", "grad_norm", "alpha_0", "alpha_1", "alpha_2", "alpha_3"]
    np.testing.assert_array_equal(frame["step"], np.arange(0, 61, 5))
    summary = json.loads((out / "summary.json").read_text())
    meta = json.loads((out / "meta.json").read_text())
    assert summary["status"] == "ok" and meta["status"] == "ok" and "finished" in meta
    assert meta["config"]["dim"] == 20 and meta["environment"]["jax"]
    # The log's α reproduces its loss (closed form): the CSV holds full precision.
    from lr_meta.problem import draw_x0
    x0 = draw_x0(0, 20)
    alphas = frame.filter(like="alpha_").to_numpy()
    np.testing.assert_allclose(frame["loss"], [closed_form.loss(a, x0) for a in alphas], rtol=1e-13)
    assert summary["loss_before"] / summary["loss_after"] > 100
    # Transfer: the ratio L(α*)/L(α0) is the same for every x0 (it is ∏((1−α*)/(1−α0))²).
    assert summary["transfer"]["ratio_max_rel_deviation"] < 1e-12
    sweep = pd.read_csv(out / "beta_sweep.csv")
    assert list(sweep["status"]) == ["ok", "diverged", "ok", "diverged"]
    assert np.all(np.isfinite(sweep["loss"]))


@pytest.mark.slow
def test_resume_after_a_kill_reproduces_the_uninterrupted_run(finished, tmp_path, capsys):
    config, done = finished
    out = tmp_path / "killed"
    shutil.copytree(done, out)
    whole = (done / "trajectory.csv").read_bytes()
    lines = whole.splitlines(keepends=True)
    # A kill leaves 5 whole rows of 13 and half of the sixth; derived files are stale. The driver's
    # ledger lists a unit after all its rows, so it holds the units before the one cut.
    (out / "trajectory.csv").write_bytes(b"".join(lines[:6]) + lines[6][:17])
    kept = pd.read_csv(out / "trajectory.csv")["unit"].unique()[:-1]
    ledger = pd.read_csv(out / "units.csv")
    ledger[ledger["unit"].isin(kept)].to_csv(out / "units.csv", index=False)
    meta = json.loads((out / "meta.json").read_text())
    meta["status"] = "running"
    (out / "meta.json").write_text(json.dumps(meta))
    for name in ("summary.json", "certificate.json", "alpha.png"):
        (out / name).unlink()
    status, _, _ = run(["--config", config, "--out", out], capsys)
    assert status == 0
    assert (out / "trajectory.csv").read_bytes() == whole
    for name in ("summary.json", "certificate.json"):
        assert (out / name).read_bytes() == (done / name).read_bytes()
    assert json.loads((out / "meta.json").read_text())["status"] == "ok"


@pytest.mark.slow
def test_a_run_cut_after_its_last_step_redoes_no_finished_stage(finished, tmp_path, capsys, monkeypatch):
    config, done = finished
    out = tmp_path / "cut"
    shutil.copytree(done, out)
    meta = json.loads((out / "meta.json").read_text())
    meta.update(status="running", finished=None)  # killed while the summary and figures were written
    (out / "meta.json").write_text(json.dumps(meta))
    for name in ("summary.json", "alpha.png"):
        (out / name).unlink()
    import lr_meta.task_study as runner

    def redone(*args, **kwargs):
        raise AssertionError("a finished stage was computed again")

    for name in ("certificate", "quadratic_study"):
        monkeypatch.setattr(runner, name, redone)
    monkeypatch.setattr(runner.beta_sweep, "sweep", redone)
    status, _, _ = run(["--config", config, "--out", out], capsys)
    assert status == 0
    assert json.loads((out / "summary.json").read_text()) == json.loads((done / "summary.json").read_text())
    assert (out / "alpha.png").is_file()


@pytest.mark.parametrize("args, message", [
    (["--set", "dimm=3"], "unknown config key 'dimm'"),
    (["--set", "dim=ten"], "'dim' must be an integer"),
    (["--set", "dim=0"], "'dim' must be >= 1"),
    (["--set", "horizon=0"], "'horizon' must be >= 1"),
    (["--set", "beta=0"], "'beta' must be > 0"),
    (["--set", "beta=-1"], "'beta' must be > 0"),
    (["--set", "beta"], "--set expects key=value"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, args, message):
    assert_rejected(cli, write_config(tmp_path), tmp_path / "out", args, message, capsys)


def test_divergence_is_reported_not_written_as_nan(tmp_path, capsys):
    config = write_config(tmp_path)
    out = tmp_path / "out"
    status, _, err = run(["--config", config, "--out", out, "--set", "beta=10"], capsys)
    assert status == EXIT_DIVERGED
    assert "diverged" in err and "beta=10" in err.replace(" ", "")
    frame = pd.read_csv(out / "trajectory.csv")
    assert np.all(np.isfinite(frame.drop(columns="unit").to_numpy()))
    assert json.loads((out / "summary.json").read_text())["status"] == "diverged"
    assert json.loads((out / "meta.json").read_text())["status"] == "diverged"
    assert not (out / "certificate.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize("text, logs, figure", [(HORIZON, ["points.csv"], "horizon"),
                                                 (TRAINING, ["results.csv", "norms.csv"], "training")],
                         ids=["horizon", "training"])
def test_the_long_studies_write_their_results(tmp_path, capsys, text, logs, figure):
    # Resume after a kill and refusing another config: tests/test_runners.py, for every runner.
    config = write_config(tmp_path, text)
    out = tmp_path / "out"
    status, stdout, _ = run(["--config", config, "--out", out], capsys)
    assert status == 0 and "results in" in stdout
    assert {f"{figure}.png", f"{figure}.svg", "summary.json", "meta.json", *logs} <= {p.name for p in out.iterdir()}
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "ok" and meta["config"]["study"] == figure and meta["environment"]["jax"]
    summary = json.loads((out / "summary.json").read_text())
    if figure == "horizon":  # 3 methods x 2 horizons, then K = 1 at T = 25; all equal the closed form
        assert len(pd.read_csv(out / "points.csv")) == 9
        assert summary["goals"]["agree"] and summary["goals"]["max_rel_err_closed_form"] < 1e-12
    else:
        assert set(summary["by_horizon"]["8"]) == set(pd.read_csv(out / "results.csv")["schedule"])


@pytest.mark.slow  # needs a finished run (12 s); the runner contract checks the same in the quick tier
def test_an_out_dir_of_another_study_is_refused(finished, capsys):
    _, out = finished
    before = snapshot(out)
    status, _, err = run(["--config", write_config(out.parent, HORIZON, "h.toml"), "--out", out], capsys)
    assert status == 2 and err.count("\n") == 1 and err.startswith("error:")
    assert snapshot(out) == before


@pytest.mark.parametrize("args, message", [
    (["--set", "study=sideways"], "'study' must be one of"),
    (["--set", "study=horizon", "--set", "knots=0"], "'knots' must be >= 1"),
    (["--set", "study=training", "--set", "l2=0"], "'l2' must be > 0"),
    (["--set", "study=training", "--set", "horizons=[1, 2]", "--set", "knots=3"], "must not exceed any horizon"),
])
def test_bad_input_of_the_new_studies_exits_2_and_writes_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    status, stdout, err = run(["--config", write_config(tmp_path, 'name = "x"\n'), "--out", out, *args], capsys)
    assert status == 2 and stdout == ""
    assert err.count("\n") == 1 and err.startswith("error:") and message in err
    assert not out.exists()
