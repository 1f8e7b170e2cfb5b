import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hvp_bench.methods import get_method
from hvp_bench.model import MLP, layer_sizes_for
from hvp_bench.timing import count_compilations, time_compiled, time_method


def test_time_method_reports_compile_apart_and_raw_times(key):
    model = MLP(key, layer_sizes_for(4, 4, 4, 1), form="scan")
    p = model.get_params()
    timing = time_method(get_method("naive_hvp"), model.loss, p, jnp.ones_like(p), num_runs=7, warmup=2)
    assert timing.times_s.shape == (7,)
    assert np.all(timing.times_s > 0)
    assert timing.compile_s > 0 and timing.prepare_s > 0
    # The given Hessian is an argument of the timed function: P^2 float32 bytes.
    assert timing.memory["argument_bytes"] >= 4 * p.size**2


def test_count_compilations_sees_a_compile():
    with count_compilations() as compiles:
        jax.jit(lambda x: x * 3.25 + 1)(jnp.arange(5.0)).block_until_ready()
    assert len(compiles) >= 1


def test_timed_loop_refuses_recompilation():
    calls = []

    def recompiles_each_call(x):
        calls.append(1)  # a fresh function object each call defeats jit's cache
        return jax.jit(lambda y: y + len(calls))(x)

    with pytest.raises(RuntimeError, match="compilation"):
        time_compiled(recompiles_each_call, (jnp.ones(3),), num_runs=3, warmup=0)
