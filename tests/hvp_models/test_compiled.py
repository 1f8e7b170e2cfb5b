"""The noise-free cost of a compiled program against closed forms: a matmul's flops, its kernels and bytes."""

import jax
import jax.numpy as jnp
import pytest

from secondorder.compiled import compiled_cost, entry_opcodes, kernel_count


def test_a_matmul_costs_2mnk_flops_and_its_arguments_bytes():
    m, n, k = 8, 16, 32
    compiled = jax.jit(lambda a, b: a @ b).lower(jnp.ones((m, k)), jnp.ones((k, n))).compile()
    cost = compiled_cost(compiled)
    assert cost["flops"] == 2 * m * n * k
    assert cost["argument_bytes"] == 4 * (m * k + k * n)
    assert cost["output_bytes"] == 4 * m * n
    assert cost["kernels"] >= 1


def test_kernels_count_the_entry_computation_s_work_not_its_parameters():
    hlo = """HloModule m

%fused (p: f32[4]) -> f32[4] {
  %p = f32[4]{0} parameter(0)
  ROOT %t = f32[4]{0} tanh(f32[4]{0} %p)
}

ENTRY %main (a: f32[4], b: f32[4]) -> (f32[4], f32[]) {
  %a = f32[4]{0} parameter(0)
  %b = f32[4]{0} parameter(1)
  %f = f32[4]{0} fusion(f32[4]{0} %a), kind=kLoop, calls=%fused
  %c = f32[] constant(0)
  %d = f32[4]{0} add(f32[4]{0} %f, f32[4]{0} %b)
  ROOT %t = (f32[4]{0}, f32[]) tuple(f32[4]{0} %d, f32[] %c)
}
"""
    assert entry_opcodes(hlo) == ["parameter", "parameter", "fusion", "constant", "add", "tuple"]
    assert kernel_count(hlo) == 2


@pytest.mark.parametrize("calls", [1, 3])
def test_more_separate_work_is_more_kernels(calls):
    def f(x):
        for _ in range(calls):  # sorts cannot fuse with each other: one kernel each
            x = jnp.sort(x * 1.5, axis=0)[::-1]
        return x

    compiled = jax.jit(f).lower(jnp.ones((64,))).compile()
    assert compiled_cost(compiled)["kernels"] >= calls


def test_a_convolution_s_gradient_is_all_nhwc_and_its_count_is_the_layers():
    from jax import lax

    from secondorder.compiled import NHWC, convolution_layouts

    def loss(w, x):
        for k in w:  # two 3x3 convolutions, NHWC
            x = jnp.tanh(lax.conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")))
        return jnp.sum(x)

    w = [jnp.ones((3, 3, 4, 4)) * 0.1] * 2
    text = jax.jit(jax.grad(loss)).lower(w, jnp.ones((2, 8, 8, 4))).compile().as_text()
    layouts = convolution_layouts(text)
    assert set(layouts) == {NHWC}
    assert 2 * 2 <= sum(layouts.values()) <= 3 * 2  # forward, input and weight gradients (the first input's may go)


@pytest.mark.parametrize("steps", [6, 12])
def test_a_loop_step_costs_its_matvec_and_the_whole_run_counts_every_step(steps):
    """XLA's analysis counts a loop's body once; loop_steps and trip_cost against the closed form 2 n^2 a step."""
    from secondorder.compiled import loop_steps, trip_cost

    n = 64

    def f(ws, v):
        return jax.lax.scan(lambda v, w: (jnp.tanh(w @ v), None), v, ws)[0].sum()

    compiled = jax.jit(f).lower(jnp.ones((steps, n, n)), jnp.ones(n)).compile()
    (step,) = loop_steps(compiled)
    assert step["trip_count"] == steps
    assert 2 * n * n <= step["flops"] <= 2 * n * n + 4  # the matvec, and the loop counter's add and compare
    assert step["transcendentals"] == n  # one tanh a unit
    assert step["bytes_accessed"] >= 4 * n * n  # the step's weights are read at least once
    once = compiled_cost(compiled)  # XLA's own: the step once, whatever the trip count
    assert once["flops"] < 2 * step["flops"]
    whole = trip_cost(compiled)
    assert whole["flops"] == pytest.approx(once["flops"] + (steps - 1) * step["flops"])
    assert whole["transcendentals"] == steps * n


@pytest.mark.parametrize("sorts", [1, 3])
def test_each_unfusable_operation_in_a_loop_body_is_a_kernel_of_its_step(sorts):
    """Sorts cannot fuse with each other: a body of k of them has k more kernels than one without."""
    from secondorder.compiled import loop_steps

    def body(x, _):
        for _ in range(sorts):
            x = jnp.sort(x * 1.5)[::-1]
        return x, None

    def bare(x, _):
        return x * 1.5, None

    kernels = [loop_steps(jax.jit(lambda x, f=f: jax.lax.scan(f, x, None, length=5)[0]).lower(jnp.ones(64)).compile())
               [0]["kernels"] for f in (body, bare)]
    assert kernels[0] - kernels[1] >= sorts


def test_a_program_without_loops_has_no_steps_and_its_own_cost():
    from secondorder.compiled import loop_steps, trip_cost

    compiled = jax.jit(lambda a, b: a @ b).lower(jnp.ones((8, 32)), jnp.ones((32, 16))).compile()
    assert loop_steps(compiled) == []
    assert trip_cost(compiled)["flops"] == 2 * 8 * 16 * 32
