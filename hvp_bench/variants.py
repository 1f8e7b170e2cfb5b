"""Variants: the ways of writing the same network for XLA, named by short strings.

A variant is the form of the loop over hidden layers plus how each layer is written; the
network, its parameters and every derivative are the same in all of them (tests check
it), only compile time and speed change. Names are `-`-separated tokens, form first:

    scan                the hidden layers in one lax.scan (the default)
    unrolled            the task's Python loop: one block of ops per layer
    fori                lax.fori_loop indexing the stacked weights
    ...-u8              scan/fori unroll factor 8 (default 1)
    ...-fused           each layer's product as multiply + sum, fusible (default: matmul)
    ...-jvp             the layer's JVP written out (jax.custom_jvp) in the same form
    ...-remat           the layer recomputed in the backward pass (jax.checkpoint,
                        nothing saved) instead of its intermediates stacked per step
    ...-exact           the exact (erf) GELU instead of the task's tanh approximation
    ...-logistic        the task's tanh GELU written z * sigmoid(2u): the same function,
                        whose vmapped derivatives XLA:CPU gets right (the tanh form's
                        are wrong on saturated units: docs/xla_cpu_tanh_jvp.md)
    ...-k16             a block of 16 vectors per call (vmap), for curvature estimators;
                        the per-vector cost is the time over 16 (the gradient and the
                        dispatch floor ignore the vectors and run once)
    ...-tree            the parameters and vectors passed as a pytree of weight matrices
                        (`MLP.weight_tree`) instead of one flat vector: what a model
                        written with a library costs against the flat path

e.g. "scan-fused-u8", "fori-fused-jvp-u4". The PyTorch peer (hvp_bench.torch_peer, an
optional extra) is three more variants of the same network, timed in the same sweep:

    torch               PyTorch eager, torch.autograd: double backward, dual numbers
                        (torch.autograd.forward_ad) for the forward-mode compositions
    torch-func          PyTorch eager, torch.func transforms (jvp of grad, grad of jvp)
    torch-compile       the torch.func compositions under torch.compile (Inductor)

`describe` says a name in plain words for figures and tables ("scan-fused-jvp-remat":
"fused products, hand-written JVP, recomputed backward"). JAX-free (and torch-free), so
configs are validated without either.
"""

from __future__ import annotations

import dataclasses

FORMS = ("scan", "unrolled", "fori", "torch")
TORCH_MODES = ("autograd", "func", "compile")


@dataclasses.dataclass(frozen=True)
class Variant:
    """A parsed variant name; `name` gives the canonical spelling back."""

    form: str = "scan"
    unroll: int = 1
    product: str = "matmul"
    activation: str = "tanh"
    rule: str = "autodiff"
    remat: bool = False
    vectors: int = 1
    # Parameters as one flat vector, or as a pytree of weight matrices ("tree").
    tree: bool = False
    # The torch form only: which PyTorch API runs the derivatives (TORCH_MODES).
    torch_mode: str = "autograd"

    @property
    def is_torch(self) -> bool:
        return self.form == "torch"

    @property
    def name(self) -> str:
        if self.is_torch:
            return "torch" if self.torch_mode == "autograd" else f"torch-{self.torch_mode}"
        tokens = [self.form]
        tokens += ["fused"] if self.product == "fused" else []
        tokens += ["jvp"] if self.rule == "custom_jvp" else []
        tokens += ["remat"] if self.remat else []
        tokens += [self.activation] if self.activation != "tanh" else []
        tokens += [f"u{self.unroll}"] if self.unroll != 1 else []
        tokens += [f"k{self.vectors}"] if self.vectors != 1 else []
        tokens += ["tree"] if self.tree else []
        return "-".join(tokens)

    def model_kwargs(self) -> dict:
        """Keyword arguments of `secondorder.model.MLP` (the layer as a `LayerSpec` there)."""
        if self.is_torch:
            raise ValueError(f"variant {self.name!r} is PyTorch's: build it with hvp_bench.torch_peer")
        return {"form": self.form, "unroll": self.unroll,
                "layer": {"product": self.product, "activation": self.activation, "rule": self.rule,
                          "remat": self.remat}}


def parse_variant(text: str) -> Variant:
    """The Variant a name describes; ValueError naming the bad token otherwise."""
    tokens = str(text).strip().split("-")
    if tokens[0] not in FORMS:
        raise ValueError(f"variant {text!r} must start with one of {', '.join(FORMS)}")
    if tokens[0] == "torch":
        if len(tokens) > 2 or tokens[1:] not in ([], ["func"], ["compile"]):
            raise ValueError(f"variant {text!r}: the torch form is 'torch', 'torch-func' or 'torch-compile'")
        return Variant(form="torch", torch_mode=tokens[1] if len(tokens) == 2 else "autograd")
    fields: dict = {"form": tokens[0]}
    for token in tokens[1:]:
        if token in ("fused", "matmul"):
            key, value = "product", token
        elif token == "jvp":
            key, value = "rule", "custom_jvp"
        elif token == "remat":
            key, value = "remat", True
        elif token == "tree":
            key, value = "tree", True
        elif token in ("exact", "tanh", "logistic"):
            key, value = "activation", token
        elif token[:1] in ("u", "k") and token[1:].isdigit() and int(token[1:]) >= 1:
            key, value = {"u": "unroll", "k": "vectors"}[token[0]], int(token[1:])
        else:
            raise ValueError(f"variant {text!r}: unknown token {token!r} (known: u<N>, k<N>, fused, "
                             "matmul, jvp, remat, exact, tanh, logistic, tree)")
        if key in fields:
            raise ValueError(f"variant {text!r} sets its {key} twice")
        fields[key] = value
    if fields["form"] == "unrolled" and fields.get("unroll", 1) != 1:
        raise ValueError(f"variant {text!r}: the unrolled form has no unroll factor")
    return Variant(**fields)


# Plain words for figure titles and legends, so a reader needs no list of tokens.
_FORM_WORDS = {
    "scan": "layers in one compiled loop",
    "unrolled": "a Python loop as in the assignment, one block of code per layer",
    "fori": "a fori_loop that indexes the weights",
}
_TORCH_WORDS = {
    "autograd": "PyTorch, eager, torch.autograd",
    "func": "PyTorch, eager, torch.func",
    "compile": "PyTorch, compiled by torch.compile",
}


def describe(text: str) -> str:
    """A variant name in plain words, e.g. "scan-fused-jvp-remat" -> "fused products,
    hand-written JVP, recomputed backward"; a name that does not parse comes back as is."""
    try:
        v = parse_variant(text)
    except ValueError:
        return str(text)
    if v.is_torch:
        return _TORCH_WORDS[v.torch_mode]
    words = [] if v.form == "scan" else [_FORM_WORDS[v.form]]
    words += ["fused products"] if v.product == "fused" else []
    words += ["hand-written JVP"] if v.rule == "custom_jvp" else []
    words += ["recomputed backward"] if v.remat else []
    words += ["exact (erf) GELU"] if v.activation == "exact" else []
    words += [f"loop unrolled {v.unroll}x"] if v.unroll != 1 else []
    words += [f"{v.vectors} vectors per call"] if v.vectors != 1 else []
    words += ["parameters as a pytree"] if v.tree else []
    return ", ".join(words) if words else f"plain {_FORM_WORDS['scan']}"
