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
