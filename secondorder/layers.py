"""One hidden layer, h -> gelu(h @ W), written the ways XLA may run fastest.

The network is the same whatever the formulation; only the program XLA sees changes:
- product "matmul": `h @ W`, a dot XLA:CPU calls out to a library routine for, once per
  layer and per derivative product;
- product "fused": `sum(h[:, :, None] * W, axis=1)`, a multiply and a reduction XLA can
  fuse with the activation and with neighbouring elementwise work into one loop body.
  At the task's width 4 the dot's call overhead outweighs its 16 multiply-adds; at large
  widths the library dot wins (the lever study measures where).
- activation "tanh" (the task's: `jax.nn.gelu`, whose default is the tanh approximation),
  "logistic" (the same function written `z * sigmoid(2u)`, since (1 + tanh u) / 2 =
  sigmoid(2u)), or "exact" (the erf form). The logistic form exists because of a fault
  of XLA:CPU: vmapped, the tanh form's JVP `(g + g t)(1 - t)` is reassociated and fused
  into an FMA that returns a rounding error instead of 0 where t = -1 (a saturated unit),
  so blocks of HVPs and `jax.hessian` of a deep network come out wrong
  (docs/xla_cpu_tanh_jvp.md). The logistic form's derivatives hold no such cancellation.
  That choice is made in one place, `vmap_safe`: where products are vmapped, the suite
  runs the tanh GELU in its logistic form (`MLP.vmap_safe`); the literal tanh form is kept
  for timing the homework's own formulation, for the reproducer and its regression test;
- rule "autodiff" (JAX differentiates the layer) or "custom_jvp" (the layer's JVP is
  written out with the same fusible products, so every derivative JAX derives from it,
  the transposes included, keeps that form).

`gelu_derivatives` gives g, g', g'' in closed form; the hand-derived HVP
(secondorder.r_operator) uses them, and the tests check them against JAX's own derivatives.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp

Array = jax.Array
PRODUCTS = ("matmul", "fused")
ACTIVATIONS = ("tanh", "exact", "logistic")
VMAP_SAFE = ("exact", "logistic")
"""Activations whose vmapped derivatives XLA:CPU gets right (tests/secondorder/test_blocks.py)."""
RULES = ("autodiff", "custom_jvp")
_C = math.sqrt(2.0 / math.pi)
_A = 0.044715


def product(h: Array, w: Array, kind: str = "matmul") -> Array:
    """h @ w for h: (batch, m), w: (m, n) -> (batch, n)."""
    if kind == "fused":
        return jnp.sum(h[:, :, None] * w[None, :, :], axis=1)
    return h @ w


def product_t(g: Array, w: Array, kind: str = "matmul") -> Array:
    """g @ w.T for g: (batch, n), w: (m, n) -> (batch, m)."""
    if kind == "fused":
        return jnp.sum(g[:, None, :] * w[None, :, :], axis=2)
    return g @ w.T


def outer(h: Array, g: Array, kind: str = "matmul") -> Array:
    """h.T @ g for h: (batch, m), g: (batch, n) -> (m, n): a weight's gradient."""
    if kind == "fused":
        return jnp.sum(h[:, :, None] * g[:, None, :], axis=0)
    return h.T @ g


def gelu(z: Array, activation: str = "tanh") -> Array:
    """The task's GELU (`jax.nn.gelu`, tanh approximation), its logistic form, or the exact erf form."""
    if activation == "logistic":
        return z * _logistic_cdf(z)
    return jax.nn.gelu(z, approximate=activation == "tanh")


def _logistic_cdf(z: Array) -> Array:
    """(1 + tanh u) / 2 as sigmoid(2u), u = c (z + a z^3) computed as jax.nn.gelu computes it
    (* 2 is exact).

    Exactly 0 where the tanh form's 1 + tanh(u) rounds to 0, so that a unit the task's
    network kills is dead here too (and a dead network's Hessian is exactly 0 in both):
    elsewhere sigmoid(2u) is as small as it truly is (1e-130 at z = -20 in float64). The
    mask is a comparison, so no derivative flows through the tanh.
    """
    u = _C * (z + _A * z**3)
    return jnp.where(jnp.tanh(u) == -1, 0, jax.nn.sigmoid(2 * u))


def vmap_safe(activation: str) -> str:
    """The activation to run where products are vmapped: the same function, in a form whose
    vmapped derivatives XLA:CPU gets right (the logistic form for the tanh one)."""
    return "logistic" if activation == "tanh" else activation


def gelu_derivatives(z: Array, activation: str = "tanh") -> tuple[Array, Array, Array]:
    """(g(z), g'(z), g''(z)) elementwise, in closed form.

    tanh: g = z (1 + t) / 2 with t = tanh(u), u = c (z + a z^3), c = sqrt(2/pi), a = 0.044715;
      g' = (1 + t) / 2 + z s u' / 2, g'' = s u' + z s (u'' - 2 t u'^2) / 2, with s = 1 - t^2.
    logistic: the same function, with p = sigmoid(2u) = (1 + t) / 2 and q = p (1 - p) = s / 4:
      g = z p, g' = p + 2 z q u', g'' = 4 q u' + 2 z q (u'' + 2 u'^2 (1 - 2p)).
    exact: g = z Phi(z), g' = Phi + z phi, g'' = phi (2 - z^2).
    """
    if activation == "exact":
        phi = jnp.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
        cdf = 0.5 * (1 + jax.lax.erf(z / math.sqrt(2.0)))
        return z * cdf, cdf + z * phi, phi * (2 - z * z)
    if activation == "logistic":
        p = _logistic_cdf(z)
        q = p * (1 - p)
        du = _C * (1 + 3 * _A * z * z)
        d2u = _C * 6 * _A * z
        return z * p, p + 2 * z * q * du, 4 * q * du + 2 * z * q * (d2u + 2 * du * du * (1 - 2 * p))
    t = jnp.tanh(_C * (z + _A * z**3))
    du = _C * (1 + 3 * _A * z * z)
    d2u = _C * 6 * _A * z
    s = 1 - t * t
    return 0.5 * z * (1 + t), 0.5 * (1 + t) + 0.5 * z * s * du, s * du + 0.5 * z * s * (d2u - 2 * t * du * du)


@dataclasses.dataclass(frozen=True)
class LayerSpec:
    """How a hidden layer is written: product, activation, differentiation rule."""

    product: str = "matmul"
    activation: str = "tanh"
    rule: str = "autodiff"
    # Recompute the layer in the backward pass (jax.checkpoint, nothing saved) instead
    # of stacking its intermediates: fewer arrays written per loop step.
    remat: bool = False

    def __post_init__(self):
        for name, allowed in (("product", PRODUCTS), ("activation", ACTIVATIONS), ("rule", RULES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")


@functools.lru_cache(maxsize=None)
def _custom_layer(kind: str, activation: str):
    @jax.custom_jvp
    def layer(h, w):
        return gelu(product(h, w, kind), activation)

    @layer.defjvp
    def layer_jvp(primals, tangents):
        (h, w), (dh, dw) = primals, tangents
        z = product(h, w, kind)
        g, g1, _ = gelu_derivatives(z, activation)
        return g, g1 * (product(dh, w, kind) + product(h, dw, kind))

    return layer


def _plain_layer(h: Array, w: Array, spec: LayerSpec) -> Array:
    if spec.rule == "custom_jvp":
        return _custom_layer(spec.product, spec.activation)(h, w)
    return gelu(product(h, w, spec.product), spec.activation)


def layer(h: Array, w: Array, spec: LayerSpec = LayerSpec()) -> Array:
    """gelu(h @ w) as `spec` writes it. h: (batch, m), w: (m, n) -> (batch, n)."""
    if spec.remat:
        return jax.checkpoint(_plain_layer, policy=jax.checkpoint_policies.nothing_saveable,
                              static_argnums=(2,))(h, w, spec)
    return _plain_layer(h, w, spec)
