"""The MLP's layer sizes and parameter count, JAX-free (configs check sizes without JAX)."""

from __future__ import annotations

from collections.abc import Sequence


def layer_sizes_for(depth: int, width: int, input_size: int, output_size: int) -> list[int]:
    """`[input_size] + [width] * depth + [output_size]`: `depth` hidden layers."""
    return [input_size] + [width] * depth + [output_size]


def num_params(layer_sizes: Sequence[int]) -> int:
    """P, the number of weights of the bias-free MLP: sum of sizes[i] * sizes[i + 1]."""
    return sum(m * n for m, n in zip(layer_sizes[:-1], layer_sizes[1:]))
