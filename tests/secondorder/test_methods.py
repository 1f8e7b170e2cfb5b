"""Every HVP against a float64 dense Hessian, against each other, and against finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from secondorder import methods as config
from secondorder.methods import METHODS, get_method
from secondorder.products import (
    calculate_hessian,
    hvp,
    hvp_fwd_rev,
    hvp_linearize,
    hvp_rev_fwd,
    hvp_rev_rev,
    linearize_hvp,
    naive_hvp,
)
from secondorder.model import MLP
from secondorder.sizes import layer_sizes_for
from secondorder.timing import time_method

pytestmark = pytest.mark.usefixtures("x64")  # float64 references throughout

MODELS = [
    ([3, 5, 2, 4, 1], "unrolled", 1),  # non-uniform sizes
    ([2, 3, 1], "unrolled", 2),
    (layer_sizes_for(5, 4, 3, 2), "scan", 1),
    (layer_sizes_for(2, 6, 6, 1), "scan", 3),
]
HVPS = [hvp_rev_rev, hvp_fwd_rev, hvp_rev_fwd, hvp_linearize]


def build_case(sizes, form, batch, dtype, seed=0):
    """A model in `dtype`, and a point and vector drawn in float64 then cast (same values)."""
    model = MLP(jax.random.PRNGKey(seed), sizes, form=form, init_scale=0.7, dtype=dtype, batch=batch)
    init = MLP(jax.random.PRNGKey(seed), sizes, init_scale=0.7, dtype=jnp.float64).get_params()
    # A random point near the init, so the test is not special to the init itself.
    p = init + 0.1 * jax.random.normal(jax.random.PRNGKey(seed + 1), init.shape, jnp.float64)
    v = jax.random.normal(jax.random.PRNGKey(seed + 2), init.shape, jnp.float64)
    return model, p.astype(dtype), v.astype(dtype)


def reference_hvp(sizes, form, batch, seed=0):
    model, p, v = build_case(sizes, form, batch, jnp.float64, seed)
    return calculate_hessian(model, p) @ v


def rel_err(a, b):
    return float(jnp.linalg.norm(jnp.asarray(a, jnp.float64) - b) / jnp.linalg.norm(b))


@pytest.mark.slow
@pytest.mark.parametrize("sizes, form, batch", MODELS)
@pytest.mark.parametrize("method", HVPS, ids=lambda m: m.__name__)
def test_hvp_matches_dense_float64(sizes, form, batch, method):
    ref = reference_hvp(sizes, form, batch)
    assert float(jnp.linalg.norm(ref)) > 1e-3  # a non-degenerate point
    model, p, v = build_case(sizes, form, batch, jnp.float64)
    assert rel_err(jax.jit(lambda p, v: method(model.loss, p, v))(p, v), ref) < 1e-10
    model32, p32, v32 = build_case(sizes, form, batch, jnp.float32)
    out32 = jax.jit(lambda p, v: method(model32.loss, p, v))(p32, v32)
    assert out32.dtype == jnp.float32
    assert rel_err(out32, ref) < 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("sizes, form, batch", MODELS)
def test_finite_difference_hvp_agrees(sizes, form, batch):
    model, p, v = build_case(sizes, form, batch, jnp.float64)
    g = jax.grad(model.loss)
    eps = 1e-5
    fd = (g(p + eps * v) - g(p - eps * v)) / (2 * eps)
    # Central differences: error O(eps^2) ~ 1e-10, plus roundoff ~ 1e-16 / eps ~ 1e-11.
    assert rel_err(fd, hvp(model.loss, p, v)) < 1e-7


@pytest.mark.slow
def test_gradient_agrees_with_finite_differences():
    model, p, v = build_case([3, 5, 2, 4, 1], "unrolled", 1, jnp.float64)
    eps = 1e-6
    fd = (model.loss(p + eps * v) - model.loss(p - eps * v)) / (2 * eps)
    np.testing.assert_allclose(jnp.vdot(jax.grad(model.loss)(p), v), fd, rtol=1e-7)


@pytest.mark.slow
def test_blocked_hessian_equals_jax_hessian():
    model, p, _ = build_case(layer_sizes_for(3, 4, 3, 2), "scan", 2, jnp.float64)
    full = calculate_hessian(model, p)
    for block in (1, 7, 10_000):
        np.testing.assert_allclose(calculate_hessian(model, p, block_size=block), full, rtol=1e-12, atol=1e-14)


def test_naive_hvp_is_matrix_vector_product():
    H = jnp.arange(9.0).reshape(3, 3)
    np.testing.assert_array_equal(naive_hvp(H, jnp.array([1.0, 0.0, -1.0])), [-2.0, -2.0, -2.0])


@pytest.mark.slow
def test_linearization_serves_many_vectors():
    model, p, _ = build_case([3, 5, 2, 4, 1], "unrolled", 1, jnp.float64)
    H = calculate_hessian(model, p)
    grad, apply = linearize_hvp(model.loss, p)
    np.testing.assert_allclose(grad, jax.grad(model.loss)(p), rtol=1e-12)
    V = jax.random.normal(jax.random.PRNGKey(5), (4, p.size), jnp.float64)
    np.testing.assert_allclose(jax.vmap(apply)(V), V @ H, rtol=1e-10, atol=1e-12)


def test_each_method_is_one_object_and_the_names_come_from_them():
    assert tuple(METHODS) == (*config.METHOD_NAMES, config.FLOOR_METHOD)
    assert all(name == method.name for name, method in METHODS.items())
    assert {m.name for m in METHODS.values() if not m.needs_vector} == {"gradient", config.FLOOR_METHOD}
    assert {m.name for m in METHODS.values() if m.dense} == {"hessian_then_hvp", "naive_hvp"}
    assert set(config.TASK_METHODS) <= set(METHODS)


def central_difference_hvp(f, p, v, eps=1e-5):
    """(grad f(p + eps v) - grad f(p - eps v)) / 2 eps: first-order reverse mode only."""
    g = jax.grad(f)
    return (g(p + eps * v) - g(p - eps * v)) / (2 * eps)


# Methods for any scalar function (hvp_by_hand needs the suite's MLP: tests/secondorder/test_r_operator.py).
GENERIC = [m for m in METHODS if not METHODS[m].needs_model]
SECOND_ORDER = [m for m in GENERIC if m not in ("gradient", config.FLOOR_METHOD)]


@pytest.mark.slow
@pytest.mark.parametrize("sizes, form, batch", [MODELS[0], MODELS[3]])  # unrolled uneven; scan, batch 3
@pytest.mark.parametrize("name", SECOND_ORDER)
def test_every_composition_matches_central_differences(sizes, form, batch, name):
    """A witness that shares no second-order path with any method (jax.hessian is fwd-over-rev)."""
    model, p, v = build_case(sizes, form, batch, jnp.float64)
    fd = central_difference_hvp(model.loss, p, v)
    timing = time_method(get_method(name), model.loss, p, v, num_runs=1, warmup=0)
    # Central differences: truncation O(eps^2) ~ 1e-10, roundoff ~ 1e-16 / eps ~ 1e-11.
    assert rel_err(timing.output, fd) < 1e-7


def closed_form(x: np.ndarray, a: np.ndarray):
    """f(x) = ½ xᵀAx + ¼‖x‖⁴ + Σ cos x_i and its Hessian A + ‖x‖² I + 2 x xᵀ − diag(cos x), in NumPy."""
    f = lambda y: 0.5 * y @ (a @ y) + 0.25 * (y @ y) ** 2 + jnp.sum(jnp.cos(y))  # noqa: E731
    hessian = a + (x @ x) * np.eye(x.size) + 2 * np.outer(x, x) - np.diag(np.cos(x))
    return f, hessian


@pytest.mark.parametrize("name", [m for m in GENERIC if m != config.FLOOR_METHOD])
def test_every_method_matches_a_closed_form_hessian(name):
    rng = np.random.default_rng(0)
    x, v = rng.standard_normal(30), rng.standard_normal(30)
    b = rng.standard_normal((30, 30))
    f, hessian = closed_form(x, (b + b.T) / 2)
    timing = time_method(get_method(name), f, jnp.asarray(x), jnp.asarray(v), num_runs=1, warmup=0)
    if name == "gradient":
        expected = (b + b.T) / 2 @ x + (x @ x) * x - np.sin(x)
    else:
        expected = hessian @ v
    np.testing.assert_allclose(timing.output, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.slow
def test_calculate_hessian_matches_the_closed_form():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(12)
    f, hessian = closed_form(x, np.diag(np.arange(12.0)))
    for block in (0, 5):
        np.testing.assert_allclose(calculate_hessian(f, jnp.asarray(x), block), hessian, rtol=1e-12, atol=1e-12)


def test_dispatch_floor_does_no_work():
    f, _ = closed_form(np.ones(3), np.eye(3))
    timing = time_method(get_method(config.FLOOR_METHOD), f, jnp.ones(3), jnp.arange(3.0), num_runs=2)
    np.testing.assert_array_equal(timing.output, [0.0])


@pytest.mark.slow
@pytest.mark.parametrize("name", list(METHODS))
@pytest.mark.parametrize("block", [0, 5])
def test_every_registered_method_through_the_timing_harness(name, block):
    """The registry's wiring (prepare state, apply) gives H v, or the gradient."""
    sizes, form, batch = MODELS[2]
    model, p, v = build_case(sizes, form, batch, jnp.float64)
    timing = time_method(get_method(name, hessian_block=block), model.loss, p, v, num_runs=2)
    if name == config.FLOOR_METHOD:
        np.testing.assert_array_equal(timing.output, v[:1])
        return
    expected = jax.grad(model.loss)(p) if name == "gradient" else reference_hvp(sizes, form, batch)
    assert rel_err(timing.output, expected) < 1e-10


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown method 'hvp_magic'"):
        get_method("hvp_magic")
