"""PyTorch side by side: the task's MLP in PyTorch, its gradient and HVPs, for the same sweep.

An optional extra (`pip install -e ".[peers]"`): torch is imported only when a function
here is called, never by importing this module. The network is secondorder.model's:
bias-free layers, gelu(h @ W) after each but the last with the tanh approximation (torch's
`gelu(approximate="tanh")` is what `jax.nn.gelu` computes by default), the same layer
sizes, the same weights (the JAX model's flat `get_params()`, copied), the same all-ones
input. The loss is a function of one flat vector: `torch.split` cuts it into per-layer
views in one autograd node, whose backward is one concatenation. (Slicing each layer
out instead costs a zero-filled P-sized gradient per layer: quadratic in depth.)

The variants (hvp_bench.variants) and what each method runs:

| method         | torch (eager, torch.autograd)              | torch-func, torch-compile        |
|----------------|--------------------------------------------|----------------------------------|
| gradient       | autograd.grad                              | func.grad                        |
| hvp_rev_rev    | autograd.grad of autograd.grad(create_graph)| func.grad of <func.grad, v>     |
| hvp_fwd_rev    | autograd.grad(create_graph) of a dual input (forward_ad) | func.jvp of func.grad |
| hvp_rev_fwd    | autograd.grad of the dual loss's tangent   | func.grad of func.jvp            |
| dispatch_floor | v[:1]                                      | v[:1] (compiled for torch-compile)|

Eager `torch` takes the fastest eager spelling of each composition (dual numbers beat
torch.func's jvp on a 2-core x86 CPU); `torch-compile` compiles each torch-func method whole
(`torch.compile(fullgraph=True)`): Dynamo unrolls the Python loop over layers, so its
compile time grows with depth. The other registry methods (dense Hessian, linearize,
the hand-derived HVP) have no counterpart here: `timed_call` raises `NoEquivalent`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from hvp_bench.config import FLOOR_METHOD
from hvp_bench.variants import Variant

TORCH_METHODS = ("gradient", "hvp_rev_rev", "hvp_fwd_rev", "hvp_rev_fwd", FLOOR_METHOD)


class NoEquivalent(ValueError):
    """A registry method this PyTorch peer does not implement (recorded `skipped`)."""


def torch_info() -> dict:
    """torch's version, build (cpu or cuda X.Y), thread counts and precision settings, for meta.json.

    The precision settings say whether float32 products may run in TF32 or bfloat16
    (`torch_float32_matmul_precision` "highest" is true float32, as JAX's "highest").
    """
    import torch

    return {"torch": torch.__version__, "torch_build": f"cuda {torch.version.cuda}" if torch.version.cuda else "cpu",
            "torch_threads": torch.get_num_threads(), "torch_interop_threads": torch.get_num_interop_threads(),
            "torch_float32_matmul_precision": torch.get_float32_matmul_precision(),
            "torch_cuda_matmul_allow_tf32": bool(torch.backends.cuda.matmul.allow_tf32),
            "torch_cudnn_allow_tf32": bool(torch.backends.cudnn.allow_tf32),
            "torch_default_dtype": str(torch.get_default_dtype())}


class TorchMLP:
    """The task's MLP on one flat parameter vector.

    Args:
      layer_sizes: `[input, hidden..., output]`.
      params: (P,) the JAX model's `get_params()` (any array; copied).
      batch: rows of the all-ones input.
      device: "cpu" or "cuda".
    """

    def __init__(self, layer_sizes: Sequence[int], params, batch: int = 1, device: str = "cpu"):
        import torch

        sizes = [int(s) for s in layer_sizes]
        self.shapes = list(zip(sizes[:-1], sizes[1:]))
        self.numels = [m * n for m, n in self.shapes]
        host = np.array(params)  # a copy: torch must not share JAX's buffer
        if host.shape != (sum(self.numels),):
            raise ValueError(f"params must have shape ({sum(self.numels)},), got {host.shape}")
        self.device = torch.device(device)
        self.params = torch.from_numpy(host).to(self.device)
        self.inputs = torch.ones((batch, sizes[0]), dtype=self.params.dtype, device=self.device)

    def weights(self, params) -> list:
        """(P,) -> the weight matrices in layer order, views into `params`."""
        import torch

        return [w.view(shape) for w, shape in zip(torch.split(params, self.numels), self.shapes)]

    def loss(self, params, inputs):
        """sum(forward(inputs)) with the weights read from params (P,); inputs (batch, input)."""
        import torch.nn.functional as F

        weights, x = self.weights(params), inputs
        for w in weights[:-1]:
            x = F.gelu(x @ w, approximate="tanh")
        return (x @ weights[-1]).sum()


def _autograd_methods(loss) -> dict[str, Callable]:
    import torch
    import torch.autograd.forward_ad as fwad

    def leaf(p):
        return p.detach().requires_grad_()

    def gradient(p, v, x):
        q = leaf(p)
        return torch.autograd.grad(loss(q, x), q)[0]

    def rev_rev(p, v, x):
        q = leaf(p)
        (g,) = torch.autograd.grad(loss(q, x), q, create_graph=True)
        return torch.autograd.grad(g, q, grad_outputs=v)[0]

    def fwd_rev(p, v, x):
        q = leaf(p)
        with fwad.dual_level():
            (g,) = torch.autograd.grad(loss(fwad.make_dual(q, v), x), q, create_graph=True)
            return fwad.unpack_dual(g).tangent.detach()

    def rev_fwd(p, v, x):
        q = leaf(p)
        with fwad.dual_level():
            tangent = fwad.unpack_dual(loss(fwad.make_dual(q, v), x)).tangent
        return torch.autograd.grad(tangent, q)[0]

    return {"gradient": gradient, "hvp_rev_rev": rev_rev, "hvp_fwd_rev": fwd_rev, "hvp_rev_fwd": rev_fwd}


def _func_methods(loss) -> dict[str, Callable]:
    import torch
    from torch.func import grad, jvp

    return {
        "gradient": lambda p, v, x: grad(loss)(p, x),
        "hvp_rev_rev": lambda p, v, x: grad(lambda q: torch.dot(grad(loss)(q, x), v))(p),
        "hvp_fwd_rev": lambda p, v, x: jvp(lambda q: grad(loss)(q, x), (p,), (v,))[1],
        "hvp_rev_fwd": lambda p, v, x: grad(lambda q: jvp(lambda r: loss(r, x), (q,), (v,))[1])(p),
    }


def check_method(method: str) -> None:
    """Raises NoEquivalent unless the peer implements `method`."""
    if method not in TORCH_METHODS:
        raise NoEquivalent(f"PyTorch has no equivalent of {method} in this benchmark "
                           f"(its peer times {', '.join(TORCH_METHODS[:-1])})")


def method_fn(model: TorchMLP, variant: Variant, method: str) -> Callable:
    """fn(params, v, inputs) -> (P,) for `method` as `variant` spells it (not compiled)."""
    check_method(method)
    if method == FLOOR_METHOD:
        return lambda p, v, x: v[:1]
    methods = _autograd_methods if variant.torch_mode == "autograd" else _func_methods
    return methods(model.loss)[method]


def timed_call(model: TorchMLP, variant: Variant, method: str, v) -> Callable[[], object]:
    """A zero-argument call that runs `method` once on the model's params, `v` and inputs,
    and returns its (P,) result, detached; on CUDA it synchronises before returning.

    torch-compile's compilation happens in the first call (the sweep's first warm-up).
    Raises NoEquivalent for a method the peer does not implement.
    """
    import torch

    fn = method_fn(model, variant, method)
    if variant.torch_mode == "compile":
        # Compile in this process: Inductor's default pool of compile processes would
        # compete with the timed calls for the cores (and outlive a killed worker).
        torch._inductor.config.compile_threads = 1
        # No on-disk caches: compile_s is a cold compile, whatever ran before (a cached
        # graph would compile in seconds and slip past the sweep's compile budget).
        torch._inductor.config.force_disable_caches = True
        fn = torch.compile(fn, fullgraph=True, dynamic=False)
    p, x = model.params, model.inputs
    v = torch.from_numpy(np.array(v)).to(model.device)
    cuda = model.device.type == "cuda"

    def call():
        out = fn(p, v, x).detach()
        if cuda:  # torch, too, runs CUDA work asynchronously
            torch.cuda.synchronize()
        return out

    return call


def reset_compiled() -> None:
    """Forgets torch.compile's caches, so each shape compiles afresh (and never meets the
    recompile limit, past which torch would silently fall back to eager)."""
    import torch

    torch._dynamo.reset()


def compile_count() -> int:
    """Graphs torch.compile has compiled in this process: unchanged across the timed loop
    means no recompilation was timed."""
    import torch._dynamo.utils

    return int(torch._dynamo.utils.counters["stats"]["unique_graphs"])


def torch_device(jax_platform: str) -> str:
    """The torch device beside JAX's platform: "cuda" next to a GPU backend, else "cpu"."""
    import torch

    if jax_platform in ("gpu", "cuda", "rocm"):
        if not torch.cuda.is_available():
            raise RuntimeError(f"JAX runs on {jax_platform}, but this torch build has no usable CUDA "
                               f"({torch_info()['torch_build']})")
        return "cuda"
    return "cpu"


def as_numpy(out) -> np.ndarray:
    """A torch result on the host, for the health check after timing."""
    return out.detach().cpu().numpy()

