"""One driver for a study: it declares its units of work, the driver owns everything else.

    class MyStudy:                                   # the Study protocol
        name = "my-study"; x64 = True                # (optional: matmul_precision = "highest")
        logs = {"rows.csv": [...columns...]}         # the append-only files units write
        def units(self) -> list[Unit]: ...           # every unit of the whole run, in order
        def measure(self, unit, out_dir) -> dict[str, list[dict] | DataFrame]: ...
                                                     # one unit's rows per log, or whole tables
        def derive(self, out_dir) -> Outcome | None: ...  # summaries, tables, figures, from the files alone
        def retry(self, out_dir) -> set[str]: ...   # optional: finished units to measure again (failed points)
        # Optional, for directories written before the driver (no units.csv, no `unit` column):
        def unit_of(self, log, row) -> str: ...      # the unit an older row belongs to
        def legacy_complete(self, key, rows, out_dir) -> bool: ...  # {log: its rows of `key`} -> whether done
                                                     # (default: it has rows)

    status = run_study(MyStudy(config), config, out_dir, redraw=False)

`run_study` owns what every runner needs the same way (Google Benchmark's split: a
benchmark says what it measures, the runner owns repetitions, output and reporting):

- the run directory and meta.json (expkit.lifecycle.RunRecord): another config's
  directory is refused before anything is written; a finished run says so;
- an exclusive lock on the directory for the whole run: a second run on it refuses in
  one line, writing nothing, while the first goes on;
- x64 (and a study's `matmul_precision`, if it has one) set before the environment is
  recorded, so meta.json says what ran;
- older files: a log written before a column was added gains it, empty;
- an outcome: `derive` may return Outcome("failed" or "diverged", why) for a run that wrote all
  its results but did not succeed: meta.json says so, the reason is one line, exit EXIT_FAILURES;
  Outcome("ok", message) prints its message (where the results are);
- directories written before the driver: a study with `unit_of` has its older rows keyed and
  its finished units listed, in memory to decide what is left (a finished run stays untouched),
  on disk once it runs again;
- resuming: every log row carries its unit's key (column `unit`), and units.csv lists
  the units whose rows are all written (appended last). A re-run skips those and drops
  the rows of any other unit, which a kill cut short, so it is measured again whole and
  nothing is written twice. A whole table a unit returns (not a log) is written
  atomically, and rewritten if its unit runs again;
- the progress bar, weighted by each unit's expected cost, so its estimate of the time
  left holds when units differ a hundredfold;
- Ctrl-C (meta.json "interrupted", re-run resumes) and any OSError while writing (a
  full disk, a vanished directory): one line naming the file, meta.json "error" with
  what was not written where it can still be written, exit status EXIT_WRITE; a re-run
  finishes the outputs.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from expkit.cli import EXIT_FAILURES
from expkit.config import ConfigError
from expkit.lifecycle import RunRecord
from expkit.results import CsvLog, write_csv_atomic

EXIT_WRITE = 4
"""A run stopped because a file could not be written (a full disk, a vanished directory)."""


LEDGER = "units.csv"


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a study's derive step found: status "ok", or "failed"/"diverged" with the reason (one line)."""

    status: str = "ok"
    message: str = ""


@dataclasses.dataclass(frozen=True)
class Unit:
    """One unit of work: `key` names it in the files, `cost` is its expected share of the time (any unit)."""

    key: str
    cost: float = 1.0
    label: str = ""


class Study(Protocol):
    name: str
    x64: bool
    logs: dict[str, list[str]]

    def units(self) -> list[Unit]: ...

    def measure(self, unit: Unit, out_dir: Path) -> dict[str, Any]: ...

    def derive(self, out_dir: Path) -> Outcome | None: ...


class WriteError(RuntimeError):
    """A file of the run could not be written; the message is one line naming it."""


def run_study(study: Study, config, out_dir: str | Path, *, redraw: bool = False, progress: bool = True) -> int:
    """Runs (or resumes) `study` into `out_dir`; returns the exit status (0, or EXIT_FAILURES when the
    derive step's Outcome is not "ok").

    Raises:
      ConfigError: `out_dir` holds another config's run, is not writable, or is in use
        by another run (nothing written).
      WriteError: a file could not be written; meta.json says "error" where it could be.
    """
    import jax

    out = Path(out_dir)
    RunRecord.open(out, config)  # refuses another config's directory before anything exists
    lock = _lock(out)
    try:
        record = RunRecord.open(out, config)  # again, now that the directory is ours
        units = study.units()
        legacy = _legacy(study, out)
        done = set(legacy[1]) if legacy else set(CsvLog(out / LEDGER, ["unit"]).read()["unit"].astype(str))
        retry = set(getattr(study, "retry", lambda out_dir: set())(out)) & done
        if record.nothing_to_do(sum(u.key not in done - retry for u in units), redraw):
            return 0
        # x64 and the matmul precision are set before the environment is recorded, so meta.json says what ran.
        with jax.enable_x64(study.x64), jax.default_matmul_precision(getattr(study, "matmul_precision", None)):
            outcome = _run(study, record, out, units, progress, legacy, retry) or Outcome()
        if outcome.status != "ok":
            print(f"error: {outcome.message}", file=sys.stderr)
            return EXIT_FAILURES
        if outcome.message:
            print(outcome.message)
        return 0
    finally:
        os.close(lock)


def _legacy(study: Study, out: Path) -> tuple[dict, list[str]] | None:
    """For a directory written before the driver (logs without `unit`, no ledger): ({log: its rows keyed
    by unit}, the finished units in the study's order); None for any other directory."""
    import pandas as pd

    if not hasattr(study, "unit_of") or (out / LEDGER).exists():
        return None
    frames = {}
    for name in study.logs:
        path = out / name
        if path.is_file() and path.stat().st_size:
            frame = pd.read_csv(path)
            if "unit" in frame.columns:
                return None
            frames[name] = frame.assign(unit=[study.unit_of(name, row) for _, row in frame.iterrows()])
    if not frames:
        return None
    complete = getattr(study, "legacy_complete", lambda key, rows, out_dir: any(len(r) for r in rows.values()))
    done = [u.key for u in study.units()
            if complete(u.key, {name: frame[frame["unit"] == u.key] for name, frame in frames.items()}, out)]
    return {name: frame[["unit", *[c for c in frame.columns if c != "unit"]]] for name, frame in frames.items()}, done


def _run(study: Study, record: RunRecord, out: Path, units: list[Unit], progress: bool,
         legacy: tuple[dict, list[str]] | None, retry: set[str]) -> Outcome | None:
    from tqdm.auto import tqdm

    from expkit.provenance import environment_info

    try:
        ledger = CsvLog(out / LEDGER, ["unit"])
        if legacy:  # keyed on disk now that it runs again: the ledger last, as after any unit
            for name, frame in legacy[0].items():
                write_csv_atomic(out / name, frame)
            ledger.append([{"unit": key} for key in legacy[1]])
        if retry:  # off the ledger, so their rows are dropped and they are measured again
            listed = ledger.read()
            ledger.rewrite(listed[~listed["unit"].astype(str).isin(retry)])
        for name, columns in study.logs.items():
            _add_new_columns(out / name, ["unit", *columns])
        logs = {name: CsvLog(out / name, ["unit", *columns]) for name, columns in study.logs.items()}
        done = _drop_unfinished(ledger, logs)
        left = [u for u in units if u.key not in done]
        record.start(environment_info(), total=len(units), done=len(units) - len(left))
    except OSError as e:
        raise WriteError(_one_line(e, getattr(e, "filename", None))) from None
    with record.guard():
        try:
            with tqdm(total=sum(u.cost for u in units), initial=sum(u.cost for u in units if u.key in done),
                      desc=study.name, file=sys.stderr, mininterval=0.5, disable=not progress,
                      bar_format="{l_bar}{bar}| {percentage:3.0f}% [{elapsed}<{remaining}]{postfix}") as bar:
                for unit in left:
                    bar.set_postfix_str(unit.label or unit.key, refresh=True)
                    for name, rows in study.measure(unit, out).items():
                        if name in logs:
                            logs[name].append({"unit": unit.key, **row} for row in rows)
                        else:
                            write_csv_atomic(out / name, rows)
                    ledger.append([{"unit": unit.key}])
                    bar.update(min(unit.cost, bar.total - bar.n))  # float sums must not overrun the bar
            outcome = study.derive(out)
            record.finish(outcome.status if outcome else "ok")
            return outcome
        except OSError as e:
            message = _one_line(e, getattr(e, "filename", None))
            _finish_quietly(record, "error", error=message, not_written="the units left and the derived files")
            raise WriteError(message) from None


def read_log(out_dir: str | Path, name: str):
    """A log's rows as a study's summaries read them: without the driver's `unit` column."""
    import pandas as pd

    return pd.read_csv(Path(out_dir) / name).drop(columns="unit", errors="ignore")


def _add_new_columns(path: Path, columns: list[str]) -> None:
    """A log written before columns were added to it gains them, empty (not measured then); rewritten atomically.
    A log with a column this version does not write is left alone (CsvLog refuses it in one line)."""
    import pandas as pd

    if not path.is_file() or path.stat().st_size == 0:
        return
    header = list(pd.read_csv(path, nrows=0).columns)
    if header != columns and set(header) < set(columns):
        write_csv_atomic(path, pd.read_csv(path).reindex(columns=columns))


def _drop_unfinished(ledger: CsvLog, logs: dict[str, CsvLog]) -> set[str]:
    """The keys of finished units; rows of any other unit (cut short by a kill) leave the logs."""
    done = set(ledger.read()["unit"].astype(str))
    for log in logs.values():
        frame = log.read()
        finished = frame["unit"].astype(str).isin(done)
        if not finished.all():
            log.rewrite(frame[finished])
    return done


def _lock(out: Path) -> int:
    """An exclusive lock on the run directory (created if need be), held until closed; ConfigError if taken."""
    from expkit.results import prepare_out_dir

    prepare_out_dir(out)
    fd = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        os.close(fd)
        if e.errno in (errno.EWOULDBLOCK, errno.EACCES):
            raise ConfigError(f"{out} is in use by another run; wait for it to end or use another --out") from None
        raise
    return fd


def _one_line(e: OSError, filename) -> str:
    where = f" {filename}" if filename else ""
    return f"cannot write{where}: {e.strerror or e}"


def _finish_quietly(record: RunRecord, status: str, **fields) -> None:
    """Records `status` in meta.json if it can still be written (on a full disk it may not)."""
    try:
        record.finish(status, **fields)
    except OSError:
        pass


def study_cli(argv: list[str] | None, *, description: str, examples: list[str],
              load: Callable[[str, list[str]], Any], make_study: Callable[[Any], Study]) -> None:
    """A study's console command: `--config`, `--out` (default runs/<name>), `--set`, `--dry-run`,
    `--redraw`; bad input is one line and exit 2 (expkit.cli), a WriteError one line and EXIT_WRITE.

    Args:
      load: (config path, overrides) -> the validated config; make_study: config -> the Study.
    """
    from expkit.cli import config_parser, dry_run, run_cli

    def main() -> int:
        args = config_parser(description, examples).parse_args(argv)
        config = load(args.config, args.overrides)
        out = Path(args.out) if args.out else Path("runs") / config.name
        RunRecord.open(out, config)  # another config's directory: refused before --dry-run says yes
        if args.dry_run:
            return dry_run(config, out)
        return run_and_report(make_study(config), config, out, redraw=args.redraw)

    run_cli(main)


def run_and_report(study: Study, config, out: Path, *, redraw: bool = False) -> int:
    """`run_study` for a console command: a WriteError is one line saying how to finish, and EXIT_WRITE."""
    try:
        return run_study(study, config, out, redraw=redraw)
    except WriteError as e:
        print(f"error: {e}; free the space (or fix the directory) and re-run the same command to finish",
              file=sys.stderr)
        return EXIT_WRITE
