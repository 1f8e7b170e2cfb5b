"""curvature.training: full-batch GD with optax, the log along training and the checkpoints."""

import numpy as np
import pytest

from curvature.digits import load_split
from curvature.trained_config import TrainedConfig
from curvature.training import LOG_COLUMNS, log_steps, train

pytestmark = pytest.mark.usefixtures("x64")


def test_log_steps_are_geometric_with_the_ends_and_checkpoints():
    steps = log_steps(1000, 10, checkpoints=(7, 500))
    assert steps[0] == 0 and steps[-1] == 1000 and {7, 500} <= set(steps.tolist())
    assert np.all(np.diff(steps) > 0) and len(steps) <= 13
    assert log_steps(0, 5).tolist() == [0]


def test_training_lowers_the_loss_and_keeps_the_checkpoints():
    config = TrainedConfig(train_images=60, test_images=30, hidden=(8,), steps=40, checkpoints=(0, 10, 40),
                           log_points=5, sharpness_lanczos_steps=8, lanczos_steps=20, deflate=4)
    split = load_split(60, 30, 0)
    rows, saved = train(config, split)
    assert list(rows[0]) == LOG_COLUMNS and rows[0]["step"] == 0 and rows[-1]["step"] == 40
    assert rows[-1]["train_loss"] < 0.5 * rows[0]["train_loss"]
    assert rows[0]["train_loss"] == pytest.approx(np.log(10), rel=0.2)  # near-uniform predictions at init
    assert list(saved) == ["init", "early", "converged"] and all(p.shape == (config.params,) for p in saved.values())
    for row in rows:
        assert row["hessian_min"] <= row["hessian_max"] and row["ggn_max"] > 0
    again, _ = train(config, split)
    assert again == rows  # deterministic: a resumed run sees the same checkpoints
