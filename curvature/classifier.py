"""A small MLP classifier with cross-entropy, and its two curvature matrices as operators.

    net = Classifier((64, 48, 48, 10))          # P = 5962 with biases
    params = net.init(key)                     # (P,) flat, LeCun-normal weights, zero biases
    loss = make_loss(net, n=len(x), mesh=None) # (params, x, y) -> mean cross-entropy

The two matrices, both (P, P) and symmetric, as products with a vector (`products`):

| matrix  | product v -> M v                                                     |
|---------|----------------------------------------------------------------------|
| Hessian | ∇²L v: forward-over-reverse, the JVP of the gradient                 |
| GGN     | G v = (1/N) Σ_i J_iᵀ H_i J_i v, H_i = diag(p_i) − p_i p_iᵀ the       |
|         | softmax's Hessian: the Hessian product of the loss of the network    |
|         | linearised at the point (a JVP of the logits inside, a VJP outside)  |

G is the Hessian with the second derivative of the network dropped (Schraudolph 2002;
Martens 2020, "New insights and perspectives on the natural gradient method"); for
softmax cross-entropy it is also the Fisher. It is positive semi-definite.

The hidden activation is the exact (erf) GELU. The tanh form, `gelu(approximate=True)`,
is avoided on purpose: on XLA:CPU a vmapped HVP through tanh loses accuracy where
units saturate (reassociation plus FMA; docs/curvature_trained.md); the blocked dense matrices
here are vmapped, and tests/curvature/test_classifier.py checks blocks against single
products.

Sharding: with a mesh, the data rows are split over its "data" axis; each device sums
its rows' losses (or products) and a `psum` adds them (`jax.shard_map`). Parameters and
vectors are replicated, so every estimator runs unchanged on one device or several.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, PartitionSpec

from secondorder.operator import DATA_AXIS, Operator

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


def cross_entropy_sum(logits: Array, labels: Array) -> Array:
    """Σ_i −log softmax(logits_i)[labels_i]. logits (n, c), labels (n,) int."""
    logp = jax.nn.log_softmax(logits)
    return -jnp.sum(jnp.take_along_axis(logp, labels[:, None], axis=1))


def _sharded(local: Callable, mesh: Mesh | None, replicated: int) -> Callable:
    """`local(*replicated_args, x, y)` summed over the data shards (psum); as is without a mesh."""
    if mesh is None:
        return local

    def summed(*args):
        return jax.lax.psum(local(*args), DATA_AXIS)

    specs = (PartitionSpec(),) * replicated + (PartitionSpec(DATA_AXIS), PartitionSpec(DATA_AXIS))
    return jax.shard_map(summed, mesh=mesh, in_specs=specs, out_specs=PartitionSpec())


def make_loss(net: Classifier, n: int, mesh: Mesh | None = None) -> Callable[[Array, Array, Array], Array]:
    """(params (P,), x (n, input), y (n,)) -> the mean cross-entropy over all n rows (sharded with a mesh)."""
    return _sharded(lambda params, x, y: cross_entropy_sum(net.apply(params, x), y) / n, mesh, 1)


def make_products(net: Classifier, n: int, mesh: Mesh | None = None) -> dict[str, Callable]:
    """{"hessian", "ggn"}: (params, v, x, y) -> M v, each (P,), for the mean loss over n rows.

    Both are second derivatives of sharded scalars (the loss, and the loss of the
    network linearised at the point), taken outside the shard_map: JAX adds the shards'
    contributions to the replicated parameters' cotangents itself (a psum of products
    inside the shard_map as well would count them twice).
    """
    loss = make_loss(net, n, mesh)

    def hessian(params, v, x, y):
        return jax.jvp(lambda p: jax.grad(loss)(p, x, y), (params,), (v,))[1]

    def linearised_loss(anchor, params, x, y):
        # The loss of the network linearised at `anchor`: z(anchor) + J (params − anchor).
        # Its Hessian at params = anchor is Jᵀ H_out J, the GGN.
        logits, change = jax.jvp(lambda p: net.apply(p, x), (anchor,), (params - anchor,))
        return cross_entropy_sum(logits + change, y) / n

    summed = _sharded(linearised_loss, mesh, 2)

    def ggn(params, v, x, y):
        # Linear in v throughout (no stop_gradient), so XDiag can transpose it.
        return jax.jvp(lambda p: jax.grad(summed, argnums=1)(params, p, x, y), (params,), (v,))[1]

    return {"hessian": hessian, "ggn": ggn}


def operator(product: Callable, params: Array, x: Array, y: Array) -> Operator:
    """The matrix of `product` (from make_products) at `params` on the data (x, y). Build it inside jit.

    Blocks of vectors are vmapped (the matrix-free estimators batch their probes).
    """
    def matvec(v):
        return product(params, v, x, y)

    return Operator(matvec=matvec, size=int(params.shape[0]), dtype=params.dtype, transposable_matvec=matvec)


def dense_matrix(product: Callable, params: Array, x: Array, y: Array, block: int) -> Array:
    """M as a dense (P, P) array, built from products with the unit vectors, `block` at a time.

    Row i is M e_i, which is column i since M is symmetric. `lax.map` bounds the
    temporaries to one block of vectors.
    """
    n = params.shape[0]

    def column(i):
        return product(params, jax.nn.one_hot(i, n, dtype=params.dtype), x, y)

    return jax.lax.map(column, jnp.arange(n), batch_size=min(block, n))


def accuracy(net: Classifier, params: Array, x: Array, y: Array) -> Array:
    """The fraction of rows whose largest logit is the label."""
    return jnp.mean(jnp.argmax(net.apply(params, x), axis=1) == y)
