"""The GPU job runs end to end on the CPU at toy sizes: gpu.txt, every file of the study, a summary that reads."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_gpu_job_runs_on_a_cpu_at_toy_sizes(tmp_path):
    pytest.importorskip("flax")
    env = {**os.environ, "CONFIG": "configs/hvp_models_smoke.toml", "PYTHON": sys.executable,
           "EXPKIT_GIT_COMMIT": "0" * 40}
    overrides = ['models=["gpt", "mlp"]', "repeats=1", 'methods=["gradient", "hvp_fwd_rev", "hvp_block"]']
    done = subprocess.run(["bash", "scripts/gpu_hvp_models.sh", str(tmp_path / "out"),
                           *(arg for o in overrides for arg in ("--set", o))], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "commit " + "0" * 40 in (tmp_path / "out/gpu.txt").read_text()
    run = tmp_path / "out/hvp_models_gpu"
    summary = pd.read_csv(run / "summary.csv")
    assert set(summary["model"]) == {"gpt", "mlp"} and (summary["status"] == "ok").all()
    assert summary.loc[summary["method"] == "hvp_block", "check_error"].max() < 1e-3  # against single products
    assert (run / "hvp_models.png").is_file() and (run / "reference.csv").is_file()
