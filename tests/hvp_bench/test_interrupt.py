"""Ctrl-C at any moment: one line, exit 130, no traceback from the worker, and the re-run resumes.

Ctrl-C in a terminal sends SIGINT to the whole process group, the runner and its worker
alike; the test does the same (killpg) while the worker compiles, and again while it times.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]

# Runs hvp-run with a progress bar that prints each "what is in flight" label on stdout
# (the worker reports the (variant, method) it compiles, then the one it times).
# A pytest-xdist worker ignores SIGINT, and Python keeps an ignored SIGINT ignored: the
# runner takes back the handler it has in a terminal.
RUNNER = textwrap.dedent("""
    import os, signal, sys
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import hvp_bench.sweep as sweep

    class Bar(sweep.tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["file"] = open(os.devnull, "w")
            super().__init__(*args, **kwargs)

        def set_postfix_str(self, s="", refresh=True):
            print("IN FLIGHT", s, flush=True)

    sweep.tqdm = Bar
    from hvp_bench.cli import run
    run(sys.argv[1:])
""")


def interrupt(args: list[str], after: str, delay: float) -> tuple[int, str]:
    """Starts the runner, sends SIGINT to its process group `delay` s after a label containing `after`."""
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    for line in proc.stdout:
        if after in line:
            break
        assert time.monotonic() < deadline, "the runner never reached the point to interrupt"
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return proc.returncode, err


@pytest.mark.slow
@pytest.mark.parametrize("moment, overrides, after, delay", [
    # The task's own Python loop at 40 layers compiles for seconds.
    ("compiling", ["--set", "variants=['unrolled']", "--set", "depths=[40]", "--set", "methods=['hvp_rev_rev']"],
     "unrolled/hvp_rev_rev", 0.5),
    # A cheap method timed 200 000 times: seconds of timing after a fraction of a second of compile.
    ("timing", ["--set", "depths=[2]", "--set", "methods=['gradient']", "--set", "num_runs=200000"],
     "scan/gradient", 4.0),
], ids=["compiling", "timing"])
def test_ctrl_c_prints_one_line_exits_130_and_the_rerun_resumes(tmp_path, moment, overrides, after, delay):
    out = tmp_path / "run"
    args = ["--config", "configs/hvp_smoke.toml", "--out", str(out), "--no-plots", *overrides]
    status, err = interrupt(args, after, delay)
    assert status == 130
    assert err.strip().splitlines() == ["interrupted; re-run the same command to resume"], err
    assert '"status": "interrupted"' in (out / "meta.json").read_text()
    rerun = subprocess.run([sys.executable, "scripts/run_hvp.py", *args], cwd=ROOT, capture_output=True,
                           text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    rows = pd.read_csv(out / "runs.csv")
    assert set(rows["status"]) == {"ok"} and not rows.duplicated(["depth", "variant", "method", "run_index"]).any()
