"""One run directory's life, the same for every runner of the suite.

    record = RunRecord.open(out_dir, config)          # validates; writes nothing
    if record.nothing_to_do(todo, redraw):            # a finished run says so
        return 0
    record.start(environment, total=..., done=...)     # creates out_dir, meta.json "running"
    ... append rows as each group finishes ...
    record.finish("ok")                                # or "failed", "diverged"

Order matters for "nothing written on bad input": `open` checks that `out_dir` holds no
run of another config (ConfigError), and only `start` creates anything.

meta.json has the same fields for every runner:

| field          | what                                                                     |
|----------------|--------------------------------------------------------------------------|
| config         | the run's config, every key                                              |
| status         | running, ok, failed, diverged, interrupted or error                      |
| started        | when the first session started (UTC, ISO 8601)                           |
| finished       | when the last session finished (null while running or if interrupted)   |
| elapsed_s      | wall-clock seconds of all sessions together                              |
| sessions       | one entry per invocation: started, finished, status, elapsed_s, total and |
|                | done units at its start, git commit and dirty flag, load average at start |
|                | and end (whether something else shared the machine)                      |
| environment    | the environment of the latest session (expkit.provenance)                |
| rederived      | (optional) each later derivation of files from the measured ones: what,  |
|                | the git commit and dirty flag of the code that did it, when              |

`complete_groups` is the bookkeeping of done groups every runner shares: a group of rows
cut short by a kill is dropped from its log and measured again.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from expkit.config import ConfigError, config_to_dict, without_retired
from expkit.results import CsvLog, now_iso, prepare_out_dir, write_json_atomic

STATUSES = ("running", "ok", "failed", "diverged", "interrupted", "error")


def resumable_meta(out_dir: str | Path, config, keys: Sequence[str] | None = None) -> dict[str, Any] | None:
    """The meta.json of a run in `out_dir` that `config` may resume, or None if there is none.

    Args:
      out_dir: a run directory (it may not exist yet).
      config: the dataclass config of the new run.
      keys: the config keys that must match; None for all of them.
    Raises:
      ConfigError: `out_dir` holds a run with another config, or an unreadable meta.json.
    """
    path = Path(out_dir) / "meta.json"
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text())
        old = meta["config"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(f"{path} is not a run's meta.json; use another --out") from None
    new = config_to_dict(config)
    # A key added after the run was made counts as having its default value there; a key
    # retired since is dropped where its value is today's behaviour.
    old = {**config_to_dict(type(config)()), **without_retired(type(config), old)}
    for key in keys if keys is not None else sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            raise ConfigError(
                f"{out_dir} holds a run with {key}={old.get(key)!r}, this config has "
                f"{key}={new.get(key)!r}; use another --out (or the same config to resume)"
            )
    return meta


@dataclasses.dataclass
class RunRecord:
    """meta.json of one run directory, from `open` (checked, nothing written) to `finish`.

    Attributes:
      out_dir: the run directory.
      config: the run's config (a frozen dataclass).
      meta: meta.json's content as it will be written.
      previous: meta.json as found (None for a new run).
    """

    out_dir: Path
    config: Any
    meta: dict[str, Any]
    previous: dict[str, Any] | None = None
    _clock: float = 0.0

    @classmethod
    def open(cls, out_dir: str | Path, config, keys: Sequence[str] | None = None) -> RunRecord:
        """Checks `out_dir` for a run this config may resume (ConfigError if another's); writes nothing.

        Args:
          keys: the config keys a resumed run must share; None for all.
        """
        out_dir = Path(out_dir)
        previous = resumable_meta(out_dir, config, keys)
        meta = json.loads(json.dumps(previous)) if previous else {"started": None, "sessions": []}
        meta.setdefault("sessions", [])
        return cls(out_dir, config, meta, previous)

    @property
    def was_complete(self) -> bool:
        """The directory holds a run that finished with every unit done."""
        return bool(self.previous) and self.previous.get("status") in ("ok", "failed", "diverged") \
            and bool(self.previous.get("finished"))

    def nothing_to_do(self, todo: int, redraw: bool = False) -> bool:
        """True (and says so) when the run is finished and nothing is left; `redraw` asks to redo the summaries."""
        if todo or not self.was_complete or redraw:
            return False
        print(f"{self.out_dir}: this run is complete (finished {self.previous['finished']}, status "
              f"{self.previous['status']}); nothing to do. Add --redraw to redraw its figures and summaries.",
              file=sys.stderr)
        return True

    def start(self, environment: dict[str, Any], total: int, done: int = 0) -> None:
        """Creates the directory and writes meta.json with status "running"; says how much is left.

        Args:
          environment: expkit.provenance.environment_info() of the measuring process.
          total: units of work in the whole run; done: how many are already in the files.
        """
        prepare_out_dir(self.out_dir)
        if done:
            print(f"resuming {self.out_dir}: {done} of {total} done, {total - done} left", file=sys.stderr)
        self._clock = time.perf_counter()
        self.meta.update(config=config_to_dict(self.config), status="running", finished=None,
                         environment=environment)
        self.meta["started"] = self.meta.get("started") or now_iso()
        self.meta["sessions"].append({
            "started": now_iso(), "finished": None, "status": "running", "total": total, "done": done,
            **{k: environment.get(k) for k in ("git_commit", "git_dirty", "git_source")},
            "load_average_at_start": _load_average(),
        })
        self.write()

    def update(self, **fields) -> None:
        """Adds `fields` to meta.json and rewrites it."""
        self.meta.update(fields)
        self.write()

    def finish(self, status: str, **fields) -> None:
        """Marks the run (and this session) `status` and records the time spent."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        spent = round(time.perf_counter() - self._clock, 1)
        session = self.meta["sessions"][-1] if self.meta["sessions"] else {}
        session.update(finished=now_iso(), status=status, elapsed_s=spent, load_average_at_end=_load_average())
        self.meta.update(fields, status=status, elapsed_s=round(self.meta.get("elapsed_s") or 0.0, 1) + spent)
        self.meta["finished"] = now_iso() if status not in ("interrupted", "error") else None
        self.write()

    def write(self) -> None:
        write_json_atomic(self.out_dir / "meta.json", self.meta)

    def guard(self) -> _Guard:
        """`with record.guard():` records "interrupted" on Ctrl-C, "error" on any other exception."""
        return _Guard(self)


class _Guard:
    def __init__(self, record: RunRecord):
        self.record = record

    def __enter__(self) -> RunRecord:
        return self.record

    def __exit__(self, kind, value, tb) -> bool:
        if kind is not None and self.record.meta.get("status") == "running":
            status = "interrupted" if issubclass(kind, KeyboardInterrupt) else "error"
            self.record.finish(status, **({} if status == "interrupted" else {"error": f"{kind.__name__}: {value}"}))
        return False


def note_rederived(out_dir: str | Path, what: str, state: dict[str, Any] | None = None) -> None:
    """Appends to meta.json's `rederived` list: files re-derived by this checkout's code, now.

    Args:
      state: expkit.provenance.git_state() taken before anything was rewritten (after,
        the rewritten result files themselves make the tree dirty); default: now.
    """
    from expkit.provenance import git_state

    path = Path(out_dir) / "meta.json"
    meta = json.loads(path.read_text())
    state = state or git_state()
    meta.setdefault("rederived", []).append({"what": what, "git_commit": state["git_commit"],
                                             "git_dirty": state["git_dirty"], "at": now_iso()})
    write_json_atomic(path, meta)


def _load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def complete_groups(log: CsvLog, keys: Sequence[str], is_complete: Callable[[pd.DataFrame], bool]) -> set[tuple]:
    """The groups of `log` (by `keys`) that are complete; rows of the others are dropped from the file.

    A group is written as one append, or row by row; a kill can leave one cut short. Its
    rows are removed (atomically) so that the group is measured again, whole.

    Args:
      is_complete: group frame -> whether the group is done.
    Returns:
      The keys of complete groups, as tuples.
    """
    frame = log.read()
    if frame.empty:
        return set()
    done, keep = set(), []
    for key, group in frame.groupby(list(keys), sort=False):
        if is_complete(group):
            done.add(key if isinstance(key, tuple) else (key,))
            keep.append(group)
    kept = pd.concat(keep) if keep else frame.iloc[:0]
    if len(kept) != len(frame):
        log.rewrite(kept.sort_index())
    return done


def todo(wanted: Iterable[tuple], done: set[tuple]) -> list[tuple]:
    """`wanted` in order, less what is `done`."""
    return [w for w in wanted if tuple(w) not in done]
