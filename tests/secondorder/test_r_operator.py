"""The hand-derived HVP against the float64 dense Hessian and central differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from secondorder.methods import get_method
from secondorder.products import calculate_hessian
from secondorder.model import MLP
from secondorder.sizes import layer_sizes_for
from secondorder.timing import time_method

pytestmark = pytest.mark.usefixtures("x64")


def build_case(batch=1, **model_kwargs):
    model = MLP(jax.random.PRNGKey(0), layer_sizes_for(5, 4, 3, 2), form="scan", init_scale=0.7,
                dtype=jnp.float64, batch=batch, **model_kwargs)
    p = model.get_params() + 0.1 * jax.random.normal(jax.random.PRNGKey(1), (model.num_params,), jnp.float64)
    v = jax.random.normal(jax.random.PRNGKey(2), p.shape, jnp.float64)
    x = jax.random.normal(jax.random.PRNGKey(3), (batch, 3), jnp.float64)  # not the task's ones: any input
    return model, p, v, x


@pytest.mark.slow
@pytest.mark.parametrize("batch, kwargs", [
    (1, {}), (3, {}), (1, {"layer": {"product": "fused"}}), (2, {"layer": {"activation": "exact"}}),
    (1, {"unroll": 3, "layer": {"product": "fused"}}),
])
def test_matches_the_dense_hessian_and_central_differences(batch, kwargs):
    model, p, v, x = build_case(batch, **kwargs)
    got = jax.jit(model.hvp_by_hand)(p, v, x)
    dense = calculate_hessian(lambda q: model.loss(q, x), p) @ v
    np.testing.assert_allclose(got, dense, rtol=1e-10, atol=1e-12)
    g = jax.grad(lambda q: model.loss(q, x))
    eps = 1e-5
    fd = (g(p + eps * v) - g(p - eps * v)) / (2 * eps)
    assert float(jnp.linalg.norm(got - fd) / jnp.linalg.norm(fd)) < 1e-7


@pytest.mark.slow
def test_float32_is_close_to_the_float64_reference():
    model, p, v, x = build_case()
    ref = model.hvp_by_hand(p, v, x)
    model32 = MLP(jax.random.PRNGKey(0), layer_sizes_for(5, 4, 3, 2), form="scan", dtype=jnp.float32)
    out = model32.hvp_by_hand(p.astype(jnp.float32), v.astype(jnp.float32), x.astype(jnp.float32))
    assert out.dtype == jnp.float32
    assert float(jnp.linalg.norm(out - ref) / jnp.linalg.norm(ref)) < 1e-4


@pytest.mark.slow
def test_registered_method_through_the_harness_and_a_block_of_vectors():
    model, p, v, _ = build_case()
    V = jnp.stack([v, 2 * v, -v])
    timing = time_method(get_method("hvp_by_hand"), model.loss, p, V, num_runs=1, warmup=0)
    ref = calculate_hessian(model.loss, p) @ v
    np.testing.assert_allclose(timing.output, jnp.stack([ref, 2 * ref, -ref]), rtol=1e-10, atol=1e-12)


def test_it_refuses_a_function_that_is_not_the_suites_mlp():
    with pytest.raises(ValueError, match="needs the suite's MLP"):
        time_method(get_method("hvp_by_hand"), lambda p: jnp.sum(p**2), jnp.ones(3), jnp.ones(3))
