"""What the model study can measure, without JAX: the models and their sizes, the methods and their labels.

A config names models and methods from here, so it is checked before JAX starts.
"""

from __future__ import annotations

import dataclasses

MODELS = ("resnet", "vit", "gpt", "mlp")
MODEL_LABELS = {"resnet": "ResNet", "vit": "ViT", "gpt": "GPT", "mlp": "MLP-256"}


@dataclasses.dataclass(frozen=True)
class Sizes:
    """Every model's shape. Defaults: the CPU study's (ResNet-18 stages on 32x32, a small ViT and decoder)."""

    image: int = 32                  # ResNet (and ViT) input side (pixels)
    classes: int = 10
    resnet_stages: tuple = (2, 2, 2, 2)  # residual blocks per stage: ResNet-18 (34: 3, 4, 6, 3)
    resnet_width: int = 16           # channels of the first stage, doubled at each next one
    resnet_stem: str = "cifar"       # "cifar": one 3x3 conv; "imagenet": 7x7 stride 2, then 3x3 max pool stride 2
    vit_image: int = 0               # the ViT's input side, 0: `image` (the reference: 224 ResNet, 96 ViT)
    vit_patch: int = 4
    vit_dim: int = 128
    vit_depth: int = 4
    vit_heads: int = 4
    gpt_dim: int = 192
    gpt_depth: int = 4
    gpt_heads: int = 4
    gpt_seq: int = 64
    gpt_vocab: int = 512
    mlp_width: int = 256
    mlp_depth: int = 8               # hidden layers


METHODS = ("gradient", "hvp_fwd_rev", "hvp_rev_rev", "hvp_rev_fwd", "hvp_linearize", "hvp_linearized_apply",
           "hvp_block", "ggn_product")
METHOD_LABELS = {
    "gradient": "gradient",
    "hvp_fwd_rev": "forward-over-reverse",
    "hvp_rev_rev": "reverse-over-reverse",
    "hvp_rev_fwd": "reverse-over-forward",
    "hvp_linearize": "linearize + apply",
    "hvp_linearized_apply": "stored linearization, applied",
    "hvp_block": "block of vectors, vmapped (per vector)",
    "ggn_product": "Gauss-Newton product",
}
HVP_METHODS = ("hvp_fwd_rev", "hvp_rev_rev", "hvp_rev_fwd")
"""The three compositions the reference benchmark times."""
CHECK_AGAINST = "hvp_fwd_rev"
"""Every HVP is checked against this one (the Gauss-Newton product against a second way of its own)."""

# The study's logs (hvp_models.study writes them, hvp_models.summary reads them).
ROUND_COLUMNS = ["model", "batch", "repeat", "round", "method", "position", "time_s"]
METHOD_COLUMNS = ["model", "batch", "repeat", "params", "method", "vectors", "compile_s", "prepare_s", "flops",
                  "bytes_accessed", "transcendentals", "kernels", "convolutions", "convolutions_not_nhwc", "transposes",
                  "argument_bytes", "output_bytes", "temp_bytes", "total_bytes", "check_error", "checked_against",
                  "status"]
