"""curvature.problem: the task's MLP as the curvature routines see it, against finite differences,
its blocks against single products, and its batch sharded over devices."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from curvature.config import CurvatureConfig
from curvature.problem import build_problem
from tests.helpers.host_devices import run_on_host_devices


pytestmark = pytest.mark.usefixtures("x64")  # float64 throughout (tests/conftest.py)


@pytest.mark.slow
def test_the_mlp_operator_matches_finite_differences_of_the_gradient():
    config = CurvatureConfig(study_depth=3)
    problem = build_problem(config, 3)
    assert problem.size == 16 * 16 + 2 * 16 * 16 + 16 == config.study_params
    v = jax.random.normal(jax.random.PRNGKey(1), (problem.size,))
    hv = problem.compile(lambda op, v: op.matvec(v), v)(v)
    grad = jax.jit(jax.grad(lambda p: problem.loss(p, problem.inputs)))
    h = 1e-5
    fd = (grad(problem.params + h * v) - grad(problem.params - h * v)) / (2 * h)
    np.testing.assert_allclose(hv, fd, rtol=1e-6, atol=1e-6 * float(jnp.abs(hv).max()))


@pytest.mark.slow
def test_a_block_of_vectors_gets_the_single_vector_products_on_a_deep_mlp():
    # The problem's model runs the logistic form of the task's tanh GELU (MLP.vmap_safe): a
    # vmapped block is right (the tanh form's drifts: 1e7 at 250 layers; the 250-1000 layer
    # checks against a long-double witness: tests/secondorder/test_blocks.py).
    problem = build_problem(CurvatureConfig(), 64)
    vectors = jax.random.rademacher(jax.random.PRNGKey(0), (4, problem.size), dtype=jnp.float64)

    def both(op, vectors):
        return op.matmat(vectors), jnp.stack([op.matvec(v) for v in vectors])

    block, single = problem.compile(both, vectors)(vectors)
    np.testing.assert_allclose(block, single, rtol=1e-13, atol=1e-13 * float(jnp.abs(single).max()))


@pytest.mark.slow
def test_the_block_check_reads_finite_differences_and_single_products():
    from curvature.batching import block_check

    problem = build_problem(CurvatureConfig(), 8)
    check = block_check(problem, jax.random.PRNGKey(3))
    assert check["matmat_vs_single"] < 1e-13
    assert check["fd_vs_single"] < 1e-6 and check["fd_vs_block"] < 1e-6
    # the witness is not trivially zero: a coarse step's truncation error shows
    assert block_check(problem, jax.random.PRNGKey(3), step=1e-1)["fd_vs_single"] > 1e-6


def test_a_float32_problem_is_the_same_network_rounded():
    config = CurvatureConfig(study_depth=3)
    p64, p32 = build_problem(config, 3), build_problem(config, 3, "float32")
    assert p32.params.dtype == jnp.float32
    np.testing.assert_allclose(p32.params, p64.params, rtol=1e-7)


SHARDED = """
import json, jax, jax.numpy as jnp, numpy as np
from curvature.config import CurvatureConfig
from curvature.problem import build_problem
from secondorder import density, diagonal, lanczos, trace
out = {"devices": jax.device_count()}
with jax.enable_x64(True):
    results = {}
    for devices in (1, 4):
        config = CurvatureConfig(study_depth=3, devices=devices, batch=8, inputs="normal")
        p = build_problem(config, 3)
        key = jax.random.PRNGKey(3)
        v = jax.random.normal(key, (p.size,))
        def everything(op, k, v):  # one compile for all estimators
            return {"hv": op.matvec(v), "lanczos": lanczos.top_eigenvalues(op, 5, key=k, num_steps=30),
                    "hutchpp": trace.trace_estimate(op, key=k, num_matvecs=24, method="hutchpp").estimate,
                    "xtrace": trace.trace_estimate(op, key=k, num_matvecs=24).estimate,
                    "diag": diagonal.diagonal_estimate(op, key=k, num_matvecs=12, method="hutchinson"),
                    "slq": density.spectral_density(op, key=k, num_probes=2, num_steps=10).nodes}
        results[devices] = {name: np.asarray(a) for name, a in p.compile(everything, key, v)(key, v).items()}
        results[devices]["loss"] = np.asarray(jax.jit(p.loss)(p.params, p.inputs))
        out[f"shards_{devices}"] = len(p.inputs.sharding.device_set)
    for name, single in results[1].items():
        sharded = results[4][name]
        out[name] = float(np.max(np.abs(sharded - single)) / np.max(np.abs(single)))
print(json.dumps(out))
"""


@pytest.mark.slow
def test_the_batch_sharded_operator_equals_the_single_device_one():
    out = run_on_host_devices(SHARDED, 4)
    assert out.pop("devices") == 4 and out.pop("shards_4") == 4 and out.pop("shards_1") == 1
    # Sums of the shards in another order: equal to float64 rounding.
    assert all(diff < 1e-10 for diff in out.values()), out
