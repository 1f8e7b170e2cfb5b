"""A worker process that runs one call at a time, reports progress, and never outlives its parent.

Why a process: a measurement that the OOM killer takes, or one that hangs, must cost
only itself. The parent sends calls over a pipe; the child runs them and answers. While
a call runs, the child may `report(item)` what it is working on, so that if it dies or
hangs the parent knows which item to blame, and each item gets its own time limit.

Why not `concurrent.futures.ProcessPoolExecutor`: its workers outlive a `kill -9` of the
parent (they are reparented to init, holding their memory, and on a GPU the device's),
and it has no per-item timeout. Here the child asks the kernel to kill it when the
parent dies (Linux `PR_SET_PDEATHSIG`) and also polls its parent id (any POSIX), so it
exits within a second of its parent's death.
"""

from __future__ import annotations

import ctypes
import importlib
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

_PR_SET_PDEATHSIG = 1
_POLL_PARENT_S = 0.5
_connection = None  # set in the child only: where `report` sends progress


class WorkerError(RuntimeError):
    """The call raised in the worker; the message is its one-line summary."""


class WorkerDied(RuntimeError):
    """The worker process died during a call (killed, e.g. by the OOM killer).

    Attributes:
      item: what the call last reported working on (None if nothing).
    """

    def __init__(self, message: str, item: Any = None):
        super().__init__(message)
        self.item = item


class WorkerTimeout(WorkerDied):
    """An item ran past its time limit; the worker was killed."""


def report(item: Any) -> None:
    """Tells the parent which item the current call works on now (no-op outside a worker).

    The parent charges the time until the next report to `item`, and blames `item` if the
    worker dies or runs out of time.
    """
    if _connection is not None:
        try:
            _connection.send(("progress", item))
        except (BrokenPipeError, ConnectionResetError, EOFError):  # the parent is gone (Ctrl-C): end quietly
            os._exit(0)


def one_line(e: BaseException) -> str:
    """`Type: first line of the message`, at most 300 characters."""
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"[:300]


def _cause(exitcode: int | None) -> str:
    """Why a child ended, from its exit code: SIGKILL is what the OOM killer sends."""
    if exitcode == -signal.SIGKILL:
        return "killed, likely out of memory"
    if exitcode is not None and exitcode < 0:
        return f"killed by {signal.Signals(-exitcode).name}"
    return f"exit status {exitcode}" if exitcode is not None else "killed, likely out of memory"


def _resolve(fn: Callable | str) -> Callable:
    if callable(fn):
        return fn
    module, _, name = fn.partition(":")
    return getattr(importlib.import_module(module), name)


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(_POLL_PARENT_S)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def _serve(connection, parent_pid: int, initializer: Callable | str | None, initargs: tuple) -> None:
    """The child's loop: run each call received, answer with its result or its error."""
    global _connection
    # Ctrl-C reaches the whole process group; the parent alone handles it (one line, exit
    # 130) and ends this process: a KeyboardInterrupt here would print a second traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent_pid)
    _connection = connection
    if initializer is not None:
        _resolve(initializer)(*initargs)
    while True:
        try:
            fn, args = connection.recv()
        except (EOFError, OSError):  # the parent closed the pipe: nothing more to do
            return
        try:
            answer = ("result", _resolve(fn)(*args))
        except Exception as e:  # sent back whole; the parent decides what it means
            answer = ("error", one_line(e), traceback.format_exc())
        try:
            connection.send(answer)
        except (BrokenPipeError, ConnectionResetError, EOFError):  # the parent closed the pipe: end quietly
            os._exit(0)


class Worker:
    """One spawned child process; restarted after it dies.

    Args:
      initializer: called once in the child before any call (e.g. to pin a JAX
        platform before JAX starts); a callable or "module:function".
      initargs: its arguments.
    """

    def __init__(self, initializer: Callable | str | None = None, initargs: tuple = ()):
        self.initializer, self.initargs = initializer, initargs
        self._process = None
        self._connection = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        parent_end, child_end = context.Pipe()
        process = context.Process(
            target=_serve, args=(child_end, os.getpid(), self.initializer, self.initargs),
            daemon=True, name="expkit-worker",
        )
        try:
            process.start()
        finally:
            child_end.close()
        # Only a started worker is recorded, so close() never meets half a worker.
        self._process, self._connection = process, parent_end

    def call(self, fn: Callable | str, *args, item_timeout_s: float | None = None,
             on_progress: Callable[[Any], None] | None = None):
        """Runs `fn(*args)` in the worker and returns its result.

        Args:
          fn: a module-level callable or "module:function" (resolved in the child).
          item_timeout_s: the most seconds any one reported item may take in all (its
            reports may come and go); None for no limit. Time before the first report
            is charged to the item None.
          on_progress: called in the parent with each reported item.
        Raises:
          WorkerError: `fn` raised; the worker lives on.
          WorkerDied: the worker died; `.item` is the item in flight. The next call
            starts a fresh worker.
          WorkerTimeout: an item used up its time; the worker was killed.
        """
        if self._process is None:
            self._start()
        self._connection.send((fn, args))
        spent: dict[Any, float] = {}
        item, since = None, time.monotonic()
        while True:
            wait = None
            if item_timeout_s is not None:
                wait = max(0.0, item_timeout_s - spent.get(item, 0.0) - (time.monotonic() - since))
            try:
                ready = self._connection.poll(wait)
                message = self._connection.recv() if ready else None
            except (EOFError, OSError):
                raise WorkerDied(f"worker process died ({_cause(self._reap())})", item) from None
            if message is None:
                self._reap(kill=True)
                raise WorkerTimeout(f"ran past its time limit of {item_timeout_s:g} s", item)
            kind = message[0]
            if kind == "progress":
                now = time.monotonic()
                spent[item] = spent.get(item, 0.0) + now - since
                item, since = message[1], now
                if on_progress is not None:
                    on_progress(item)
            elif kind == "result":
                return message[1]
            else:
                raise WorkerError(message[1])

    def _reap(self, kill: bool = False) -> int | None:
        """Ends the child; returns its exit code (None if unknown)."""
        code = None
        if self._process is not None:
            if kill and self._process.is_alive():
                self._process.kill()
            self._process.join(timeout=10)
            code = self._process.exitcode
        if self._connection is not None:
            self._connection.close()
        self._process = self._connection = None
        return code

    def close(self) -> None:
        """Stops the worker (closing its pipe ends its loop; a stuck one is killed)."""
        if self._process is None:
            return
        self._connection.close()
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._process = self._connection = None
