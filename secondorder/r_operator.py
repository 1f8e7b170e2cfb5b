"""The HVP of the task's MLP derived by hand: Pearlmutter's R-operator, written out.

The reference for what an HVP can cost on this network: one forward scan carrying the
activations and their directional derivatives, one backward scan carrying the adjoint
and its directional derivative, nothing else. Every AD composition is reported against it.

Notation (per hidden layer i, batch rows): z_i = h_{i-1} W_i, h_i = g(z_i), loss
L = sum(h_n W_out); R(.) is the derivative along the direction V = (V_1, ..., V_out).
  forward:  Rz_i = Rh_{i-1} W_i + h_{i-1} V_i,    Rh_i = g'(z_i) Rz_i        (Rh_0 = 0)
  backward: gh_n = 1 W_out^T,                      R gh_n = 1 V_out^T
            gz_i = g'(z_i) gh_i,                   R gz_i = g'(z_i) R gh_i + g''(z_i) gh_i Rz_i
            (H V)_{W_i} = R(h_{i-1}^T gz_i) = Rh_{i-1}^T gz_i + h_{i-1}^T R gz_i
            gh_{i-1} = gz_i W_i^T,                 R gh_{i-1} = R gz_i W_i^T + gz_i V_i^T
            (H V)_{W_out} = Rh_n^T 1
g, g', g'' in closed form (secondorder.layers.gelu_derivatives). Checked against the
float64 dense Hessian and central differences in tests/test_by_hand.py.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from secondorder.layers import LayerSpec, gelu_derivatives, outer, product, product_t

Array = jax.Array


def split_params(params: Array, input_size: int, width: int, depth: int, output_size: int):
    """The flat vector as (first (m, w), hidden (depth - 1, w, w), last (w, out))."""
    first = params[: input_size * width].reshape(input_size, width)
    n_hidden = (depth - 1) * width * width
    hidden = params[input_size * width: input_size * width + n_hidden].reshape(depth - 1, width, width)
    last = params[input_size * width + n_hidden:].reshape(width, output_size)
    return first, hidden, last


def hvp_by_hand(params: Array, v: Array, inputs: Array, input_size: int, width: int, depth: int,
                output_size: int, spec: LayerSpec = LayerSpec(), unroll: int = 1) -> Array:
    """H v of L(params) = sum(MLP(params)(inputs)) by the R-operator.

    Args:
      params, v: (P,) the point and the direction, in `get_params` order.
      inputs: (batch, input_size).
      input_size, width, depth, output_size: the model (`depth` hidden layers of `width`).
      spec: product formulation and activation (the rule is irrelevant here).
      unroll: scan unroll of both loops.
    Returns:
      (P,).
    """
    kind, act = spec.product, spec.activation
    w1, wh, wo = split_params(params, input_size, width, depth, output_size)
    v1, vh, vo = split_params(v, input_size, width, depth, output_size)

    z1 = product(inputs, w1, kind)
    rz1 = product(inputs, v1, kind)
    g, g1, _ = gelu_derivatives(z1, act)
    h1, rh1 = g, g1 * rz1

    def forward(carry, weights):
        h, rh = carry
        w, vw = weights
        z = product(h, w, kind)
        rz = product(rh, w, kind) + product(h, vw, kind)
        g, g1, _ = gelu_derivatives(z, act)
        return (g, g1 * rz), (h, rh, z, rz)

    (hn, rhn), tape = jax.lax.scan(forward, (h1, rh1), (wh, vh), unroll=unroll)

    ones = jnp.ones((inputs.shape[0], output_size), params.dtype)
    hv_last = outer(rhn, ones, kind)
    gh, rgh = product_t(ones, wo, kind), product_t(ones, vo, kind)

    def backward(carry, step):
        gh, rgh = carry
        (h, rh, z, rz), w, vw = step
        _, g1, g2 = gelu_derivatives(z, act)
        gz = g1 * gh
        rgz = g1 * rgh + g2 * gh * rz
        hv_w = outer(rh, gz, kind) + outer(h, rgz, kind)
        return (product_t(gz, w, kind), product_t(rgz, w, kind) + product_t(gz, vw, kind)), hv_w

    (gh1, rgh1), hv_hidden = jax.lax.scan(backward, (gh, rgh), (tape, wh, vh), reverse=True, unroll=unroll)

    _, g1, g2 = gelu_derivatives(z1, act)
    rgz1 = g1 * rgh1 + g2 * gh1 * rz1
    hv_first = outer(inputs, rgz1, kind)  # Rh_0 = 0: the inputs do not depend on the weights
    return jnp.concatenate([hv_first.ravel(), hv_hidden.ravel(), hv_last.ravel()])
