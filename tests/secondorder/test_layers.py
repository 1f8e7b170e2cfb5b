"""Layer formulations: the same numbers whatever the product, the rule or the unroll."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from secondorder.layers import LayerSpec, gelu_derivatives, layer, outer, product, product_t

pytestmark = pytest.mark.usefixtures("x64")


@pytest.mark.parametrize("activation", ["tanh", "exact"])
def test_gelu_derivatives_in_closed_form_match_jax(activation):
    z = jnp.linspace(-6.0, 6.0, 101)
    f = lambda t: jax.nn.gelu(t, approximate=activation == "tanh")  # noqa: E731
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


@pytest.mark.parametrize("spec", [LayerSpec("fused"), LayerSpec("matmul", rule="custom_jvp"),
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
