"""A small MLP classifier with cross-entropy, and its two curvature matrices as the library's operators.

    net = Classifier((64, 48, 48, 10))             # P = 5962 with biases
    params = net.init(key)                        # (P,) flat, LeCun-normal weights, zero biases
    loss = net.loss(params, x, y)                 # the mean cross-entropy over the rows
    op = operator(net, "ggn", params, x, y)       # secondorder's Hessian or GGN operator

The two matrices, both (P, P) and symmetric:

| matrix  | product v -> M v                                                     |
|---------|----------------------------------------------------------------------|
| Hessian | ∇²L v: forward-over-reverse, the JVP of the gradient                 |
| GGN     | G v = (1/N) Σ_i J_iᵀ H_i J_i v, H_i = diag(p_i) − p_i p_iᵀ the       |
|         | softmax's Hessian (secondorder.operators.ggn_operator)               |

G is the Hessian with the second derivative of the network dropped (Schraudolph 2002;
Martens 2020, "New insights and perspectives on the natural gradient method"); for
softmax cross-entropy it is also the Fisher. It is positive semi-definite.

The hidden activation is the exact (erf) GELU. The tanh form, `gelu(approximate=True)`,
is avoided on purpose: on XLA:CPU a vmapped HVP through tanh loses accuracy where
units saturate (reassociation plus FMA; docs/curvature_trained.md); the estimators and
the dense matrices here are vmapped, and tests/curvature/test_classifier.py checks
blocks against single products.

Sharding: the data rows may be split over devices (secondorder.operators.shard_batch);
the loss is a mean over the whole batch, and XLA partitions it and every product.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from secondorder.operators import Operator, ggn_operator, hessian_operator

Array = jax.Array
MATRICES = ("hessian", "ggn")


@dataclasses.dataclass(frozen=True)
class Classifier:
    """An MLP with biases: exact GELU between layers, logits out. sizes: (input, hidden..., classes)."""

    sizes: tuple[int, ...]

    @property
    def shapes(self) -> list[tuple[tuple[int, int], tuple[int]]]:
        return [((a, b), (b,)) for a, b in zip(self.sizes[:-1], self.sizes[1:])]

    @property
    def size(self) -> int:
        """P: every weight and bias."""
        return sum(a * b + b for a, b in zip(self.sizes[:-1], self.sizes[1:]))

    def init(self, key: Array, dtype=jnp.float64) -> Array:
        """Flat parameters (P,): weights N(0, 1/fan_in) (LeCun normal), biases 0."""
        parts = []
        for (shape, bias), k in zip(self.shapes, jax.random.split(key, len(self.shapes))):
            parts += [jax.random.normal(k, shape, dtype).ravel() / np.sqrt(shape[0]), jnp.zeros(bias, dtype)]
        return jnp.concatenate(parts)

    def unflatten(self, params: Array) -> list[tuple[Array, Array]]:
        """The (weight (in, out), bias (out,)) pairs, in layer order."""
        layers, start = [], 0
        for (a, b), _ in self.shapes:
            w = params[start:start + a * b].reshape(a, b)
            layers.append((w, params[start + a * b:start + a * b + b]))
            start += a * b + b
        return layers

    def apply(self, params: Array, x: Array) -> Array:
        """Logits (n, classes) of the inputs x (n, input)."""
        layers = self.unflatten(params)
        for w, b in layers[:-1]:
            x = jax.nn.gelu(x @ w + b, approximate=False)
        w, b = layers[-1]
        return x @ w + b

    def loss(self, params: Array, x: Array, y: Array) -> Array:
        """The mean cross-entropy of the rows of x (n, input) with labels y (n,)."""
        return mean_cross_entropy(self.apply(params, x), y)


def cross_entropy_sum(logits: Array, labels: Array) -> Array:
    """Σ_i −log softmax(logits_i)[labels_i]. logits (n, c), labels (n,) int."""
    logp = jax.nn.log_softmax(logits)
    return -jnp.sum(jnp.take_along_axis(logp, labels[:, None], axis=1))


def mean_cross_entropy(logits: Array, labels: Array) -> Array:
    """The mean over the rows of −log softmax(logits_i)[labels_i]."""
    return cross_entropy_sum(logits, labels) / labels.shape[0]


def operator(net: Classifier, matrix: str, params: Array, x: Array, y: Array) -> Operator:
    """The Hessian ("hessian") or the GGN ("ggn") of the mean cross-entropy at `params` on (x, y).

    Build it inside jit (secondorder.operators says why).
    """
    if matrix == "hessian":
        return hessian_operator(net.loss, params, x, y, hvp="fwd_rev")
    if matrix == "ggn":
        return ggn_operator(net.apply, mean_cross_entropy, params, x, y)
    raise ValueError(f"matrix must be one of {', '.join(MATRICES)}, got {matrix!r}")


def accuracy(net: Classifier, params: Array, x: Array, y: Array) -> Array:
    """The fraction of rows whose largest logit is the label."""
    return jnp.mean(jnp.argmax(net.apply(params, x), axis=1) == y)
