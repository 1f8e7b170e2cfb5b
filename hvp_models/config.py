"""The configuration of the model study: `ModelsConfig`, a frozen dataclass (keys and bounds).

The model shapes are `hvp_models.catalog.Sizes`' fields, so one config says everything a
run needs; the defaults are the CPU study's sizes.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

from expkit.config import Config, key, load_config, require
from hvp_models.catalog import METHODS, MODELS, Sizes

MATMUL_PRECISIONS = ("highest", "high", "default")


@dataclasses.dataclass(frozen=True)
class ModelsConfig(Config, Sizes):
    name: str = key("hvp_models", name=True)
    models: tuple[Literal["resnet", "vit", "gpt", "mlp"], ...] = key(MODELS, nonempty=True, distinct=True)
    batches: tuple[int, ...] = key((8, 32), ge=1, nonempty=True, distinct=True)
    methods: tuple[Literal[METHODS], ...] = key(METHODS, nonempty=True, distinct=True)
    block: int = key(8, ge=1)         # vectors in the vmapped block (hvp_block)
    rounds: int = key(10, ge=2)       # shuffled rounds per unit: every method once per round
    repeats: int = key(3, ge=1)       # units per (model, batch), spread over the run (all models, then again)
    seed: int = key(0, ge=0)          # parameters, data, vectors, round orders
    # "highest": true float32 products (TF32 off on a GPU); recorded in meta.json with the config.
    matmul_precision: Literal["highest", "high", "default"] = "highest"
    check_rtol: float = key(1e-3, gt=0)   # max |a - b| / max |b| at which two methods agree (float32)
    # Sizes' fields (hvp_models.catalog.Sizes), with their bounds:
    image: int = key(32, ge=4)
    classes: int = key(10, ge=2)
    resnet_stages: tuple[int, ...] = key((2, 2, 2, 2), ge=1, nonempty=True)
    resnet_width: int = key(16, ge=4)
    resnet_stem: Literal["cifar", "imagenet"] = "cifar"
    vit_image: int = key(0, ge=0)     # 0: the same as image
    vit_patch: int = key(4, ge=1)
    vit_dim: int = key(128, ge=2)
    vit_depth: int = key(4, ge=1)
    vit_heads: int = key(4, ge=1)
    gpt_dim: int = key(192, ge=2)
    gpt_depth: int = key(4, ge=1)
    gpt_heads: int = key(4, ge=1)
    gpt_seq: int = key(64, ge=2)
    gpt_vocab: int = key(512, ge=2)
    mlp_width: int = key(256, ge=1)
    mlp_depth: int = key(8, ge=1)

    def check(self) -> None:
        require("gradient" in self.methods, "config key 'methods' must include 'gradient': every ratio is over it")
        side = self.vit_image or self.image
        require(side % self.vit_patch == 0 or "vit" not in self.models,
                f"the ViT's image side ({side}) must be a multiple of vit_patch ({self.vit_patch})")
        require(self.vit_dim % self.vit_heads == 0, f"vit_dim ({self.vit_dim}) must divide into vit_heads "
                f"({self.vit_heads})")
        require(self.gpt_dim % self.gpt_heads == 0, f"gpt_dim ({self.gpt_dim}) must divide into gpt_heads "
                f"({self.gpt_heads})")
        require(self.resnet_width % 4 == 0, f"resnet_width must be a multiple of 4 (GroupNorm groups), "
                f"got {self.resnet_width}")


def load(path: str | Path | None, overrides=()) -> ModelsConfig:
    """The validated config from a TOML file and `key=value` overrides (ConfigError names a bad key)."""
    return load_config(ModelsConfig, path, overrides)
