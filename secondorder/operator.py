"""Matrix-free Hessian operators: `v -> H v` and `V -> H V`, on one device or a sharded batch.

Every estimator in this package sees the Hessian only through an `Operator`. It is
built *inside* the jitted function that uses it, from a loss and a traced parameter
vector: a jitted function that closes over concrete parameters instead makes XLA
constant-fold the whole forward and backward pass at compile time, which on XLA:CPU
turned a compile of seconds into one of many minutes.

The loss is the task's, `sum(model.apply(params, inputs))`, with the data batch an
argument. `make_loss(model, mesh)` shards that batch across the devices of `mesh`
with `jax.shard_map`: each device sums its rows, a `psum` adds the shards, and JAX
differentiates through both, so the same estimators run unchanged on one CPU or on a
multi-GPU host. Parameters and probe vectors are replicated; only the data is split.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Literal

import jax
import jax.numpy as jnp
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from secondorder.methods import hvp_fwd_rev, hvp_rev_rev, linearize_hvp
from secondorder.model import MLP

Array = jax.Array
HVPKind = Literal["linearize", "fwd_rev", "rev_rev"]
Batching = Literal["vmap", "sequential"]
DATA_AXIS = "data"


@dataclasses.dataclass(frozen=True)
class Operator:
    """A symmetric linear operator given by its product with a vector.

    Attributes:
      matvec: (P,) -> (P,), v -> H v.
      size: P.
      dtype: the dtype of vectors it accepts.
      transposable_matvec: the same product where an estimator transposes it (XDiag;
        H is symmetric), else None (then matvec is transposable itself).
      batching: "vmap" or "sequential": how matvec runs a batch of vectors (see
        hessian_operator). A sequential one must not be vmapped inside loops that close
        over it (Lanczos under vmap: JAX refuses the closed-over linearization).
    """

    matvec: Callable[[Array], Array]
    size: int
    dtype: jnp.dtype
    transposable_matvec: Callable[[Array], Array] | None = None
    batching: str = "vmap"

    def matmat(self, vectors: Array) -> Array:
        """(k, P) -> (k, P): H applied to each row (vmapped, or one row at a time: see
        hessian_operator's batching)."""
        return jax.vmap(self.matvec)(vectors)


def hessian_operator(f: Callable[[Array], Array], x: Array, hvp: HVPKind = "linearize",
                     batching: Batching = "vmap") -> Operator:
    """The Hessian of the scalar `f` at `x` as an operator. x: (P,).

    "linearize" runs the forward and backward pass of grad f once and reuses its
    linearization for every vector (the case here: hundreds of vectors at one point);
    "fwd_rev" and "rev_rev" recompute the passes for each product.

    batching: how a block of vectors (matmat, and matfree's estimators, which vmap the
      product) runs: "vmap", all at once; "sequential", one vector at a time
      (jax.custom_batching.sequential_vmap). Vmapped, XLA:CPU gets the derivatives of the
      task's tanh-form GELU wrong on saturated units (docs/xla_cpu_tanh_jvp.md; on the deep
      width-16 MLP the block was off by 1e7 at 250 layers), so "sequential" is for a loss
      written with it; the suite's losses use its logistic form and "vmap".
    """
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
    if batching == "vmap":
        return Operator(matvec, x.shape[0], x.dtype)
    if batching != "sequential":
        raise ValueError(f"batching must be 'vmap' or 'sequential', got {batching!r}")
    # JAX cannot transpose a sequential_vmap function, so XDiag, which transposes the
    # product, gets the plain (vmapped) one: right where the network is shallow enough
    # that no unit saturates (the study's 32 layers: the two agree to 4e-12).
    return Operator(jax.custom_batching.sequential_vmap(matvec), x.shape[0], x.dtype, transposable_matvec=matvec,
                    batching="sequential")


def dense_operator(matrix: Array) -> Operator:
    """A dense symmetric (P, P) matrix as an operator (test matrices, references)."""
    return Operator(lambda v: matrix @ v, matrix.shape[0], matrix.dtype)


def make_loss(model: MLP, mesh: Mesh | None = None) -> Callable[[Array, Array], Array]:
    """(params (P,), inputs (batch, input_size)) -> the task's loss `sum(model.apply(params, inputs))`.

    With a mesh, the batch is split along its rows over the mesh's "data" axis and
    the per-device sums are added with a psum; the result equals the unsharded loss.
    """

    def local(params, inputs):
        return jnp.sum(model.apply(params, inputs))

    if mesh is None:
        return local

    def summed(params, inputs):
        return jax.lax.psum(local(params, inputs), DATA_AXIS)

    return jax.shard_map(summed, mesh=mesh, in_specs=(PartitionSpec(), PartitionSpec(DATA_AXIS)),
                         out_specs=PartitionSpec())


def data_mesh(devices: int) -> Mesh | None:
    """A 1-D mesh over the first `devices` devices, or None for one device.

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


def place_batch(inputs: Array, mesh: Mesh | None) -> Array:
    """Puts the batch's rows on the mesh's devices (a no-op without a mesh)."""
    if mesh is None:
        return inputs
    return jax.device_put(inputs, NamedSharding(mesh, PartitionSpec(DATA_AXIS)))
