"""Full-batch gradient descent on the digits with optax, logging the curvature along the way.

Gradient descent at a fixed step η is stable on a quadratic only while the largest
Hessian eigenvalue (the sharpness) stays below 2/η. Cohen, Kaur, Li, Kolter, Talwalkar
("Gradient descent on neural networks typically occurs at the edge of stability",
ICLR 2021, https://arxiv.org/abs/2103.00065) found that full-batch GD on networks
drives the sharpness up to 2/η and then hovers there while the loss still falls. The
log here records the sharpness (Lanczos, a few dozen products) beside the loss so
that the run's figure can show where this network stands against 2/η.

Call under `jax.enable_x64(True)` for float64 training.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from curvature.classifier import Classifier, mean_cross_entropy, operator
from curvature.digits import Split
from secondorder.lanczos import ritz_values
from secondorder.operators import data_mesh, shard_batch

LOG_COLUMNS = ["step", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "grad_norm",
               "hessian_max", "hessian_min", "ggn_max"]


def log_steps(steps: int, points: int, checkpoints=()) -> np.ndarray:
    """About `points` steps in [0, steps], spaced geometrically, with 0, `steps` and the checkpoints."""
    spaced = np.rint(np.geomspace(1, max(steps, 1), points)).astype(int) if steps else np.array([], int)
    return np.unique(np.concatenate([[0, steps], spaced, np.asarray(checkpoints, int)]))


def train(config, split: Split) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Trains `config` (a TrainedConfig) on `split`; returns (log rows, {checkpoint name: params (P,)}).

    The training batch is sharded over `config.devices` devices. The log's eigenvalues
    come from `config.sharpness_lanczos_steps` Lanczos steps from one fixed start vector.
    """
    net = Classifier(config.sizes)
    x, y = shard_batch((jnp.asarray(split.x_train), jnp.asarray(split.y_train)), data_mesh(config.devices))
    x_test, y_test = jnp.asarray(split.x_test), jnp.asarray(split.y_test)
    loss = net.loss
    optimiser = optax.sgd(config.learning_rate)
    params = net.init(jax.random.PRNGKey(config.seed))
    state = optimiser.init(params)
    start = jax.random.normal(jax.random.fold_in(jax.random.PRNGKey(config.seed), 7), params.shape, params.dtype)

    @jax.jit
    def step(params, state):
        grads = jax.grad(loss)(params, x, y)
        updates, state = optimiser.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    @jax.jit
    def measure(params):
        value, grads = jax.value_and_grad(loss)(params, x, y)
        logits = net.apply(params, x_test)
        k = config.sharpness_lanczos_steps
        h_ritz = ritz_values(operator(net, "hessian", params, x, y), start, k)
        g_ritz = ritz_values(operator(net, "ggn", params, x, y), start, k)
        return {"train_loss": value, "train_accuracy": _accuracy(net.apply(params, x), y),
                "test_loss": mean_cross_entropy(logits, y_test),
                "test_accuracy": _accuracy(logits, y_test), "grad_norm": jnp.linalg.norm(grads),
                "hessian_max": h_ritz[-1], "hessian_min": h_ritz[0], "ggn_max": g_ritz[-1]}

    logged = set(log_steps(config.steps, config.log_points, config.checkpoints).tolist())
    names = dict(zip(config.checkpoints, config.checkpoint_names))
    rows, saved = [], {}
    for t in range(config.steps + 1):
        if t in logged:
            values = measure(params)
            rows.append({"step": t, **{k: float(values[k]) for k in LOG_COLUMNS[1:]}})
        if t in names:
            saved[names[t]] = np.asarray(params, np.float64)
        if t < config.steps:
            params, state = step(params, state)
    return rows, saved


def _accuracy(logits, labels):
    return jnp.mean((jnp.argmax(logits, axis=1) == labels).astype(logits.dtype))
