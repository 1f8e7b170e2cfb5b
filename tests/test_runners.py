"""The runner contract, the same for every runner: one lifecycle (expkit.lifecycle), bad input
exits 2 with one line and writes nothing, another config's directory is refused, a run cut
short resumes and says how much is left, a finished run says so and changes nothing.

Each runner's own behaviour (what it measures, its failures) is tested beside it.
"""

import ast
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from expkit.headlines import DRIVER_RUNS
from tests.helpers.cli_runs import forget_units, run_in_process, snapshot
from tests.helpers.tiny_configs import (BLOCKS, CURVATURE, CURVATURE_TRAINED, DENSITY, HORIZON, HVP, HVP_MODELS,
                                        HVP_PROGRAMS, LR_META, TRAINING, XLA_FAULT, XTRACE_BIAS)

ROOT = Path(__file__).resolve().parents[1]

def _cli(name: str):
    from curvature.accuracy_run import cli as curvature_density
    from curvature.blocks import cli as blocks
    from curvature.run import cli as curvature
    from curvature.xtrace_bias import cli as xtrace_bias
    from hvp_bench.cli import run as hvp
    from hvp_bench.programs import cli as hvp_programs
    from hvp_bench.xla_fault import cli as xla_fault
    from hvp_models.study import cli as hvp_models
    from lr_meta.run import cli as lr_meta

    return {"hvp": hvp, "lr_meta": lr_meta, "curvature": curvature, "curvature_density": curvature_density,
            "xtrace_bias": xtrace_bias, "blocks": blocks, "hvp_models": hvp_models,
            "hvp_programs": hvp_programs, "xla_fault": xla_fault}[name]


# runner id -> (console command's module, config text, the log a kill cuts, its row key,
# whether the run computes in float64)
RUNNERS = {
    "hvp-run": ("hvp", HVP, "runs.csv", ["depth", "variant", "method", "run_index"], False),
    "lr-meta": ("lr_meta", LR_META, "trajectory.csv", ["step"], True),
    "lr-meta-horizon": ("lr_meta", HORIZON, "points.csv", ["method", "horizon", "knots"], True),
    "lr-meta-training": ("lr_meta", TRAINING, "norms.csv", ["horizon", "multiple"], True),
    "curvature": ("curvature", CURVATURE, "trace.csv", ["estimator", "hvps", "rep"], True),
    "curvature-trained": ("curvature", CURVATURE_TRAINED, "trace.csv", ["checkpoint", "matrix", "estimator", "rep"],
                          True),
    "curvature-density": ("curvature_density", DENSITY, "errors.csv",
                          ["matrix", "dtype", "estimator", "seed", "probes", "group", "steps"], True),
    "curvature-xtrace-bias": ("xtrace_bias", XTRACE_BIAS, "xtrace_bias.csv", ["resphering", "rep"], True),
    "curvature-blocks": ("blocks", BLOCKS, "times.csv", ["depth", "route", "setup", "run"], True),
    "hvp-models": ("hvp_models", HVP_MODELS, "rounds.csv", ["model", "batch", "repeat", "round", "method"], False),
    "hvp-programs": ("hvp_programs", HVP_PROGRAMS, "programs.csv", ["variant", "method", "depth"], False),
    "hvp-xla-fault": ("xla_fault", XLA_FAULT, "deep.csv", ["depth", "gelu", "route"], True),
}


def run(runner: str, argv, capsys):
    return run_in_process(_cli(RUNNERS[runner][0]), argv, capsys)


@pytest.fixture(scope="module", params=list(RUNNERS))
def finished(request, tmp_path_factory):
    """(runner, config path, run directory) of one uninterrupted run of each runner."""
    runner = request.param
    tmp = tmp_path_factory.mktemp(runner)
    config = tmp / "config.toml"
    config.write_text(RUNNERS[runner][1])
    status, _, err = run_in_process(_cli(RUNNERS[runner][0]), ["--config", config, "--out", tmp / "out"],
                                    request.getfixturevalue("capsys_module"))
    assert status == 0, err
    return runner, config, tmp / "out"


@pytest.fixture(scope="module")
def capsys_module():
    """A stand-in for capsys in module-scoped fixtures: output is read by each test itself."""

    class Quiet:
        def readouterr(self):
            return "", ""

    return Quiet()


def test_every_runner_goes_through_the_one_lifecycle():
    # No runner writes meta.json itself: each opens, starts and finishes a RunRecord.
    for path in ["hvp_bench/sweep.py"]:
        source = (ROOT / path).read_text()
        assert "RunRecord" in source and '"meta.json"' not in source, path
        names = {n.attr for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Attribute)}
        assert {"start", "finish", "nothing_to_do"} <= names, path


@pytest.mark.slow
def test_meta_json_has_the_same_fields_everywhere(finished):
    runner, _, out = finished
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "ok" and meta["started"] <= meta["finished"] and meta["elapsed_s"] > 0
    assert meta["config"]["name"].startswith("tiny")
    session = meta["sessions"][-1]
    assert session["status"] == "ok" and session["total"] > 0 and session["done"] == 0
    assert {"git_commit", "git_dirty", "load_average_at_start", "load_average_at_end"} <= set(session)
    assert meta["environment"]["jax"] and meta["environment"]["x64"] is RUNNERS[runner][4]


def test_a_finished_run_says_so_and_changes_nothing(finished, capsys):
    runner, config, out = finished
    before = snapshot(out)
    status, stdout, err = run(runner, ["--config", config, "--out", out], capsys)
    assert status == 0 and stdout == ""
    assert err.count("\n") == 1 and "this run is complete" in err and "--redraw" in err
    assert snapshot(out) == before


def test_another_config_is_refused_with_one_line(finished, capsys):
    runner, config, out = finished
    before = snapshot(out)
    status, stdout, err = run(runner, ["--config", config, "--out", out, "--set", "seed=7"], capsys)
    assert status == 2 and stdout == ""
    assert err.count("\n") == 1 and err.startswith("error:") and "seed=0" in err and "use another --out" in err
    assert snapshot(out) == before


@pytest.mark.parametrize("runner", list(RUNNERS))
@pytest.mark.parametrize("args, message", [
    (["--set", "sed=1"], "unknown config key 'sed' (did you mean 'seed'?)"),
    (["--set", "seed=one"], "'seed' must be an integer"),
    (["--set", "seed"], "--set expects key=value"),
], ids=["near-miss", "type", "syntax"])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(runner, args, message, tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text(RUNNERS[runner][1])
    status, stdout, err = run(runner, ["--config", config, "--out", tmp_path / "out", *args], capsys)
    assert status == 2 and stdout == ""
    assert err.count("\n") == 1 and err.startswith("error:") and message in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("runner", list(RUNNERS))
def test_a_missing_config_and_an_unwritable_out_exit_2(runner, tmp_path, capsys):
    status, _, err = run(runner, ["--config", tmp_path / "nope.toml", "--out", tmp_path / "out"], capsys)
    assert status == 2 and err.count("\n") == 1 and "not found" in err
    assert not (tmp_path / "out").exists()
    config = tmp_path / "config.toml"
    config.write_text(RUNNERS[runner][1])
    blocker = tmp_path / "file"  # no directory can be made under a file, whoever runs the test
    blocker.write_text("x")
    status, _, err = run(runner, ["--config", config, "--out", blocker / "out"], capsys)
    assert status == 2 and err.count("\n") == 1 and "cannot write to output directory" in err


@pytest.mark.slow
def test_a_run_cut_by_a_kill_resumes_says_what_is_left_and_duplicates_nothing(finished, tmp_path, capsys):
    runner, config, out = finished
    _, _, log, key, _ = RUNNERS[runner]
    cut = tmp_path / "cut"
    cut.mkdir()
    for path in out.iterdir():
        if path.suffix in (".csv", ".json"):
            (cut / path.name).write_bytes(path.read_bytes())
    meta = json.loads((cut / "meta.json").read_text())
    meta.update(status="interrupted", finished=None)  # as a kill leaves it
    (cut / "meta.json").write_text(json.dumps(meta))
    whole = pd.read_csv(out / log)
    lines = (cut / log).read_bytes().splitlines(keepends=True)
    rows = 1 + (len(lines) - 1) // 2  # the header, half of the rows, and part of the next row
    (cut / log).write_bytes(b"".join(lines[:rows]) + lines[rows][:7])
    if (cut / "units.csv").exists():  # the study driver's ledger: a unit is listed after all its rows
        kept = pd.read_csv(io.BytesIO(b"".join(lines[:rows])))["unit"].value_counts()
        forget_units(cut, [u for u, n in whole["unit"].value_counts().items() if kept.get(u, 0) < n])
    status, _, err = run(runner, ["--config", config, "--out", cut], capsys)
    assert status == 0, err
    assert "resuming" in err and " done, " in err and " left" in err
    again = pd.read_csv(cut / log)
    assert len(again) == len(whole) and not again.duplicated(key).any()
    meta = json.loads((cut / "meta.json").read_text())
    assert meta["status"] == "ok" and len(meta["sessions"]) == 2 and meta["sessions"][-1]["done"] > 0


def _console_command(name: str):
    """The function behind a console command of pyproject.toml's [project.scripts]."""
    import importlib
    import tomllib

    module, function = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"][name].split(":")
    return getattr(importlib.import_module(module), function)


@pytest.mark.parametrize("run_dir", sorted(DRIVER_RUNS))
def test_every_committed_run_of_the_driver_reads_as_complete_through_it(run_dir, tmp_path, capsys):
    # The committed directory, as its command would meet it: complete (older ones keyed in memory), untouched.
    command, config = DRIVER_RUNS[run_dir][0].strip("`").split(" --config ")
    copy = tmp_path / run_dir
    for path in (ROOT / "results" / run_dir).rglob("*"):
        if path.is_file():
            (copy / path.relative_to(ROOT / "results" / run_dir)).parent.mkdir(parents=True, exist_ok=True)
            (copy / path.relative_to(ROOT / "results" / run_dir)).write_bytes(path.read_bytes())
    before = snapshot(copy)
    status, stdout, err = run_in_process(_console_command(command), ["--config", ROOT / config, "--out", copy], capsys)
    assert (status, stdout) == (0, "") and "this run is complete" in err, err
    assert snapshot(copy) == before


THROUGH_THE_DRIVER = ["lr-meta", "lr-meta-horizon", "curvature", "curvature-trained", "lr-meta-training", "curvature-density", "curvature-xtrace-bias",
                      "curvature-blocks", "hvp-models", "hvp-programs", "hvp-xla-fault"]
"""The runners whose study goes through expkit.study.run_study (the others: issue #26's list)."""


@pytest.mark.parametrize("runner", THROUGH_THE_DRIVER)
def test_a_second_run_on_a_directory_in_use_refuses_in_one_line_and_writes_nothing(runner, tmp_path, capsys):
    import fcntl
    import os

    config, out = tmp_path / "config.toml", tmp_path / "out"
    config.write_text(RUNNERS[runner][1])
    out.mkdir()
    holder = os.open(out, os.O_RDONLY)  # as the first run holds it
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        status, stdout, err = run(runner, ["--config", config, "--out", out], capsys)
    finally:
        os.close(holder)
    assert (status, stdout) == (2, "") and err.count("\n") == 1 and "in use by another run" in err
    assert list(out.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("runner", THROUGH_THE_DRIVER)
def test_a_full_disk_is_one_line_and_a_rerun_finishes_without_duplicates(runner, tmp_path, capsys, monkeypatch):
    import errno

    from expkit.results import CsvLog
    from expkit.study import EXIT_WRITE

    config, out = tmp_path / "config.toml", tmp_path / "out"
    config.write_text(RUNNERS[runner][1])
    append, calls = CsvLog.append, []

    def full_after_the_first_unit(self, rows):
        if self.path.name == "units.csv":
            calls.append(1)
            if len(calls) == 2:  # the second unit's rows are written, its ledger line is not
                raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        return append(self, rows)

    monkeypatch.setattr(CsvLog, "append", full_after_the_first_unit)
    status, _, err = run(runner, ["--config", config, "--out", out], capsys)
    assert status == EXIT_WRITE, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: cannot write") and "units.csv" in last and "No space left" in last
    assert json.loads((out / "meta.json").read_text())["status"] == "error"
    monkeypatch.setattr(CsvLog, "append", append)
    status, _, err = run(runner, ["--config", config, "--out", out], capsys)
    assert status == 0, err
    log, key = RUNNERS[runner][2], RUNNERS[runner][3]
    rows = pd.read_csv(out / log)
    assert not rows.duplicated(key).any()
    assert json.loads((out / "meta.json").read_text())["status"] == "ok"
