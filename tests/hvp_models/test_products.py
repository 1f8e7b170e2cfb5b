"""Every product the model study times, on each model at toy size in float64, against a witness of its own:
central finite differences of the gradient for the HVPs, the dense Jᵀ H_out J for the Gauss-Newton product."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from hvp_models.catalog import METHODS, Sizes
from hvp_models.methods import compile_prepare, ggn_by_jvp_vjp, random_like, relative_error, timed_function
from hvp_models.zoo import build

pytestmark = pytest.mark.usefixtures("x64")
TINY = Sizes(image=8, resnet_stages=(1, 1), resnet_width=4, vit_patch=4, vit_dim=8, vit_depth=1, vit_heads=2,
             gpt_dim=8, gpt_depth=1, gpt_heads=2, gpt_seq=4, gpt_vocab=11, mlp_width=6, mlp_depth=2, classes=3)
NEEDS_FLAX = {"resnet", "vit", "gpt"}


def _problem(name):
    if name in NEEDS_FLAX:
        pytest.importorskip("flax")
    return build(name, batch=2, sizes=TINY, dtype=jnp.float64)


@pytest.mark.parametrize("name", [pytest.param(m, marks=pytest.mark.slow) for m in ("resnet", "vit", "gpt")] + ["mlp"])
def test_every_hvp_matches_finite_differences_of_the_gradient(name):
    problem = _problem(name)
    params, batch = problem.params, problem.batch
    v = random_like(params, jax.random.key(3))
    grad = jax.jit(jax.grad(lambda p: problem.loss(p, *batch)))
    eps = 1e-5
    shifted = [grad(jax.tree.map(lambda p, d: p + s * eps * d, params, v)) for s in (1, -1)]
    witness = jax.tree.map(lambda a, b: (a - b) / (2 * eps), *shifted)
    for method in ("hvp_fwd_rev", "hvp_rev_rev", "hvp_rev_fwd", "hvp_linearize", "hvp_linearized_apply"):
        prepare = compile_prepare(method, problem)
        state = prepare(params, batch) if prepare else None
        got = jax.jit(timed_function(method, problem))(state, params, v, batch)
        assert relative_error(got, witness) < 1e-6, method


@pytest.mark.parametrize("name", [pytest.param("gpt", marks=pytest.mark.slow), "mlp"])
def test_the_block_is_each_vector_s_product_and_the_gauss_newton_product_is_dense_jt_h_j(name):
    problem = _problem(name)
    params, batch = problem.params, problem.batch
    vectors = random_like(params, jax.random.key(4), (3,))
    block = jax.jit(timed_function("hvp_block", problem))(None, params, vectors, batch)
    single = jax.jit(timed_function("hvp_fwd_rev", problem))
    for i in range(3):
        column = jax.tree.map(lambda a: a[i], vectors)
        assert relative_error(jax.tree.map(lambda a: a[i], block), single(None, params, column, batch)) < 1e-12

    # Dense witness: J (outputs x P) and the outputs' Hessian, built apart with jacfwd and jax.hessian.
    flat, unravel = ravel_pytree(params)
    inputs, targets = batch
    outputs = problem.predict(params, inputs)
    jac = jax.jacfwd(lambda f: problem.predict(unravel(f), inputs).ravel())(flat)
    h_out = jax.hessian(lambda z: problem.output_loss(z.reshape(outputs.shape), targets))(outputs.ravel())
    v = jax.tree.map(lambda a: a[0], vectors)
    dense = jac.T @ h_out @ jac @ ravel_pytree(v)[0]
    got = jax.jit(timed_function("ggn_product", problem))(None, params, v, batch)
    assert relative_error(ravel_pytree(got)[0], dense) < 1e-10
    assert relative_error(ggn_by_jvp_vjp(problem, params, v, batch), got) < 1e-10


def test_the_gradient_is_the_first_method_and_an_unknown_one_is_named():
    assert METHODS[0] == "gradient"
    with pytest.raises(ValueError, match="unknown method 'hvp_magic'"):
        timed_function("hvp_magic", build("mlp", 2, TINY))
    with pytest.raises(ValueError, match="unknown model 'bert'"):
        build("bert", 2, TINY)


def test_the_mlp_is_the_homework_network_at_its_width():
    problem = build("mlp", batch=3, sizes=TINY, dtype=jnp.float64)
    assert problem.num_params == 6 * 6 * 2 + 6 * 3  # bias-free: 6 -> 6 -> 6 -> 3
    assert problem.predict(problem.params, problem.batch[0]).shape == (3, 3)
    logits = np.asarray(problem.predict(problem.params, problem.batch[0]))
    labels = np.asarray(problem.batch[1])
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert float(problem.loss(problem.params, *problem.batch)) == pytest.approx(-log_p[np.arange(3), labels].mean())
