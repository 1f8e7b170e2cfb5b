"""The worker process: results, errors, a death blamed on the item in flight, timeouts, and
no orphan after a kill -9 of its parent."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from expkit.worker import Worker, WorkerDied, WorkerError, WorkerTimeout, report

ROOT = Path(__file__).resolve().parents[2]


def add(a, b):
    return a + b


def fail():
    raise ValueError("bad value\nsecond line")


def die_during(item):
    report(item)
    os._exit(137)  # what the OOM killer leaves behind


def slow_items(seconds_per_item: dict):
    for item, seconds in seconds_per_item.items():
        report(item)
        time.sleep(seconds)
    return "done"


def pid():
    return os.getpid()


def set_env_flag(name):
    os.environ[name] = "1"


def read_env_flag(name):
    return os.environ.get(name)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead but not yet reaped by its (new) parent.
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


@pytest.fixture
def worker():
    w = Worker(initializer=set_env_flag, initargs=("EXPKIT_TEST_FLAG",))
    yield w
    w.close()


def test_results_errors_and_the_initializer(worker):
    assert worker.call(add, 2, 3) == 5
    assert worker.call("tests.expkit.test_worker:read_env_flag", "EXPKIT_TEST_FLAG") == "1"
    with pytest.raises(WorkerError, match="^ValueError: bad value$"):
        worker.call(fail)
    assert worker.call(add, 1, 1) == 2  # an error does not cost the worker
    assert worker.call(pid) != os.getpid()


def test_a_death_is_blamed_on_the_item_in_flight_and_the_next_call_gets_a_fresh_worker(worker):
    first = worker.call(pid)
    with pytest.raises(WorkerDied) as info:
        worker.call(die_during, ("scan", "hvp_rev_rev"))
    assert info.value.item == ("scan", "hvp_rev_rev") and not isinstance(info.value, WorkerTimeout)
    assert worker.call(pid) != first


@pytest.mark.slow
def test_each_item_has_its_own_time_limit(worker):
    # 0.3 s each for two items is within a 0.6 s per-item limit although 0.6 s pass in all.
    seen = []
    assert worker.call(slow_items, {"a": 0.3, "b": 0.3}, item_timeout_s=0.6, on_progress=seen.append) == "done"
    assert seen == ["a", "b"]
    start = time.monotonic()
    with pytest.raises(WorkerTimeout, match="time limit of 0.5 s") as info:
        worker.call(slow_items, {"a": 0.1, "hangs": 60}, item_timeout_s=0.5)
    assert info.value.item == "hangs"
    assert time.monotonic() - start < 5
    assert worker.call(add, 2, 2) == 4


def test_the_worker_exits_when_its_parent_is_killed(tmp_path):
    """A real kill -9 of the parent: the worker must not live on, reparented to init."""
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from expkit.worker import Worker
        w = Worker()
        print(w.call("tests.expkit.test_worker:pid"), flush=True)
        w.call("tests.expkit.test_worker:slow_items", {{"forever": 600}})
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    time.sleep(0.5)  # the child is inside its long call now
    assert alive(child)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    parent.stdout.close()
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child), "the worker outlived its parent"
