"""The models: a ResNet, a ViT, a GPT-style decoder (flax nnx) and the homework's MLP at width 256.

    problem = build("resnet", batch=8, sizes=Sizes())
    problem.loss(problem.params, *problem.batch)          # scalar
    problem.predict(problem.params, problem.batch[0])     # logits

Written with flax's nnx, the library of the reference benchmark (Dagréou et al. 2024 use
flax models), so a reader can put their own nnx model in the same place. `nnx.split`
takes the trainable parameters apart as a pytree (an `nnx.State`); the loss is a pure
function of that pytree and the batch, which is all `secondorder` needs.

Choices, and why:
- the ResNet normalises with GroupNorm, not BatchNorm: batch statistics would make the
  loss depend on state updated in the forward pass, and a GroupNorm ResNet's Hessian is
  a function of the parameters alone;
- the ViT and the decoder use the exact (erf) GELU: vmapped, XLA:CPU differentiates the
  tanh form wrongly where units saturate (docs/xla_cpu_tanh_jvp.md); the MLP keeps the
  homework's tanh GELU in its vmap-safe logistic form (the same function);
- data are random (images, tokens, labels): the cost of a product does not depend on
  the values, and random labels keep every logit's gradient non-zero.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hvp_models.catalog import MODELS, Sizes

@dataclasses.dataclass(frozen=True)
class Problem:
    """One model at one batch: parameters (a pytree), the batch (inputs, targets) and the loss's parts.

    loss(params, inputs, targets) = output_loss(predict(params, inputs), targets), the mean
    softmax cross-entropy.
    """

    name: str
    params: Any
    batch: tuple
    predict: Callable[[Any, Any], jax.Array]
    output_loss: Callable[[jax.Array, jax.Array], jax.Array]

    def loss(self, params: Any, inputs: Any, targets: Any) -> jax.Array:
        return self.output_loss(self.predict(params, inputs), targets)

    @property
    def num_params(self) -> int:
        return int(sum(np.size(leaf) for leaf in jax.tree.leaves(self.params)))


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy. logits (..., classes), labels (...) integers -> scalar."""
    log_p = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(log_p, labels[..., None], axis=-1))


def _resnet(s: Sizes, rngs):
    from flax import nnx

    class Block(nnx.Module):
        def __init__(self, cin, cout, stride):
            self.conv1 = nnx.Conv(cin, cout, (3, 3), strides=stride, use_bias=False, rngs=rngs)
            self.norm1 = nnx.GroupNorm(cout, num_groups=min(32, cout // 4), rngs=rngs)
            self.conv2 = nnx.Conv(cout, cout, (3, 3), use_bias=False, rngs=rngs)
            self.norm2 = nnx.GroupNorm(cout, num_groups=min(32, cout // 4), rngs=rngs)
            self.skip = (nnx.Conv(cin, cout, (1, 1), strides=stride, use_bias=False, rngs=rngs)
                         if stride != 1 or cin != cout else None)

        def __call__(self, x):
            y = nnx.relu(self.norm1(self.conv1(x)))
            y = self.norm2(self.conv2(y))
            return nnx.relu(y + (x if self.skip is None else self.skip(x)))

    class ResNet(nnx.Module):
        def __init__(self):
            w = s.resnet_width
            imagenet = s.resnet_stem == "imagenet"
            self.stem = nnx.Conv(3, w, (7, 7) if imagenet else (3, 3), strides=2 if imagenet else 1, use_bias=False,
                                 rngs=rngs)
            self.pool = imagenet
            self.norm = nnx.GroupNorm(w, num_groups=min(32, w // 4), rngs=rngs)
            blocks, cin = [], w
            for stage, count in enumerate(s.resnet_stages):
                cout = w * 2 ** stage
                for i in range(count):
                    blocks.append(Block(cin, cout, 2 if stage > 0 and i == 0 else 1))
                    cin = cout
            self.blocks = nnx.List(blocks)
            self.head = nnx.Linear(cin, s.classes, rngs=rngs)

        def __call__(self, x):
            x = nnx.relu(self.norm(self.stem(x)))
            if self.pool:
                x = nnx.max_pool(x, (3, 3), strides=(2, 2), padding="SAME")
            for block in self.blocks:
                x = block(x)
            return self.head(jnp.mean(x, axis=(1, 2)))

    return ResNet()


def attention(query, key, value, mask=None, **unused):
    """Softmax attention in the inputs' dtype. (batch, length, heads, d) each -> (batch, length, heads, d).

    flax's default computes the softmax in float32 whatever the inputs, which would make
    the float64 checks against finite differences (tests) meaningless; the arithmetic is the same.
    """
    logits = jnp.einsum("...qhd,...khd->...hqk", query / jnp.sqrt(query.shape[-1]).astype(query.dtype), key)
    if mask is not None:
        logits = jnp.where(mask, logits, jnp.finfo(logits.dtype).min)
    return jnp.einsum("...hqk,...khd->...qhd", jax.nn.softmax(logits, axis=-1), value)


def _transformer_block(dim: int, heads: int, rngs):
    from flax import nnx

    class Block(nnx.Module):
        def __init__(self):
            self.norm1 = nnx.LayerNorm(dim, rngs=rngs)
            self.attn = nnx.MultiHeadAttention(num_heads=heads, in_features=dim, decode=False, attention_fn=attention,
                                               rngs=rngs)
            self.norm2 = nnx.LayerNorm(dim, rngs=rngs)
            self.up = nnx.Linear(dim, 4 * dim, rngs=rngs)
            self.down = nnx.Linear(4 * dim, dim, rngs=rngs)

        def __call__(self, x, mask=None):
            x = x + self.attn(self.norm1(x), mask=mask)
            return x + self.down(nnx.gelu(self.up(self.norm2(x)), approximate=False))

    return Block()


def _vit(s: Sizes, rngs):
    from flax import nnx

    class ViT(nnx.Module):
        def __init__(self):
            tokens = (vit_side(s) // s.vit_patch) ** 2
            self.patches = nnx.Conv(3, s.vit_dim, (s.vit_patch, s.vit_patch), strides=s.vit_patch,
                                    padding="VALID", rngs=rngs)
            self.position = nnx.Param(0.02 * jax.random.normal(rngs.params(), (1, tokens, s.vit_dim)))
            self.blocks = nnx.List([_transformer_block(s.vit_dim, s.vit_heads, rngs) for _ in range(s.vit_depth)])
            self.norm = nnx.LayerNorm(s.vit_dim, rngs=rngs)
            self.head = nnx.Linear(s.vit_dim, s.classes, rngs=rngs)

        def __call__(self, x):
            x = self.patches(x)
            x = x.reshape(x.shape[0], -1, x.shape[-1]) + self.position[...]
            for block in self.blocks:
                x = block(x)
            return self.head(jnp.mean(self.norm(x), axis=1))  # mean-pooled tokens, no class token

    return ViT()


def vit_side(s: Sizes) -> int:
    """The ViT's input side: `vit_image`, or `image` where that is 0."""
    return s.vit_image or s.image


def _gpt(s: Sizes, rngs):
    from flax import nnx

    class GPT(nnx.Module):
        def __init__(self):
            # A plain table, not nnx.Embed, which casts it to float32 (the float64 checks need it as given).
            self.embed = nnx.Param(0.02 * jax.random.normal(rngs.params(), (s.gpt_vocab, s.gpt_dim)))
            self.position = nnx.Param(0.02 * jax.random.normal(rngs.params(), (1, s.gpt_seq, s.gpt_dim)))
            self.blocks = nnx.List([_transformer_block(s.gpt_dim, s.gpt_heads, rngs) for _ in range(s.gpt_depth)])
            self.norm = nnx.LayerNorm(s.gpt_dim, rngs=rngs)
            self.head = nnx.Linear(s.gpt_dim, s.gpt_vocab, use_bias=False, rngs=rngs)

        def __call__(self, tokens):
            x = jnp.take(self.embed[...], tokens, axis=0) + self.position[...]
            mask = nnx.make_causal_mask(tokens)
            for block in self.blocks:
                x = block(x, mask)
            return self.head(self.norm(x))  # (batch, seq, vocab): next-token logits

    return GPT()


def _nnx_problem(name: str, module, batch: tuple) -> Problem:
    from flax import nnx

    graphdef, params, rest = nnx.split(module, nnx.Param, ...)

    def predict(p, inputs):
        return nnx.merge(graphdef, p, rest)(inputs)

    return Problem(name, params, batch, predict, cross_entropy)


def _mlp_problem(s: Sizes, batch: int, key, dtype) -> Problem:
    from secondorder.model import MLP

    # The homework's network (bias-free, GELU after every layer but the last) at width 256,
    # its weights scaled by fan-in, in the vmap-safe form of its tanh GELU.
    mlp = MLP(key, [s.mlp_width] * (s.mlp_depth + 1) + [s.classes], form="scan", init="fan_in", dtype=dtype,
              layer={"activation": "logistic"})
    k1, k2 = jax.random.split(jax.random.fold_in(key, 1))
    inputs = jax.random.normal(k1, (batch, s.mlp_width), dtype)
    labels = jax.random.randint(k2, (batch,), 0, s.classes)
    return Problem("mlp", mlp.weight_tree(), (inputs, labels), mlp.apply, cross_entropy)


def build(name: str, batch: int, sizes: Sizes = Sizes(), seed: int = 0, dtype=jnp.float32) -> Problem:
    """The model `name` (one of MODELS) with its parameters drawn from `seed`, and a random batch of `batch` rows."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    key = jax.random.key(seed)
    if name == "mlp":
        return _mlp_problem(sizes, batch, key, dtype)
    from flax import nnx  # the models extra; the MLP needs none of it

    rngs = nnx.Rngs(params=seed)
    k_in, k_out = jax.random.split(jax.random.fold_in(key, 1))
    if name == "gpt":
        tokens = jax.random.randint(k_in, (batch, sizes.gpt_seq + 1), 0, sizes.gpt_vocab)
        inputs, targets = tokens[:, :-1], tokens[:, 1:]  # next-token prediction
        module = _gpt(sizes, rngs)
    else:
        side = sizes.image if name == "resnet" else vit_side(sizes)
        inputs = jax.random.normal(k_in, (batch, side, side, 3), dtype)
        targets = jax.random.randint(k_out, (batch,), 0, sizes.classes)
        module = _resnet(sizes, rngs) if name == "resnet" else _vit(sizes, rngs)
    problem = _nnx_problem(name, module, (inputs, targets))
    return dataclasses.replace(problem, params=jax.tree.map(lambda a: a.astype(dtype), problem.params))
