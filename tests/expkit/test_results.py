import json
import os

import numpy as np
import pytest

from expkit.config import ConfigError
from expkit.results import CsvLog, prepare_out_dir, write_json_atomic


def test_append_and_read_round_trip(tmp_path):
    log = CsvLog(tmp_path / "r.csv", ["a", "b", "note"])
    log.append([{"a": 1, "b": 0.5, "note": "x, y"}, {"a": 2, "b": 1e-9}])
    log.append([{"a": 3, "b": 2.0, "note": "z"}])
    frame = log.read()
    assert frame["a"].tolist() == [1, 2, 3]
    assert frame["b"].tolist() == [0.5, 1e-9, 2.0]
    assert frame["note"].isna().tolist() == [False, True, False]
    assert (tmp_path / "r.csv").read_text().count("a,b,note") == 1


def test_partial_last_line_is_dropped_on_open(tmp_path):
    path = tmp_path / "r.csv"
    CsvLog(path, ["a", "b"]).append([{"a": 1, "b": 2}, {"a": 3, "b": 4}])
    with open(path, "a") as f:
        f.write("5,")  # what a kill mid-write leaves
    log = CsvLog(path, ["a", "b"])
    assert log.read()["a"].tolist() == [1, 3]
    log.append([{"a": 5, "b": 6}])
    assert log.read()["a"].tolist() == [1, 3, 5]


def test_other_columns_are_refused(tmp_path):
    path = tmp_path / "r.csv"
    CsvLog(path, ["a", "b"]).append([{"a": 1, "b": 2}])
    with pytest.raises(ConfigError, match="other columns"):
        CsvLog(path, ["a", "c"])


def test_json_is_written_whole(tmp_path):
    write_json_atomic(tmp_path / "m.json", {"x": [1, 2]})
    assert json.loads((tmp_path / "m.json").read_text()) == {"x": [1, 2]}
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]  # no temporary left


def test_unwritable_out_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot write to output directory"):
        prepare_out_dir(blocker / "run")
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(ConfigError):
            prepare_out_dir(locked)


def test_floats_read_back_exactly(tmp_path):
    # A resumed run continues from logged values: they must survive the CSV bit for bit.
    values = [1 / 3, 0.1 + 0.2, 1e-300, float(np.nextafter(1.0, 2.0)), -2.5e17 / 7]
    log = CsvLog(tmp_path / "r.csv", ["x"])
    log.append([{"x": repr(v)} for v in values])
    assert log.read()["x"].tolist() == values
