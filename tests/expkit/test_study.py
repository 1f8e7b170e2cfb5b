"""expkit.study: the one study driver. A toy study (no JAX work) shows what the driver owns: the
ledger (a unit cut short is measured again whole, nothing twice), the lock (a second run on the
directory refuses and writes nothing), write errors (one line, meta.json "error", a re-run
finishes), weighted progress, and x64 set before the environment is recorded."""

import dataclasses
import errno
import fcntl
import json
import os

import pandas as pd
import pytest

from expkit.config import ConfigError
from expkit.cli import EXIT_FAILURES
from expkit.study import EXIT_WRITE, Outcome, Unit, WriteError, run_study, study_cli
from tests.helpers.cli_runs import snapshot


@dataclasses.dataclass(frozen=True)
class ToyConfig:
    name: str = "toy"
    units: int = 4


class Toy:
    name = "toy"
    x64 = True
    logs = {"rows.csv": ["i", "j", "x64"]}

    def __init__(self, config, fail_at=None, error=None):
        self.config, self.fail_at, self.error, self.measured, self.derived = config, fail_at, error, [], 0

    def units(self):
        return [Unit(f"u{i}", cost=1.0 + 10 * i) for i in range(self.config.units)]

    def measure(self, unit, out_dir):
        import jax

        if unit.key == self.fail_at:
            raise self.error
        self.measured.append(unit.key)
        i = int(unit.key[1:])
        return {"rows.csv": [{"i": i, "j": j, "x64": jax.config.jax_enable_x64} for j in range(3)],
                f"table_{i}.csv": pd.DataFrame({"i": [i]})}

    def derive(self, out_dir):
        self.derived += 1
        rows = pd.read_csv(out_dir / "rows.csv")
        (out_dir / "summary.json").write_text(json.dumps({"rows": len(rows)}))


def test_a_run_writes_every_unit_once_then_has_nothing_to_do(tmp_path, capsys):
    config, out = ToyConfig(), tmp_path / "out"
    study = Toy(config)
    assert run_study(study, config, out, progress=False) == 0
    rows = pd.read_csv(out / "rows.csv")
    assert len(rows) == 12 and list(rows.columns) == ["unit", "i", "j", "x64"] and rows["x64"].all()
    assert list(pd.read_csv(out / "units.csv")["unit"]) == ["u0", "u1", "u2", "u3"]
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "ok" and meta["environment"]["x64"] is True
    before = snapshot(out)
    again = Toy(config)
    assert run_study(again, config, out, progress=False) == 0
    assert again.measured == [] and again.derived == 0 and snapshot(out) == before
    assert "this run is complete" in capsys.readouterr().err


def test_a_unit_cut_short_is_measured_again_whole(tmp_path):
    config, out = ToyConfig(), tmp_path / "out"
    run_study(Toy(config), config, out, progress=False)
    # As a kill after u2's rows but before its ledger line leaves it: u2 and u3 not listed.
    pd.read_csv(out / "units.csv").iloc[:2].to_csv(out / "units.csv", index=False)
    rows = pd.read_csv(out / "rows.csv")
    rows[rows["unit"] != "u3"].to_csv(out / "rows.csv", index=False)
    study = Toy(config)
    assert run_study(study, config, out, progress=False) == 0
    assert study.measured == ["u2", "u3"]
    again = pd.read_csv(out / "rows.csv")
    assert len(again) == 12 and not again.duplicated(["i", "j"]).any()


def test_a_second_run_on_a_locked_directory_refuses_and_writes_nothing(tmp_path):
    config, out = ToyConfig(), tmp_path / "out"
    out.mkdir()
    holder = os.open(out, os.O_RDONLY)  # another run holds the directory
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        with pytest.raises(ConfigError, match="in use by another run"):
            run_study(Toy(config), config, out, progress=False)
        assert list(out.iterdir()) == []
    finally:
        os.close(holder)
    assert run_study(Toy(config), config, out, progress=False) == 0


def test_a_full_disk_is_one_line_and_a_rerun_finishes(tmp_path, capsys):
    config, out = ToyConfig(), tmp_path / "out"
    full = OSError(errno.ENOSPC, "No space left on device", str(out / "rows.csv"))
    with pytest.raises(SystemExit) as status:  # through the console command every study shares
        study_cli(["--config", "toy.toml", "--out", str(out)], description="toy", examples=[],
                  load=lambda path, overrides: config, make_study=lambda c: Toy(c, fail_at="u2", error=full))
    assert status.value.code == EXIT_WRITE
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: cannot write") and "rows.csv" in err and "No space left" in err
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "error" and "No space left" in meta["error"] and meta["not_written"]
    assert not (out / "summary.json").exists()
    study = Toy(config)
    assert run_study(study, config, out, progress=False) == 0
    assert study.measured == ["u2", "u3"] and study.derived == 1
    assert json.loads((out / "summary.json").read_text()) == {"rows": 12}


def test_another_config_is_refused_before_the_lock(tmp_path):
    out = tmp_path / "out"
    run_study(Toy(ToyConfig()), ToyConfig(), out, progress=False)
    with pytest.raises(ConfigError, match="units=4"):
        run_study(Toy(ToyConfig(units=3)), ToyConfig(units=3), out, progress=False)


def test_a_write_error_outside_measuring_is_one_line_too(tmp_path):
    config, out = ToyConfig(), tmp_path / "out"
    study = Toy(config)
    study.derive = lambda out_dir: (_ for _ in ()).throw(OSError(errno.EROFS, "Read-only file system"))
    with pytest.raises(WriteError, match="Read-only"):
        run_study(study, config, out, progress=False)
    assert json.loads((out / "meta.json").read_text())["status"] == "error"


def test_a_log_written_before_a_column_was_added_gains_it_empty(tmp_path):
    from expkit.study import _add_new_columns

    log = tmp_path / "rows.csv"
    log.write_text("unit,a,c\nu1,1,3\n")
    _add_new_columns(log, ["unit", "a", "b", "c"])
    assert log.read_text() == "unit,a,b,c\nu1,1,,3\n"
    log.write_text("unit,a,z\nu1,1,3\n")  # a column this version does not write: left for CsvLog to refuse
    _add_new_columns(log, ["unit", "a", "b"])
    assert log.read_text() == "unit,a,z\nu1,1,3\n"


class Judged(Toy):
    """A toy whose derive step judges the run: Outcome(status, message)."""

    def __init__(self, config, outcome):
        super().__init__(config)
        self.outcome = outcome

    def derive(self, out_dir):
        super().derive(out_dir)
        return self.outcome


def test_an_outcome_that_is_not_ok_is_recorded_said_in_one_line_and_exits_with_failures(tmp_path, capsys):
    config, out = ToyConfig(), tmp_path / "out"
    assert run_study(Judged(config, Outcome("failed", "the goals failed")), config, out, progress=False) == EXIT_FAILURES
    assert capsys.readouterr().err.strip().splitlines()[-1] == "error: the goals failed"
    assert json.loads((out / "meta.json").read_text())["status"] == "failed"
    assert run_study(Judged(config, None), config, out, progress=False) == 0  # it wrote everything: complete
    assert "this run is complete" in capsys.readouterr().err
    ok = tmp_path / "ok"
    assert run_study(Judged(config, Outcome("ok", "results in ok")), config, ok, progress=False) == 0
    assert capsys.readouterr().out == "results in ok\n"


class Older(Toy):
    """The toy as a study that knows the files it wrote before the driver (no unit column, no ledger)."""

    def unit_of(self, log, row):
        return f"u{int(row['i'])}"

    def legacy_complete(self, key, rows, out_dir):
        return len(rows["rows.csv"]) == 3


def _as_written_before_the_driver(out, drop_rows: int = 0):
    rows = pd.read_csv(out / "rows.csv").drop(columns="unit")
    rows.iloc[:len(rows) - drop_rows].to_csv(out / "rows.csv", index=False)
    (out / "units.csv").unlink()


def test_a_directory_written_before_the_driver_is_complete_untouched_and_keyed_when_it_runs_again(tmp_path, capsys):
    config, out = ToyConfig(), tmp_path / "out"
    run_study(Toy(config), config, out, progress=False)
    whole = pd.read_csv(out / "rows.csv")
    _as_written_before_the_driver(out)
    before = snapshot(out)
    study = Older(config)
    assert run_study(study, config, out, progress=False) == 0
    assert study.measured == [] and snapshot(out) == before and "this run is complete" in capsys.readouterr().err
    assert run_study(study, config, out, redraw=True, progress=False) == 0  # runs again: keyed on disk
    assert study.measured == [] and pd.read_csv(out / "rows.csv").equals(whole)
    assert list(pd.read_csv(out / "units.csv")["unit"]) == ["u0", "u1", "u2", "u3"]


def test_an_older_unit_cut_short_is_measured_again_whole(tmp_path):
    config, out = ToyConfig(), tmp_path / "out"
    run_study(Toy(config), config, out, progress=False)
    _as_written_before_the_driver(out, drop_rows=1)  # u3 lost its last row
    meta = json.loads((out / "meta.json").read_text())
    (out / "meta.json").write_text(json.dumps({**meta, "status": "interrupted", "finished": None}))
    study = Older(config)
    assert run_study(study, config, out, progress=False) == 0
    rows = pd.read_csv(out / "rows.csv")
    assert study.measured == ["u3"] and len(rows) == 12 and not rows.duplicated(["i", "j"]).any()


class Flaky(Toy):
    """A toy whose derive step finds unit u1 failed until `mended`; `retry` asks for it again."""

    mended = False

    def measure(self, unit, out_dir):
        rows = super().measure(unit, out_dir)
        if unit.key == "u1":
            rows["rows.csv"] = [{**r, "x64": self.mended} for r in rows["rows.csv"]]
        return rows

    def retry(self, out_dir):
        rows = pd.read_csv(out_dir / "rows.csv") if (out_dir / "rows.csv").exists() else None
        return set() if rows is None else set(rows.loc[~rows["x64"].astype(bool), "unit"])

    def derive(self, out_dir):
        super().derive(out_dir)
        return None if self.mended else Outcome("failed", "u1 failed")


def test_a_unit_the_study_asks_to_retry_is_measured_again_alone_and_not_duplicated(tmp_path):
    config, out = ToyConfig(), tmp_path / "out"
    assert run_study(Flaky(config), config, out, progress=False) == EXIT_FAILURES
    mended = Flaky(config)
    mended.mended = True
    assert run_study(mended, config, out, progress=False) == 0
    rows = pd.read_csv(out / "rows.csv")
    assert mended.measured == ["u1"] and len(rows) == 12 and rows["x64"].all()
    assert sorted(pd.read_csv(out / "units.csv")["unit"]) == ["u0", "u1", "u2", "u3"]
