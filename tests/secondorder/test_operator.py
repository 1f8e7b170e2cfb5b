"""secondorder.operators: the Hessian and GGN operators against closed forms and dense references,
and the batch-sharded operator against the single-device one."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from secondorder.operators import ggn_operator, hessian_operator
from tests.helpers.host_devices import run_on_host_devices


pytestmark = pytest.mark.usefixtures("x64")  # float64 throughout (tests/conftest.py)


@pytest.mark.parametrize("hvp", ["linearize", "fwd_rev", "rev_rev"])
def test_every_composition_gives_the_closed_form_hessian(hvp):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(30, 30))
    a = jnp.asarray(a + a.T)
    x, v = jnp.asarray(rng.normal(size=30)), jnp.asarray(rng.normal(size=(4, 30)))

    def f(x):
        return 0.5 * x @ a @ x + jnp.sum(jnp.cos(x))

    hessian = np.asarray(a) - np.diag(np.cos(np.asarray(x)))  # the witness, by hand
    out = jax.jit(lambda x, v: hessian_operator(f, x, hvp=hvp).matmat(v))(x, v)
    np.testing.assert_allclose(out, np.asarray(v) @ hessian, rtol=1e-12, atol=1e-12)


def test_the_ggn_of_a_pytree_model_is_jt_h_j():
    # A model the suite did not write: parameters a dict, outputs (n, 3), softmax cross-entropy.
    keys = jax.random.split(jax.random.key(0), 4)
    params = {"w": jax.random.normal(keys[0], (4, 5)), "v": jax.random.normal(keys[1], (5, 3))}
    x = jax.random.normal(keys[2], (6, 4))
    y = jax.random.randint(keys[3], (6,), 0, 3)

    def predict(p, x):
        return jnp.tanh(x @ p["w"]) @ p["v"]

    def output_loss(z, y):
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(z), y[:, None], axis=1))

    flat, unravel = ravel_pytree(params)
    jac = np.asarray(jax.jacfwd(lambda f: predict(unravel(f), x).ravel())(flat))  # (n * 3, P)
    z = predict(params, x)
    h_out = np.asarray(jax.hessian(lambda z: output_loss(z.reshape(6, 3), y))(z.ravel()))
    want = jac.T @ h_out @ jac  # the witness, assembled densely
    op = ggn_operator(predict, output_loss, params, x, y)
    got = np.stack([np.asarray(op.matvec(e)) for e in np.eye(flat.size)])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    assert np.linalg.eigvalsh(got).min() > -1e-12  # positive semi-definite
    assert jax.tree.structure(op.unravel(op.matvec(flat))) == jax.tree.structure(params)
    # The same loss's Hessian differs from the GGN by the network's second derivative.
    hess = hessian_operator(lambda p, x, y: output_loss(predict(p, x), y), params, x, y)
    full = np.stack([np.asarray(hess.matvec(e)) for e in np.eye(flat.size)])
    assert np.abs(full - got).max() > 1e-3


def test_shard_batch_refuses_rows_that_do_not_split():
    from secondorder.operators import shard_batch

    assert shard_batch(jnp.ones((3, 2)), None).shape == (3, 2)
    mesh = jax.sharding.Mesh(np.array(jax.devices()[:1] * 1), ("data",))
    assert shard_batch(jnp.ones((3, 2)), mesh).shape == (3, 2)


SHARDED = """
import json, jax, jax.numpy as jnp, numpy as np
from secondorder import (data_mesh, diagonal_estimate, ggn_operator, hessian_operator, shard_batch,
                         spectral_density, top_eigenvalues, trace_estimate)
jax.config.update("jax_enable_x64", True)
out = {"devices": jax.device_count()}
k = jax.random.split(jax.random.key(0), 4)
params = {"w": jax.random.normal(k[0], (6, 8)) / 2, "v": jax.random.normal(k[1], (8, 3)) / 3}
x, y = jax.random.normal(k[2], (16, 6)), jax.random.randint(k[3], (16,), 0, 3)
def predict(p, x):
    return jnp.tanh(x @ p["w"]) @ p["v"]
def cross_entropy(z, y):  # a mean over the rows: the shards' parts are not simply added
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(z), y[:, None], axis=1))
def loss(p, x, y):
    return cross_entropy(predict(p, x), y)
v = jax.tree.map(jnp.ones_like, params)
@jax.jit
def everything(params, x, y, key):
    ops = {"hessian": hessian_operator(loss, params, x, y), "ggn": ggn_operator(predict, cross_entropy, params, x, y)}
    flat_v = jnp.ones(ops["hessian"].size)
    return {f"{name}_{what}": value for name, op in ops.items() for what, value in (
        ("hv", op.matvec(flat_v)), ("top", top_eigenvalues(op, 3, key=key, num_steps=20)),
        ("trace", trace_estimate(op, key=key, num_matvecs=24).estimate),
        ("diag", diagonal_estimate(op, key=key, num_matvecs=12)["w"]),
        ("density", spectral_density(op, key=key, num_probes=2, num_steps=10).nodes))}
results = {}
for devices in (1, 4):
    xs, ys = shard_batch((x, y), data_mesh(devices))
    out[f"shards_{devices}"] = len(xs.sharding.device_set)
    results[devices] = {k: np.asarray(a) for k, a in everything(params, xs, ys, jax.random.key(1)).items()}
for name, single in results[1].items():
    out[name] = float(np.max(np.abs(results[4][name] - single)) / np.max(np.abs(single)))
print(json.dumps(out))
"""


@pytest.mark.slow
def test_a_sharded_batch_gives_every_estimator_the_single_device_answer():
    out = run_on_host_devices(SHARDED, 4)
    assert out.pop("devices") == 4 and out.pop("shards_4") == 4 and out.pop("shards_1") == 1
    # A mean loss over sharded rows, partitioned by XLA: equal to float64 rounding.
    assert all(diff < 1e-10 for diff in out.values()), out
