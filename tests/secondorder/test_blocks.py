"""Blocks of HVPs and dense Hessians at any depth, against the long-double witness.

XLA:CPU gets the vmapped derivatives of the tanh-form GELU wrong on saturated units
(docs/xla_cpu_tanh_jvp.md): a block of HVPs of the deep width-16 network was off by 1e7
at 250 layers and not finite at 500, and `jax.hessian` of a dead network returned
entries of 1e-6 where the Hessian is 0. The suite forms blocks and dense Hessians in the
logistic form of the same GELU (`MLP.vmap_safe`); these tests hold it to
hvp_bench/long_double.py, which shares no code with secondorder.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from secondorder.layers import VMAP_SAFE, gelu
from secondorder.model import MLP
from secondorder.operators import hessian_operator
from secondorder.products import calculate_hessian, hvp_fwd_rev
from secondorder.sizes import layer_sizes_for
from hvp_bench.long_double import mlp_hvp, relative_error

pytestmark = pytest.mark.usefixtures("x64")


def deep_model(depth: int, activation: str = "logistic") -> MLP:
    """The curvature study's network: width 16, input 16, fan-in init x 1.55, float64, scan."""
    return MLP(jax.random.PRNGKey(0), layer_sizes_for(depth, 16, 16, 1), form="scan", init="fan_in",
               init_scale=1.55, dtype=jnp.float64, layer={"activation": activation})


def reference(model: MLP, vectors) -> np.ndarray:
    return mlp_hvp(np.asarray(model.get_params()), np.asarray(vectors), model.layer_sizes,
                   np.asarray(model.inputs()))


def rademacher(model: MLP, k: int = 3):
    return jax.random.rademacher(jax.random.PRNGKey(1), (k, model.num_params), dtype=jnp.float64)


@pytest.mark.slow
def test_the_witness_equals_the_float64_dense_hessian_of_a_shallow_network():
    model = deep_model(3, "tanh")
    vectors = rademacher(model)
    dense = np.asarray(jax.jit(jax.hessian(model.loss))(model.get_params()))
    assert relative_error(np.asarray(vectors) @ dense, reference(model, vectors)) < 1e-13


@pytest.mark.slow
@pytest.mark.parametrize("depth", [250, 500])
def test_operator_blocks_and_a_plain_vmap_are_right_on_the_deep_network(depth):
    model = deep_model(depth)
    params, vectors = model.get_params(), rademacher(model)
    want = reference(model, vectors)
    block = jax.jit(lambda p, v: hessian_operator(model.loss, p).matmat(v))(params, vectors)
    vmapped = jax.jit(jax.vmap(lambda v: hvp_fwd_rev(model.loss, params, v)))(vectors)
    # Measured: 1e-12 and below at 250-1000 layers; the tanh form's vmapped block was 1e7 off.
    assert relative_error(block, want) < 1e-8
    assert relative_error(vmapped, want) < 1e-8


@pytest.mark.slow
def test_the_literal_tanh_form_is_right_one_vector_at_a_time_and_still_wrong_vmapped():
    # The regression test of the XLA:CPU fault the library works around (`MLP.vmap_safe`).
    model = deep_model(250, "tanh")
    params, vectors = model.get_params(), rademacher(model, 2)
    want = reference(model, vectors)
    one = jax.jit(lambda p, v: hvp_fwd_rev(model.loss, p, v))
    single = np.stack([np.asarray(one(params, v)) for v in vectors])
    block = jax.jit(lambda p, vs: jax.vmap(lambda v: hvp_fwd_rev(model.loss, p, v))(vs))(params, vectors)
    assert relative_error(single, want) < 1e-8
    # docs/xla_cpu_tanh_jvp.md: 1e7 off at 250 layers. When this starts to fail, XLA has
    # fixed the fault, and the logistic form (layers.vmap_safe) is no longer needed.
    assert not relative_error(block, want) < 1e-8
    # The library's way: the same model's operator runs its vmap-safe form.
    safe = jax.jit(lambda p, v: hessian_operator(model.vmap_safe().loss, p).matmat(v))(params, vectors)
    assert relative_error(safe, want) < 1e-8


@pytest.mark.slow
def test_the_dense_route_is_exactly_zero_on_a_dead_network():
    # The task's network (width 4, N(0, 1) init) in float64 saturates every unit from about
    # 20 layers on: the witness's Hessian is exactly 0 there.
    model = MLP(jax.random.PRNGKey(0), layer_sizes_for(20, 4, 4, 1), form="scan", dtype=jnp.float64)
    params = model.get_params()
    vectors = jax.random.normal(jax.random.PRNGKey(1), (2, model.num_params), jnp.float64)
    assert not reference(model, vectors).any()
    assert not np.asarray(jax.jit(lambda p: calculate_hessian(model, p))(params)).any()
    assert not np.asarray(jax.jit(lambda p: calculate_hessian(model, p, block_size=32))(params)).any()
    assert not np.asarray(jax.jit(lambda p, v: hvp_fwd_rev(model.loss, p, v))(params, vectors[0])).any()


@pytest.mark.parametrize("activation", VMAP_SAFE)
def test_vmapped_unit_derivatives_equal_single_ones_on_saturated_units(activation):
    # The reproducer's sixteen numbers: where the tanh form returned 1e-9 (g') and 5e6
    # (g'') for exact zeros.
    x = jnp.array([-3.0, -20.0, -1e2, -1e3, -1e4, -1e5, 1.0, 2.0] * 2)
    vectors = jnp.ones((4, 16))

    def d1(x, v):
        return jax.jvp(lambda z: gelu(z, activation), (x,), (v,))[1]

    def d2(x, v):
        return jax.jvp(jax.grad(lambda z: jnp.sum(gelu(z, activation))), (x,), (v,))[1]

    for fn in (d1, d2):
        single = np.asarray(jax.jit(fn)(x, vectors[0]))
        block = np.asarray(jax.jit(jax.vmap(fn, in_axes=(None, 0)))(x, vectors))
        np.testing.assert_allclose(block, np.broadcast_to(single, block.shape), rtol=1e-14, atol=0)
        assert not block[:, 2:6].any() and not single[2:6].any()  # z <= -100: exactly 0


@pytest.mark.parametrize("name", ["hvp_fwd_rev", "hvp_linearized_apply", "hessian_then_hvp"])
def test_the_timing_harness_runs_blocks_in_the_vmap_safe_form(name):
    # On the dead network every product is exactly 0; the tanh form, vmapped, is not (a
    # stored linearization applied to a block included: it must be built vmap-safe too).
    from secondorder.methods import get_method
    from secondorder.timing import time_method

    model = MLP(jax.random.PRNGKey(0), layer_sizes_for(20, 4, 4, 1), form="scan", dtype=jnp.float64)
    params = model.get_params()
    block = jax.random.normal(jax.random.PRNGKey(1), (2, model.num_params), jnp.float64)
    assert not reference(model, block).any()
    out = time_method(get_method(name), model.loss, params, block, num_runs=1).output
    assert out.shape == block.shape and not np.asarray(out).any()
