"""Matrix-free curvature operators of a loss: the Hessian and the generalised Gauss-Newton matrix.

    op = hessian_operator(loss, params, x, y)                # loss(params, x, y) -> scalar
    op = ggn_operator(predict, output_loss, params, x, y)    # predict(params, x) -> outputs
    hv = op.matvec(v)                                        # (P,) -> (P,)
    op.unravel(hv)                                           # the same, shaped like params

`params` is any pytree; the operator acts on flat vectors of its P numbers in
`jax.flatten_util.ravel_pytree(params)` order, which is what matrix-free linear algebra
(Lanczos, stochastic trace and diagonal estimators) works on, and `op.unravel` gives a
vector back the structure of the parameters. Every estimator in this package sees a
matrix only through an `Operator`.

Build the operator inside the jitted function that uses it, with the parameters and the
data as arguments of that function: a jitted function that closes over concrete
parameters makes XLA constant-fold the forward and backward pass at compile time, which
on XLA:CPU turned a compile of seconds into one of many minutes.

Many devices: place the data batch with `shard_batch(batch, data_mesh(n))` (rows split
over n devices, parameters and vectors replicated) and call the jitted function on it;
XLA partitions the loss and every product over the devices and adds the shards' parts,
so the same estimators run unchanged on one CPU or a multi-GPU host, for any loss (a
mean or a sum over rows).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from secondorder.products import hvp_fwd_rev, hvp_rev_rev, linearize_hvp, ravel

Array = jax.Array
HVPKind = Literal["linearize", "fwd_rev", "rev_rev"]
DATA_AXIS = "data"


def _identity(v: Array) -> Array:
    return v


@dataclasses.dataclass(frozen=True)
class Operator:
    """A symmetric linear operator given by its product with a vector.

    Attributes:
      matvec: (P,) -> (P,), v -> M v.
      size: P.
      dtype: the dtype of vectors it accepts.
      unravel: (P,) -> a pytree shaped like the parameters the operator was built at.
    """

    matvec: Callable[[Array], Array]
    size: int
    dtype: Any
    unravel: Callable[[Array], Any] = _identity

    def matmat(self, vectors: Array) -> Array:
        """(k, P) -> (k, P): M applied to each row, all rows at once (vmap)."""
        return jax.vmap(self.matvec)(vectors)


def hessian_operator(loss: Callable[..., Array], params: Any, *args: Any, hvp: HVPKind = "linearize") -> Operator:
    """The Hessian of `loss(params, *args)` in `params`, at `params`.

    Args:
      loss: a scalar function; `args` (data, targets) are passed on as they are.
      params: any pytree of arrays, P numbers in all.
      hvp: "linearize" runs the forward and backward pass of the gradient once and reuses
        its linearization for every vector (hundreds of vectors at one point); "fwd_rev"
        and "rev_rev" recompute the passes for each product.

    On XLA:CPU, a vmapped product of the tanh-approximate GELU is wrong where units
    saturate (docs/xla_cpu_tanh_jvp.md): estimators vmap blocks of vectors, so write such
    a model with `jax.nn.gelu(approximate=False)`, or as the suite's MLP does (`MLP.vmap_safe`).
    """
    x, unravel = ravel(params)

    def f(flat):
        return loss(unravel(flat), *args)

    if hvp == "linearize":
        matvec = linearize_hvp(f, x)[1]
    elif hvp == "fwd_rev":
        def matvec(v):
            return hvp_fwd_rev(f, x, v)
    elif hvp == "rev_rev":
        def matvec(v):
            return hvp_rev_rev(f, x, v)
    else:
        raise ValueError(f"hvp must be 'linearize', 'fwd_rev' or 'rev_rev', got {hvp!r}")
    return Operator(matvec, x.shape[0], x.dtype, unravel)


def ggn_operator(predict: Callable[[Any, Any], Any], output_loss: Callable[[Any, Any], Array], params: Any,
                 inputs: Any, targets: Any = None) -> Operator:
    """The generalised Gauss-Newton matrix G = Jᵀ H_out J of `output_loss(predict(params, inputs), targets)`.

    J is the Jacobian of the network's outputs in the parameters and H_out the Hessian of
    the loss in the outputs: the Hessian with the network's own second derivative dropped
    (Schraudolph 2002; Martens 2020). It is positive semi-definite where the loss is convex
    in the outputs (cross-entropy, squared error), and for softmax cross-entropy it is the
    Fisher. A product is one JVP, one Hessian product in the outputs and one VJP; the
    network is linearised once for all vectors.

    Args:
      predict: predict(params, inputs) -> outputs (any pytree, e.g. logits (n, classes)).
      output_loss: output_loss(outputs, targets) -> scalar (e.g. the mean cross-entropy).
      params: any pytree of arrays, P numbers in all.
    """
    x, unravel = ravel(params)
    outputs, jvp = jax.linearize(lambda flat: predict(unravel(flat), inputs), x)
    vjp = jax.linear_transpose(jvp, x)

    def output_hessian(u):
        return hvp_fwd_rev(lambda z: output_loss(z, targets), outputs, u)

    def matvec(v):
        return vjp(output_hessian(jvp(v)))[0]

    return Operator(matvec, x.shape[0], x.dtype, unravel)


def ggn_product(predict: Callable[[Any, Any], Any], output_loss: Callable[[Any, Any], Array], params: Any, v: Any,
                inputs: Any, targets: Any = None) -> Any:
    """G v for one vector, on pytrees: G = Jᵀ H_out J as in `ggn_operator`, v and the result shaped like `params`.

    One forward pass linearised (J v), one Hessian product in the outputs, one transposed
    pass (Jᵀ u): what a Gauss-Newton product costs where each vector comes at a new point.
    """
    outputs, jvp = jax.linearize(lambda p: predict(p, inputs), params)
    u = hvp_fwd_rev(lambda z: output_loss(z, targets), outputs, jvp(v))
    return jax.linear_transpose(jvp, params)(u)[0]


def dense_operator(matrix: Array) -> Operator:
    """A dense symmetric (P, P) matrix as an operator (test matrices, references)."""
    return Operator(lambda v: matrix @ v, matrix.shape[0], matrix.dtype)


def data_mesh(devices: int) -> Mesh | None:
    """A 1-D mesh over the first `devices` devices (axis "data"), or None for one device.

    Raises:
      ValueError: fewer devices than asked for.
    """
    if devices == 1:
        return None
    available = jax.devices()
    if len(available) < devices:
        raise ValueError(
            f"devices = {devices} but JAX sees {len(available)}; on CPU set "
            f"XLA_FLAGS=--xla_force_host_platform_device_count={devices}"
        )
    return Mesh(available[:devices], (DATA_AXIS,))


def shard_batch(batch: Any, mesh: Mesh | None) -> Any:
    """Every leaf of `batch` with its rows (leading axis) split over the mesh's devices; as is without a mesh.

    Raises:
      ValueError: a leaf whose rows do not divide evenly over the devices.
    """
    if mesh is None:
        return batch
    devices = mesh.shape[DATA_AXIS]
    for leaf in jax.tree.leaves(batch):
        if jnp.ndim(leaf) == 0 or leaf.shape[0] % devices:
            raise ValueError(f"a batch of shape {jnp.shape(leaf)} cannot be split into {devices} equal shards of rows")
    return jax.device_put(batch, NamedSharding(mesh, PartitionSpec(DATA_AXIS)))
