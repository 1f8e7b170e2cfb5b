"""The trained-network study through scripts/run_curvature.py: results, figures, resume, bad input."""

import io
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from curvature.run import cli
from curvature.trained_summary import summarize
from curvature.trained_config import TrainedConfig
from tests.helpers.cli_runs import assert_rejected, finish, forget_units, run_in_process

# P = 610, two checkpoints, both matrices: every unit, as few compiles as that allows.
TINY = """
study = "trained"
name = "tiny_trained"
train_images = 60
test_images = 30
hidden = [8]
steps = 30
checkpoints = [0, 30]
checkpoint_names = ["init", "trained"]
log_points = 5
sharpness_lanczos_steps = 8
lanczos_steps = 40
trace_estimators = ["hutchpp"]
trace_hvps = 30
trace_reps = 3
diag_estimators = ["hutchinson"]
diag_hvps = 12
diag_reps = 2
slq_probes = 2
slq_steps = 20
deflate = 4
"""


def run(argv, capsys):
    return run_in_process(cli, argv, capsys)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("trained")
    config = tmp / "tiny.toml"
    config.write_text(TINY)
    return config, finish(cli, config, tmp / "out")


@pytest.mark.slow  # the whole study end to end (about 40 s)
def test_a_run_writes_every_unit_the_summary_and_the_figures(finished):
    _, out = finished
    names = {p.name for p in out.iterdir()}
    for stem in ("spectrum_over_training", "estimates"):
        assert {f"{stem}.png", f"{stem}.svg"} <= names
    for c in ("init", "trained"):
        for m in ("hessian", "ggn"):
            assert {f"spectrum_{c}_{m}.csv", f"slq_{c}_{m}.csv"} <= names
    assert len(pd.read_csv(out / "exact.csv")) == 4 and len(pd.read_csv(out / "trace.csv")) == 4 * 3
    checkpoints = pd.read_csv(out / "checkpoints.csv")
    assert list(checkpoints.columns) == ["index", "init", "trained"] and len(checkpoints) == 610
    summary = json.loads((out / "summary.json").read_text())
    meta = json.loads((out / "meta.json").read_text())
    assert summary["status"] == meta["status"] == "ok" and meta["config"]["study"] == "trained"
    assert summary["model"]["two_over_eta"] == 4.0 and summary["training"]["trained"]["step"] == 30
    assert set(summary["goals"]) == {"top_5_within_1e-6", "trace_intervals_contain_exact",
                                     "deflated_w1_within_tenth_of_best_baseline", "slq_w1_within_tenth_of_best_baseline"}
    assert summary["goals"]["top_5_within_1e-6"]["met"]
    table = pd.read_csv(out / "summary.csv")
    assert len(table) == 4 and (table["w1_point_mass"] > table["deflated_w1"]).all()


@pytest.mark.slow  # the whole study end to end (about 40 s)
def test_quoted_numbers_are_recomputed_from_the_files(finished):
    _, out = finished
    config = TrainedConfig(**{k: tuple(v) if isinstance(v, list) else v
                              for k, v in json.loads((out / "meta.json").read_text())["config"].items()})
    summary, table = summarize(out, config)
    assert summary == json.loads((out / "summary.json").read_text())
    pd.testing.assert_frame_equal(table, pd.read_csv(out / "summary.csv"), check_dtype=False)


@pytest.mark.slow  # the whole study end to end (about 40 s)
def test_resume_redoes_only_the_units_a_kill_lost(finished, tmp_path, capsys):
    config, done = finished
    out = tmp_path / "killed"
    shutil.copytree(done, out)
    # Killed while writing the last SLQ unit (its file never renamed into place) and
    # inside the second trace group.
    (out / "slq_trained_ggn.csv").unlink()
    lines = (done / "trace.csv").read_bytes().splitlines(keepends=True)
    (out / "trace.csv").write_bytes(b"".join(lines[:5]) + lines[5][:6])
    # The driver's ledger lists a unit after all its rows: the units cut short are not on it.
    whole, kept = pd.read_csv(done / "trace.csv")["unit"], pd.read_csv(io.BytesIO(b"".join(lines[:5])))["unit"]
    forget_units(out, ["trained/ggn/slq", *[u for u in whole.unique() if (kept == u).sum() < (whole == u).sum()]])
    meta = json.loads((out / "meta.json").read_text())
    meta.update(status="interrupted", finished=None)
    (out / "meta.json").write_text(json.dumps(meta))
    status, stdout, err = run(["--config", config, "--out", out, "--no-plots"], capsys)
    assert status == 0 and "resuming" in err and "results in" in stdout
    for name in ("trace.csv", "slq_trained_ggn.csv", "slq.csv"):
        before, after = pd.read_csv(done / name), pd.read_csv(out / name)
        sort = [c for c in ("checkpoint", "matrix", "estimator", "rep") if c in before]
        before, after = (f.sort_values(sort).reset_index(drop=True) if sort else f for f in (before, after))
        pd.testing.assert_frame_equal(after.drop(columns=["seconds", "slq_s", "deflated_slq_s"], errors="ignore"),
                                      before.drop(columns=["seconds", "slq_s", "deflated_slq_s"], errors="ignore"))
    assert (out / "training.csv").read_bytes() == (done / "training.csv").read_bytes()  # not retrained


@pytest.mark.parametrize("args, message", [
    (["--set", "hiden=[8]"], "unknown config key 'hiden' (did you mean 'hidden'?)"),
    (["--set", "checkpoints=[0, 40]"], "must lie in [0, steps = 30]"),
    (["--set", "trace_hvps=20"], "multiple of 6"),
    (["--set", "matrices=[\"fisher\"]"], "'matrices' must be names from"),
    (["--set", "study=other"], "'study' must be one of 'task', 'trained'"),
    (["--set", "devices=2"], "JAX sees 1 device"),
    (["--set", "devices=7"], "must be a multiple of 'devices'"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, args, message):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    assert_rejected(cli, config, tmp_path / "out", args, message, capsys)


def test_the_shipped_configs_load():
    from curvature.config import load

    reference = load("configs/curvature_trained.toml")
    smoke = load("configs/curvature_trained_smoke.toml")
    assert isinstance(reference, TrainedConfig) and reference.params == 5962
    assert reference.checkpoint_names == ("init", "early", "converged") and smoke.params == 910
    assert np.isclose(2 / reference.learning_rate, 4.0)
