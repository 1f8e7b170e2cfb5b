import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from secondorder.model import MLP, health
from secondorder.sizes import layer_sizes_for
from secondorder.products import calculate_hessian, hvp_fwd_rev

pytestmark = pytest.mark.usefixtures("x64")  # float64 references throughout


@pytest.mark.slow
def test_layer_sizes_for_counts_hidden_layers():
    assert layer_sizes_for(3, 5, 2, 1) == [2, 5, 5, 5, 1]
    assert MLP(jax.random.PRNGKey(0), layer_sizes_for(3, 5, 2, 1)).num_params == 2 * 5 + 2 * 25 + 5


def test_weights_follow_the_tasks_init(key):
    sizes = [3, 4, 2]
    model = MLP(key, sizes)
    keys = jax.random.split(key, len(sizes) - 1)
    for w, k, m, n in zip(model.weights, keys, sizes[:-1], sizes[1:]):
        np.testing.assert_array_equal(w, jax.random.normal(k, (m, n), dtype=jnp.float32))
    scaled = MLP(key, sizes, init_scale=0.25)
    np.testing.assert_allclose(scaled.weights[0], 0.25 * model.weights[0], rtol=1e-6)
    fan_in = MLP(key, sizes, init="fan_in", init_scale=2.0)
    for w, base, m in zip(fan_in.weights, model.weights, sizes[:-1]):
        np.testing.assert_allclose(w, 2.0 * base / np.sqrt(m), rtol=1e-6)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_equal_layers_are_drawn_in_one_call_with_the_loops_numbers(key, dtype):
    # 131 hidden layers of one shape: drawn vmapped, in chunks (the last one padded).
    sizes = layer_sizes_for(131, 3, 2, 1)
    model = MLP(key, sizes, dtype=dtype, init="fan_in", init_scale=1.5)
    keys = jax.random.split(key, len(sizes) - 1)
    assert len(model.weights) == len(sizes) - 1
    for w, k, m, n in zip(model.weights, keys, sizes[:-1], sizes[1:]):
        assert w.dtype == dtype
        np.testing.assert_array_equal(w, 1.5 / math.sqrt(m) * jax.random.normal(k, (m, n), dtype=dtype))


def test_a_twin_has_the_same_weights_in_another_formulation(key):
    model = MLP(key, layer_sizes_for(4, 3, 2, 1), init_scale=0.5)
    twin = model.twin(form="scan", layer={"activation": "logistic"})
    assert (model.form, model.layer.activation) == ("unrolled", "tanh")
    assert (twin.form, twin.layer.activation) == ("scan", "logistic")
    np.testing.assert_array_equal(twin.get_params(), model.get_params())
    np.testing.assert_allclose(twin.loss(twin.get_params()), model.loss(model.get_params()), rtol=1e-6)
    for bad in (2, 0):  # the unrolled form takes no unroll; 0 is no unroll at all
        with pytest.raises(ValueError, match="unroll"):
            model.twin(unroll=bad)


def test_get_params_is_ravel_pytree_and_round_trips(key):
    model = MLP(key, [3, 5, 2, 4, 1])
    params = model.get_params()
    assert params.shape == (model.num_params,) == (3 * 5 + 5 * 2 + 2 * 4 + 4,)
    np.testing.assert_array_equal(params, ravel_pytree(model.weights)[0])
    for w, back in zip(model.weights, model.unflatten(params)):
        np.testing.assert_array_equal(w, back)


@pytest.mark.slow
def test_forward_is_the_tasks_loop(key):
    model = MLP(key, [3, 5, 2, 4, 1], init_scale=0.5)
    x = jnp.ones((2, 3), jnp.float32)
    expected = x
    for w in model.weights[:-1]:
        expected = jax.nn.gelu(expected @ w)
    expected = expected @ model.weights[-1]
    np.testing.assert_allclose(model.forward(x), expected, rtol=1e-6)


def test_loss_reads_its_argument(key):
    # The task's template ignores `params`; ours must not.
    model = MLP(key, [3, 4, 1], init_scale=0.5)
    p = model.get_params()
    assert float(model.loss(p)) != float(model.loss(1.1 * p))


@pytest.mark.slow
@pytest.mark.parametrize("batch", [1, 3])
def test_scan_and_unrolled_agree(key, batch):
    sizes = layer_sizes_for(6, 4, 3, 2)
    kw = dict(init_scale=0.7, dtype=jnp.float64, batch=batch)
    scan, unrolled = MLP(key, sizes, form="scan", **kw), MLP(key, sizes, form="unrolled", **kw)
    p = scan.get_params()
    v = jax.random.normal(jax.random.PRNGKey(1), p.shape, jnp.float64)
    np.testing.assert_array_equal(p, unrolled.get_params())
    np.testing.assert_allclose(scan.loss(p), unrolled.loss(p), rtol=1e-13)
    np.testing.assert_allclose(jax.grad(scan.loss)(p), jax.grad(unrolled.loss)(p), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        hvp_fwd_rev(scan.loss, p, v), hvp_fwd_rev(unrolled.loss, p, v), rtol=1e-11, atol=1e-13
    )


@pytest.mark.slow
def test_hessian_symmetric_and_nonzero(key):
    model = MLP(key, [3, 4, 3, 2], init_scale=0.8, dtype=jnp.float64)
    H = calculate_hessian(model, model.get_params())
    assert H.shape == (model.num_params,) * 2
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    assert float(jnp.abs(H).max()) > 1e-2


@pytest.mark.slow
def test_health_flags_alive_and_dead_models(key):
    alive = MLP(key, layer_sizes_for(3, 4, 4, 1), init_scale=0.8, form="scan")
    p = alive.get_params()
    v = jnp.ones_like(p)
    assert all(health(alive.loss, p, v).values())
    # The task's N(0, 1) init at width 4 underflows to exact zeros by 1000 layers (seed 0).
    dead = MLP(key, layer_sizes_for(1000, 4, 4, 1), form="scan")
    flags = health(dead.loss, dead.get_params(), jnp.ones(dead.num_params, jnp.float32))
    assert flags["loss_finite"] and not flags["loss_nonzero"] and not flags["hvp_nonzero"]


@pytest.mark.parametrize(
    "sizes, form, match",
    [
        ([], "unrolled", "at least 2"),
        ([4], "unrolled", "at least 2"),
        ([4, 0, 1], "unrolled", "positive"),
        ([4, -3, 1], "scan", "positive"),
        ([4, 5, 6, 1], "scan", "equal hidden widths"),
        ([4, 1], "scan", "at least one hidden layer"),
        ([4, 4, 1], "diagonal", "form must be"),
    ],
)
def test_bad_layer_sizes(key, sizes, form, match):
    with pytest.raises(ValueError, match=match):
        MLP(key, sizes, form=form)


def test_bad_init_and_batch(key):
    with pytest.raises(ValueError, match="init must be 'normal' or 'fan_in'"):
        MLP(key, [3, 4, 1], init="xavier")
    with pytest.raises(ValueError, match="batch must be >= 1"):
        MLP(key, [3, 4, 1], batch=0)


@pytest.mark.parametrize("form", ["unrolled", "scan"])
def test_both_key_styles_draw_the_same_weights(form):
    # jax.random.key is the typed key JAX recommends; PRNGKey the legacy raw one.
    sizes = layer_sizes_for(140, 4, 4, 1) if form == "scan" else [4, 4, 4, 4, 1]
    typed = MLP(jax.random.key(3), sizes, form=form)
    legacy = MLP(jax.random.PRNGKey(3), sizes, form=form)
    np.testing.assert_array_equal(typed.get_params(), legacy.get_params())
    # ... and the task's own per-layer draw with the typed key, as the task writes it.
    keys = jax.random.split(jax.random.key(3), len(sizes) - 1)
    for w, k, m, n in zip(typed.weights, keys, sizes[:-1], sizes[1:]):
        np.testing.assert_array_equal(w, jax.random.normal(k, (m, n), dtype=jnp.float32))
