"""lr_meta.plots: figures are drawn from result files alone."""

import pytest
import json

import numpy as np
import pandas as pd

from lr_meta import plots


def fake_run(out, status="ok", quadratic=True):
    steps = np.arange(0, 101, 10)
    frame = pd.DataFrame({"step": steps, "loss": 50.0 / (1 + steps), "grad_norm": 300.0 / (1 + steps),
                          "alpha_0": 0.05 + steps / 400, "alpha_1": 0.02 + steps / 300})
    if status == "diverged":
        frame = frame.iloc[:1]
    frame.to_csv(out / "trajectory.csv", index=False)
    summary = {"status": status, "steps_done": int(frame["step"].iloc[-1]), "loss_before": 50.0,
               "loss_after": float(frame["loss"].iloc[-1]), "alpha_before": [0.05, 0.02],
               "alpha_after": frame[["alpha_0", "alpha_1"]].iloc[-1].tolist(),
               "loss_tail_power_law_slope": -1.0}
    if status == "ok":
        (out / "certificate.json").write_text(json.dumps({"sphere": {"gradient_flow_limit": [1.0, 0.4]}}))
    if quadratic:
        summary["quadratic"] = {"mu": 0.01, "L": 1.0, "condition": 100.0}
        pd.DataFrame({"k": [0, 1, 2], "CG iterates": [1.0, 0.1, 0.01],
                      "constant 1/L": [1.0, 0.3, 0.1]}).to_csv(out / "quadratic_curves.csv", index=False)
    (out / "summary.json").write_text(json.dumps(summary))


@pytest.mark.slow
def test_all_figures_are_written_as_png_and_svg(tmp_path):
    fake_run(tmp_path)
    plots.plot_all(tmp_path)
    for stem in ("meta_loss", "alpha", "quadratic"):
        assert (tmp_path / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        svg = (tmp_path / f"{stem}.svg").read_text()
        assert "<svg" in svg and "<dc:date>" not in svg  # reproducible: no timestamp


def test_a_diverged_run_without_quadratic_still_plots(tmp_path):
    fake_run(tmp_path, status="diverged", quadratic=False)
    plots.plot_all(tmp_path)
    assert (tmp_path / "meta_loss.png").stat().st_size > 1000
    assert (tmp_path / "alpha.png").exists() and not (tmp_path / "quadratic.png").exists()
    assert "DIVERGED" in (tmp_path / "meta_loss.svg").read_text()
