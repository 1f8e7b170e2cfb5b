"""Layer formulations: the same numbers whatever the product, the rule or the unroll."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from secondorder.layers import _A, _C, LayerSpec, gelu, gelu_derivatives, layer, outer, product, product_t
from hvp_bench.long_double import LD, gelu_stable, gelu_tanh

pytestmark = pytest.mark.usefixtures("x64")


@pytest.mark.slow
@pytest.mark.parametrize("activation", ["tanh", "exact", "logistic"])
def test_gelu_derivatives_in_closed_form_match_jax(activation):
    z = jnp.linspace(-6.0, 6.0, 101)
    f = lambda t: gelu(t, activation)  # noqa: E731
    g, g1, g2 = gelu_derivatives(z, activation)
    np.testing.assert_allclose(g, f(z), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(g1, jax.vmap(jax.grad(f))(z), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g2, jax.vmap(jax.grad(jax.grad(f)))(z), rtol=1e-11, atol=1e-13)
    # Central differences of g' as a witness independent of JAX's rules.
    eps = 1e-6
    np.testing.assert_allclose(g2, (gelu_derivatives(z + eps, activation)[1] - gelu_derivatives(z - eps, activation)[1])
                               / (2 * eps), rtol=1e-6, atol=1e-8)


def test_fused_products_equal_the_dot():
    rng = np.random.default_rng(0)
    h, w, g = rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), rng.standard_normal((3, 5))
    np.testing.assert_allclose(product(h, w, "fused"), h @ w, rtol=1e-13)
    np.testing.assert_allclose(product_t(g, w, "fused"), g @ w.T, rtol=1e-13)
    np.testing.assert_allclose(outer(h, g, "fused"), h.T @ g, rtol=1e-13)


@pytest.mark.slow
@pytest.mark.parametrize("spec", [LayerSpec("fused"), LayerSpec("matmul", rule="custom_jvp"),
                                  LayerSpec("fused", "logistic", "custom_jvp", remat=True),
                                  LayerSpec("fused", rule="custom_jvp"), LayerSpec("fused", "exact", "custom_jvp"),
                                  LayerSpec("fused", rule="custom_jvp", remat=True), LayerSpec(remat=True)])
def test_every_formulation_has_the_same_second_derivatives(spec):
    rng = np.random.default_rng(1)
    h, w = jnp.asarray(rng.standard_normal((2, 4))), jnp.asarray(rng.standard_normal((4, 4)))
    ref_spec = LayerSpec(activation=spec.activation)

    def loss(spec):
        return lambda hw: jnp.sum(layer(hw[0], hw[1], spec) ** 3)

    v = (jnp.asarray(rng.standard_normal((2, 4))), jnp.asarray(rng.standard_normal((4, 4))))
    hvp = lambda f: jax.jvp(jax.grad(f), ((h, w),), (v,))[1]  # noqa: E731
    for got, want in zip(hvp(loss(spec)), hvp(loss(ref_spec))):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    for got, want in zip(jax.hessian(loss(spec))((h, w)), jax.hessian(loss(ref_spec))((h, w))):
        for a, b in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_bad_spec_names_the_field():
    with pytest.raises(ValueError, match="product must be one of"):
        LayerSpec("conv")


WIDE = np.concatenate([-np.logspace(-3, 3, 300), np.logspace(-3, 4, 300), np.linspace(-8, 8, 161)])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_logistic_form_is_the_tanh_gelu(dtype):
    z = jnp.asarray(WIDE, dtype)
    logistic, tanh = (np.asarray(gelu(z, a)).astype(LD) for a in ("logistic", "tanh"))
    zl = np.asarray(z).astype(LD)
    truth = gelu_stable(zl)  # z sigmoid(2u) in long double: no cancellation
    eps, tiny = np.finfo(dtype).eps, np.finfo(dtype).tiny

    def ulps(a, b):
        return np.abs(a - b) / (eps * np.abs(b) + tiny)

    # Zero exactly where jax.nn.gelu's 1 + tanh(u) rounds to 0, nowhere else.
    np.testing.assert_array_equal(logistic == 0, tanh == 0)
    live = tanh != 0
    # Within a few ulp of jax.nn.gelu where the tanh form is itself accurate (z >= -1: 1 + tanh u >= 0.3)...
    assert ulps(logistic, tanh)[live & (zl >= -1)].max() <= 4
    # ... and within a few ulp of the truth everywhere, up to the rounding of u, which
    # sigmoid(2u) amplifies by |2u| (the tanh form's 1 + tanh u loses far more: 1e7 ulp at z = -5).
    u = np.abs(_C * (zl + _A * zl**3))
    assert (ulps(logistic, truth)[live] / (1 + 2 * u[live])).max() <= 4
    assert (ulps(logistic, truth) <= ulps(tanh, truth) + 4)[live].all()


def test_the_logistic_forms_derivatives_against_the_long_double_closed_form():
    z = jnp.asarray(np.concatenate([np.linspace(-8, 8, 321), -np.logspace(1, 5, 40), np.logspace(1, 4, 40)]))
    _, want1, want2 = (a.astype(np.float64) for a in gelu_tanh(np.asarray(z)))
    f = lambda t: gelu(t, "logistic")  # noqa: E731
    d1 = jax.jit(jax.vmap(jax.grad(f)))(z)
    d2 = jax.jit(jax.vmap(jax.grad(jax.grad(f))))(z)
    _, c1, c2 = gelu_derivatives(z, "logistic")
    for got, want in ((d1, want1), (c1, want1), (d2, want2), (c2, want2)):
        # atol: 1 - p (and 1 - t in the tanh form) loses digits for z > 0 in float64.
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_the_long_double_closed_form_is_its_own_functions_derivative():
    # The witness checked by its own central differences (in long double: h^2 and eps/h both < 1e-11).
    z, h = np.linspace(-6, 6, 121).astype(LD), LD(1e-7)
    g, g1, g2 = gelu_tanh(z)
    np.testing.assert_allclose((gelu_stable(z + h) - gelu_stable(z - h)) / (2 * h), g1, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose((gelu_tanh(z + h)[1] - gelu_tanh(z - h)[1]) / (2 * h), g2, rtol=1e-10, atol=1e-11)
    np.testing.assert_allclose(g, gelu_stable(z), rtol=1e-15, atol=1e-15)
