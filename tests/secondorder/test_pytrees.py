"""Parameters and vectors as any pytree: a dict-of-arrays model against a float64 dense reference.

The witness is the Hessian of the same loss written on one flat vector, built by
`jax.hessian` and checked against central differences of the gradient, so it shares no
pytree handling with what it checks.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from secondorder import (MLP, calculate_hessian, get_method, hvp, hvp_fwd_rev, hvp_linearize, hvp_rev_fwd,
                         hvp_rev_rev, linearize_hvp, naive_hvp, time_method)

pytestmark = pytest.mark.usefixtures("x64")

SHAPES = {"w1": (5, 7), "b1": (7,), "w2": (7, 3), "b2": (3,)}


def two_layer_loss(params, x, y):
    """A two-layer MLP with biases (exact GELU) and a squared error: a model the suite did not write."""
    h = jax.nn.gelu(x @ params["w1"] + params["b1"], approximate=False)
    return 0.5 * jnp.mean(jnp.sum((h @ params["w2"] + params["b2"] - y) ** 2, axis=1))


def case(dtype=jnp.float64):
    keys = jax.random.split(jax.random.key(0), len(SHAPES) + 3)
    params = {name: jax.random.normal(k, shape, dtype) for k, (name, shape) in zip(keys, SHAPES.items())}
    v = {name: jax.random.normal(k, shape, dtype) for k, (name, shape) in zip(jax.random.split(keys[-3], 4),
                                                                             SHAPES.items())}
    x = jax.random.normal(keys[-2], (16, 5), dtype)
    y = jax.random.normal(keys[-1], (16, 3), dtype)
    return params, v, x, y


def dense_reference(params, x, y):
    """The float64 Hessian of the same loss on the flat vector, in ravel_pytree order."""
    flat, unravel = ravel_pytree(params)
    return np.asarray(jax.hessian(lambda p: two_layer_loss(unravel(p), x, y))(flat))


def rel(a, b):
    return float(np.linalg.norm(np.asarray(a) - b) / np.linalg.norm(b))


@pytest.mark.parametrize("product", [hvp, hvp_rev_rev, hvp_fwd_rev, hvp_rev_fwd, hvp_linearize],
                         ids=lambda f: f.__name__)
def test_every_composition_on_a_dict_model_equals_the_dense_hessian_times_v(product):
    params, v, x, y = case()
    want = dense_reference(params, x, y) @ np.asarray(ravel_pytree(v)[0])
    out = jax.jit(lambda p, v: product(lambda q: two_layer_loss(q, x, y), p, v))(params, v)
    assert jax.tree.structure(out) == jax.tree.structure(params)
    assert all(a.shape == b.shape for a, b in zip(jax.tree.leaves(out), jax.tree.leaves(params)))
    assert rel(ravel_pytree(out)[0], want) < 1e-10


def test_the_dense_reference_is_the_hessian_by_central_differences():
    params, v, x, y = case()
    flat, unravel = ravel_pytree(params)
    grad = jax.grad(lambda p: two_layer_loss(unravel(p), x, y))
    u = ravel_pytree(v)[0]
    h = 1e-6
    fd = (grad(flat + h * u) - grad(flat - h * u)) / (2 * h)
    assert rel(fd, dense_reference(params, x, y) @ np.asarray(u)) < 1e-7


def test_calculate_hessian_of_a_pytree_is_in_ravel_pytree_order_and_naive_hvp_keeps_the_structure():
    params, v, x, y = case()
    dense = calculate_hessian(lambda q: two_layer_loss(q, x, y), params)
    assert dense.shape == (ravel_pytree(params)[0].size,) * 2
    np.testing.assert_allclose(dense, dense_reference(params, x, y), rtol=1e-12, atol=1e-12)
    blocked = calculate_hessian(lambda q: two_layer_loss(q, x, y), params, block_size=7)
    np.testing.assert_allclose(blocked, dense, rtol=1e-12, atol=1e-12)
    out = naive_hvp(dense, v)
    assert jax.tree.structure(out) == jax.tree.structure(v)
    assert rel(ravel_pytree(out)[0], np.asarray(dense) @ np.asarray(ravel_pytree(v)[0])) < 1e-14


def test_a_linearization_serves_a_block_of_pytree_vectors():
    params, v, x, y = case()
    _, apply = linearize_hvp(lambda q: two_layer_loss(q, x, y), params)
    block = jax.tree.map(lambda a: jnp.stack([a, -2 * a]), v)
    out = jax.vmap(apply)(block)
    want = dense_reference(params, x, y) @ np.asarray(ravel_pytree(v)[0])
    assert rel(ravel_pytree(jax.tree.map(lambda a: a[1], out))[0], -2 * want) < 1e-10


@pytest.mark.parametrize("name", ["hessian_then_hvp", "naive_hvp", "hvp_rev_rev", "hvp_fwd_rev", "hvp_rev_fwd",
                                  "hvp_linearize", "hvp_linearized_apply", "gradient"])
def test_the_timing_harness_takes_pytrees_and_blocks_of_them(name):
    params, v, x, y = case()
    loss = two_layer_loss  # loss(params, x, y): the harness passes inputs=(x, y) as (x, y)
    timing = time_method(get_method(name), loss, params, v, num_runs=2, inputs=(x, y))
    assert timing.times_s.shape == (2,) and "output=" not in repr(timing)
    flat = np.asarray(ravel_pytree(timing.output)[0])
    if name == "gradient":
        want = np.asarray(ravel_pytree(jax.grad(two_layer_loss)(params, x, y))[0])
    else:
        want = dense_reference(params, x, y) @ np.asarray(ravel_pytree(v)[0])
    assert rel(flat, want) < 1e-10
    block = jax.tree.map(lambda a: jnp.stack([a, 3 * a]), v)
    timing = time_method(get_method(name), loss, params, block, num_runs=1, inputs=(x, y))
    second = ravel_pytree(jax.tree.map(lambda a: a[1], timing.output))[0] if get_method(name).needs_vector \
        else ravel_pytree(timing.output)[0]
    assert rel(second, 3 * want if get_method(name).needs_vector else want) < 1e-10


def test_float32_pytrees_stay_float32_and_agree_with_float64():
    params, v, x, y = case()
    want = dense_reference(params, x, y) @ np.asarray(ravel_pytree(v)[0])
    p32, v32, x32, y32 = (jax.tree.map(lambda a: a.astype(jnp.float32), t) for t in (params, v, x, y))
    out = hvp_fwd_rev(lambda q: two_layer_loss(q, x32, y32), p32, v32)
    assert all(a.dtype == jnp.float32 for a in jax.tree.leaves(out))
    assert rel(ravel_pytree(out)[0], want) < 1e-5


@pytest.mark.parametrize("form", ["unrolled", "scan"])
def test_the_mlp_loss_takes_its_weights_as_a_pytree(form):
    model = MLP(jax.random.key(0), [3, 4, 4, 4, 2], form=form, init_scale=0.7, dtype=jnp.float64)
    flat = model.get_params()
    tree = model.weight_tree()
    np.testing.assert_array_equal(ravel_pytree(tree)[0], flat)
    assert float(model.loss(tree)) == float(model.loss(flat))
    v = jax.random.normal(jax.random.key(1), flat.shape, jnp.float64)
    out = hvp_fwd_rev(model.loss, tree, model.weight_tree(v))
    np.testing.assert_allclose(ravel_pytree(out)[0], calculate_hessian(model, flat) @ v, rtol=1e-10, atol=1e-12)


def test_the_curvature_estimators_on_a_dict_model_against_its_dense_hessian():
    params, _, x, y = case()
    from secondorder import diagonal_estimate, hessian_operator, spectral_density, top_eigenvalues, trace_estimate
    from secondorder.wasserstein import point_mass_w1, wasserstein1

    dense = dense_reference(params, x, y)
    exact = np.linalg.eigvalsh(dense)

    @jax.jit
    def estimates(params, x, y, key):
        op = hessian_operator(two_layer_loss, params, x, y)
        return (top_eigenvalues(op, 5, key=key, num_steps=40), trace_estimate(op, key=key, num_matvecs=48),
                diagonal_estimate(op, key=key, num_matvecs=len(exact), method="xdiag"),
                spectral_density(op, key=key, num_probes=40, num_steps=30))

    top5, tr, diag, density = estimates(params, x, y, jax.random.key(4))
    np.testing.assert_allclose(top5, exact[::-1][:5], rtol=1e-6)
    assert float(tr.low) <= np.trace(dense) <= float(tr.high)
    # XDiag with as many products as parameters has the whole range: exact.
    assert jax.tree.structure(diag) == jax.tree.structure(params)
    np.testing.assert_allclose(ravel_pytree(diag)[0], np.diag(dense), atol=1e-10 * np.abs(dense).max())
    w1 = wasserstein1(np.asarray(density.nodes), np.asarray(density.weights), exact, np.ones_like(exact))
    assert w1 < point_mass_w1(exact) / 10


def loop_body_ops(hlo_text: str) -> list[dict[str, int]]:
    """The operations of each while-loop body of a compiled program, by kind (the work per loop step)."""
    import re
    from collections import Counter

    bodies = set(re.findall(r"while\(.*?body=%?([\w.\-]+)", hlo_text))
    out = []
    for computation in re.split(r"\n\n", hlo_text):
        name = re.match(r"\s*(?:ENTRY\s+)?%?([\w.\-]+)", computation)
        if name and name.group(1) in bodies:
            kinds = Counter(re.findall(r"=\s*\S+\s+([a-z][\w\-]*)\(", computation))
            out.append({k: n for k, n in kinds.items() if k not in ("get-tuple-element", "tuple", "parameter")})
    return sorted(out, key=lambda d: sorted(d.items()))


@pytest.mark.parametrize("name", ["gradient", "hvp_rev_rev", "hvp_fwd_rev", "hvp_rev_fwd", "hvp_linearized_apply"])
def test_the_pytree_path_compiles_to_the_same_loop_as_the_flat_one(name):
    # The noise-free half of configs/bench_pytree.toml: per layer, the two paths run the same kernels.
    from secondorder.timing import prepare_call

    model = MLP(jax.random.PRNGKey(0), [4] + [4] * 20 + [1], form="scan")
    x, inputs = model.get_params(), model.inputs()
    v = jnp.ones_like(x)
    flat = prepare_call(get_method(name), model.loss, x, v, inputs=inputs, warmup=0).fn.as_text()
    tree = prepare_call(get_method(name), model.loss, model.weight_tree(x), model.weight_tree(v), inputs=inputs,
                        warmup=0).fn.as_text()
    bodies = loop_body_ops(flat)
    assert bodies and all(body.get("fusion", 0) + body.get("dot", 0) > 0 for body in bodies)
    assert loop_body_ops(tree) == bodies


def test_a_block_of_one_vector_and_the_hand_derived_hvp_on_a_pytree():
    model = MLP(jax.random.key(0), [4, 4, 4, 4, 1], form="scan", init_scale=0.7, dtype=jnp.float64)
    x = model.get_params()
    hessian = calculate_hessian(model, x)
    v = jax.random.normal(jax.random.key(1), (1, x.size), jnp.float64)
    for name in ("hvp_fwd_rev", "hvp_linearized_apply", "naive_hvp"):
        out = time_method(get_method(name), model.loss, x, v, num_runs=1).output
        assert out.shape == (1, x.size)  # a block of one is still a block
        np.testing.assert_allclose(out[0], hessian @ v[0], rtol=1e-10, atol=1e-12)
    out = time_method(get_method("hvp_by_hand"), model.loss, model.weight_tree(x), model.weight_tree(v[0]),
                      num_runs=1).output
    np.testing.assert_allclose(ravel_pytree(out)[0], hessian @ v[0], rtol=1e-10, atol=1e-12)
    assert float(model.loss(np.asarray(x))) == float(model.loss(x))  # a NumPy vector is flat too
