"""Crash-safe result files: an append-only CSV log, atomic JSON and CSV, run directories.

A run directory's CSV only ever grows by whole rows: each `append` is one `write` of
complete lines followed by fsync, and opening a log repairs the one thing a kill -9 can
leave behind, a partial last line. Derived files (summaries, meta.json) are replaced
atomically (temporary file, fsync, rename), so a reader never sees half of one.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from expkit.config import ConfigError


# Floats must read back exactly as written (a resumed run continues from them): pandas 3
# does that by default and deprecates the option pandas 2 needs for it.
_EXACT_FLOATS = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}


class CsvLog:
    """An append-only CSV file of rows with fixed `columns`.

    Args:
      path: the CSV file; created with a header on first append.
      columns: column names, in order. An existing file with another header is refused.
    """

    def __init__(self, path: str | Path, columns: Sequence[str]):
        self.path = Path(path)
        self.columns = list(columns)
        if self.path.exists():
            self._repair()

    def _repair(self) -> None:
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            # A kill mid-write can leave a partial last line: drop it (its point re-runs).
            _write_atomic(self.path, data[: data.rfind(b"\n") + 1])
            data = self.path.read_bytes()
        header = data.split(b"\n", 1)[0].decode()
        if data and next(csv.reader([header])) != self.columns:
            raise ConfigError(
                f"{self.path} has other columns than this version writes; use another --out"
            )

    def read(self) -> pd.DataFrame:
        """All rows so far (an empty frame with the columns if there are none)."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return pd.DataFrame(columns=self.columns)
        return pd.read_csv(self.path, keep_default_na=False, na_values=[""], **_EXACT_FLOATS)

    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        """Appends `rows` (dicts keyed by column) as one write, then fsyncs."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns, lineterminator="\n")
        new = not self.path.exists() or self.path.stat().st_size == 0
        if new:
            writer.writeheader()
        writer.writerows(rows)
        with open(self.path, "a", newline="") as f:
            f.write(buffer.getvalue())
            f.flush()
            os.fsync(f.fileno())

    def rewrite(self, frame: pd.DataFrame) -> None:
        """Atomically replaces the file with `frame`'s rows (used to drop incomplete groups)."""
        _write_atomic(self.path, frame[self.columns].to_csv(index=False, lineterminator="\n").encode())


def _write_atomic(path: Path, data: bytes) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes files private; results are for reading
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """Writes `obj` as indented JSON via a temporary file and rename."""
    _write_atomic(Path(path), (json.dumps(obj, indent=2, default=str) + "\n").encode())


def json_once(path: str | Path, compute: Callable[[], Any]) -> Any:
    """`compute()`'s result, kept in `path` as JSON: read back where a previous session wrote it
    (a resumed run redoes no finished stage), else computed and written atomically."""
    path = Path(path)
    if path.is_file():
        return json.loads(path.read_text())
    result = compute()
    write_json_atomic(path, result)
    return result


def write_csv_atomic(path: str | Path, frame: pd.DataFrame) -> None:
    """Writes a derived table (a summary) via a temporary file and rename."""
    _write_atomic(Path(path), frame.to_csv(index=False, lineterminator="\n").encode())


def prepare_out_dir(path: str | Path) -> Path:
    """Creates `path` if needed and checks it is writable; ConfigError if not."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        raise ConfigError(f"cannot write to output directory {path}: {e.strerror or e}") from None
    return path


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
