"""The timing harness: interleaved rounds, the input as an argument, the transfer guard, precision."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from secondorder.methods import get_method
from secondorder.model import MLP
from secondorder.sizes import layer_sizes_for
from secondorder.timing import compile_method, round_orders, time_compiled, time_interleaved, time_method


def scan_model(key, depth=4):
    return MLP(key, layer_sizes_for(depth, 4, 4, 1), form="scan", init_scale=0.5)


def test_time_method_reports_compile_apart_and_raw_times(key):
    model = scan_model(key)
    p = model.get_params()
    timing = time_method(get_method("naive_hvp"), model.loss, p, jnp.ones_like(p), num_runs=7, warmup=2)
    assert timing.times_s.shape == (7,)
    assert np.all(timing.times_s > 0)
    assert timing.compile_s > 0 and timing.prepare_s > 0
    # The given Hessian is an argument of the timed function: P^2 float32 bytes.
    assert timing.memory["argument_bytes"] >= 4 * p.size**2


def test_methods_are_interleaved_round_by_round():
    calls, done = [], jnp.zeros(1)  # made outside the guarded loop

    def recorder(name):
        return lambda: calls.append(name) or done

    names = ["a", "b", "c", "d"]
    times, positions, _ = time_interleaved({n: (recorder(n), ()) for n in names}, num_runs=6, warmup=1,
                                           order="shuffled", seed=[0, 50, 4])
    timed = calls[len(names):]  # after one warm-up call each
    rounds = [timed[i:i + 4] for i in range(0, len(timed), 4)]
    assert len(rounds) == 6 and all(sorted(r) == names for r in rounds)  # every method once per round
    assert len({tuple(r) for r in rounds}) > 1  # shuffled: not the same order every round
    assert rounds == round_orders(names, 6, "shuffled", [0, 50, 4])  # ... and reproducible from the seed
    for name in names:
        assert times[name].shape == (6,) and [r.index(name) for r in rounds] == positions[name].tolist()
    calls.clear()
    time_interleaved({n: (recorder(n), ()) for n in names}, num_runs=2, warmup=0, order="round_robin")
    assert calls == names * 2


@pytest.mark.slow
def test_the_input_is_an_argument_of_the_timed_call(key):
    """XLA must not see the input as a constant: new inputs, new result, same executable."""
    model = scan_model(key)
    p = model.get_params()
    ones = model.inputs()
    compiled, _ = compile_method(get_method("gradient"), model.loss, p, p, ones)
    g1 = compiled(None, p, p, ones)
    g2 = compiled(None, p, p, 2 * ones)
    np.testing.assert_allclose(g1, jax.grad(model.loss)(p, ones), rtol=1e-5)
    np.testing.assert_allclose(g2, jax.grad(model.loss)(p, 2 * ones), rtol=1e-5)
    assert not np.allclose(g1, g2)


def test_the_transfer_guard_fires_in_the_timed_loop(key):
    model = scan_model(key)
    p = model.get_params()
    compiled, _ = compile_method(get_method("hvp_rev_rev"), model.loss, p, p, model.inputs())
    host_v = np.asarray(p)  # a host array would be uploaded on every timed call
    with pytest.raises(Exception, match="Disallowed host-to-device transfer"):
        time_compiled(compiled, (None, p, host_v, model.inputs()), num_runs=2, warmup=0)
    times, _ = time_compiled(compiled, (None, p, p, model.inputs()), num_runs=2, warmup=1)
    assert times.shape == (2,)


@pytest.mark.parametrize("precision, hlo", [("highest", "HIGHEST"), ("default", "DEFAULT")])
def test_matmul_precision_reaches_every_dot(key, precision, hlo):
    model = scan_model(key)
    p = model.get_params()
    with jax.default_matmul_precision(precision):
        text = jax.jit(lambda p, v, x: get_method("hvp_fwd_rev").apply(lambda q: model.loss(q, x), None, p, v)
                       ).lower(p, p, model.inputs()).as_text()
    found = re.findall(r"precision = \[(\w+)", text)
    assert found and set(found) == {hlo}


def test_64_bit_mode_is_off_unless_a_test_asks_for_it():
    """Real runs are float32; the tests run that way too (the x64 fixture scopes float64)."""
    assert not jax.config.jax_enable_x64
    assert jnp.ones(2).dtype == jnp.float32
