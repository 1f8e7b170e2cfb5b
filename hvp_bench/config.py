"""TOML configs loaded into frozen dataclasses, validated before anything runs.

`load_config` is generic (lr_meta uses it too): it reads a TOML file, applies
`--set key=value` overrides, rejects unknown keys and wrong types with a one-line
`ConfigError` naming the key, and builds the dataclass, whose `__post_init__` checks
values. `HVPConfig` is the configuration of one hvp_bench sweep.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Literal

import numpy as np


class ConfigError(ValueError):
    """A bad configuration or command line; the message is one line naming the problem."""


def load_config(cls: type, path: str | Path | None = None, overrides: typing.Sequence[str] = ()):
    """Builds the frozen dataclass `cls` from a TOML file and `key=value` overrides.

    Args:
      cls: a dataclass whose annotated fields are the allowed keys.
      path: TOML file, or None for the dataclass defaults.
      overrides: strings `key=value`; the value is parsed as TOML (`3`, `1e-3`,
        `[1, 2]`, `true`), falling back to a plain string (`device=gpu`).

    Raises:
      ConfigError: missing or unreadable file, bad TOML, unknown key, wrong type,
        impossible value.
    """
    raw: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except OSError as e:
            raise ConfigError(f"cannot read config file {path}: {e.strerror}") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path} is not valid TOML: {e}") from None
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {item!r}")
        raw[key.strip()] = _parse_value(text.strip())
    return config_from_dict(cls, raw)


def config_from_dict(cls: type, raw: dict[str, Any]):
    """Validates `raw` against the fields of dataclass `cls` and builds it."""
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - fields)
    if unknown:
        raise ConfigError(
            f"unknown config key {unknown[0]!r} (known keys: {', '.join(sorted(fields))})"
        )
    hints = typing.get_type_hints(cls)
    values = {key: _coerce(key, value, hints[key]) for key, value in raw.items()}
    return cls(**values)


def config_to_dict(config) -> dict[str, Any]:
    """The dataclass as plain JSON-able values (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(key: str, value: Any, tp) -> Any:
    """Checks `value` against annotation `tp`; converts where TOML is looser (int -> float)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        for option in args:
            if option is type(None):
                continue
            try:
                return _coerce(key, value, option)
            except ConfigError:
                pass
        raise ConfigError(f"config key {key!r} has the wrong type: got {value!r}")
    if origin is Literal:
        if value not in args:
            raise ConfigError(
                f"config key {key!r} must be one of {', '.join(map(repr, args))}, got {value!r}"
            )
        return value
    if origin is tuple:
        item_type = args[0]
        if isinstance(value, dict) and item_type is int:
            value = _linspace_table(key, value)
        if not isinstance(value, list):
            raise ConfigError(f"config key {key!r} must be a list, got {value!r}")
        return tuple(_coerce(f"{key}[{i}]", item, item_type) for i, item in enumerate(value))
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"config key {key!r} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"config key {key!r} must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"config key {key!r} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"config key {key!r} must be finite, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"config key {key!r} must be a string, got {value!r}")
        return value
    raise TypeError(f"unsupported annotation {_type_name(tp)} for config key {key!r}")


def _linspace_table(key: str, table: dict) -> list[int]:
    """`{start, stop, num}` -> the task's `np.linspace(start, stop, num, dtype=int)`."""
    if set(table) != {"start", "stop", "num"}:
        raise ConfigError(f"config key {key!r} as a table needs exactly start, stop, num")
    for name in ("start", "stop", "num"):
        _coerce(f"{key}.{name}", table[name], int)
    if table["num"] < 1:
        raise ConfigError(f"config key {key!r}: num must be >= 1, got {table['num']}")
    return [int(n) for n in np.linspace(table["start"], table["stop"], table["num"], dtype=int)]


def require(condition: bool, message: str) -> None:
    """Raises ConfigError(message) unless `condition`; for `__post_init__` checks."""
    if not condition:
        raise ConfigError(message)


# The methods a sweep may time; the registry in methods.py is the source of truth and a
# test checks the two agree (importing methods here would pull JAX into config parsing).
METHOD_NAMES = (
    "hessian_then_hvp",
    "naive_hvp",
    "hvp_rev_rev",
    "hvp_fwd_rev",
    "hvp_rev_fwd",
    "hvp_linearize",
    "hvp_linearized_apply",
    "gradient",
)


@dataclasses.dataclass(frozen=True)
class HVPConfig:
    """One hvp_bench sweep: models of growing depth x methods x timed runs.

    The model is the task's MLP: `layer_sizes = [input_size] + [width] * depth +
    [output_size]`, so `depth` counts hidden layers and P ~= depth * width**2.
    """

    name: str = "hvp"
    # The task: ns = np.linspace(50, 1000, 15, dtype=int) hidden layers.
    depths: tuple[int, ...] = tuple(int(n) for n in np.linspace(50, 1000, 15, dtype=int))
    width: int = 4
    input_size: int = 4
    output_size: int = 1
    batch: int = 1
    dtype: Literal["float32", "float64"] = "float32"
    # scan compiles in constant time; the task's Python loop cannot compile at 1000 layers.
    form: Literal["scan", "unrolled"] = "scan"
    # Weights are init_scale * N(0, 1) ("normal", the task's own with scale 1.0), or
    # divided by sqrt(fan_in) ("fan_in"). Neither keeps a deep GELU chain alive at every
    # width; runs.csv records whether each result was finite and non-zero.
    init: Literal["normal", "fan_in"] = "normal"
    init_scale: float = 1.0
    methods: tuple[str, ...] = ("hessian_then_hvp", "naive_hvp", "hvp_rev_rev")
    num_runs: int = 10
    warmup: int = 1
    seed: int = 0
    device: Literal["auto", "cpu", "gpu"] = "auto"
    # Dense-Hessian points predicted above this are skipped; 0 means a safe fraction of
    # the free host (CPU) or device (GPU) memory.
    memory_budget_gb: float = 0.0
    # Columns of the dense Hessian built per vectorised block; 0 builds all at once
    # (jax.hessian). Blocks bound the temporaries to block x activations.
    hessian_block: int = 0
    # Widths swept at the fixed depth `width_depth` after the depth sweep; empty: none.
    widths: tuple[int, ...] = ()
    width_depth: int = 100

    def __post_init__(self):
        require(bool(self.name) and "/" not in self.name, "config key 'name' must be a non-empty name without '/'")
        require(len(self.depths) > 0, "config key 'depths' must not be empty")
        require(all(d >= 1 for d in self.depths), f"config key 'depths' must be >= 1, got {list(self.depths)}")
        for key in ("width", "width_depth", "input_size", "output_size", "batch", "num_runs"):
            require(getattr(self, key) >= 1, f"config key {key!r} must be >= 1, got {getattr(self, key)}")
        require(self.warmup >= 0, f"config key 'warmup' must be >= 0, got {self.warmup}")
        require(self.hessian_block >= 0, f"config key 'hessian_block' must be >= 0, got {self.hessian_block}")
        require(self.init_scale > 0, f"config key 'init_scale' must be > 0, got {self.init_scale}")
        require(self.memory_budget_gb >= 0, f"config key 'memory_budget_gb' must be >= 0, got {self.memory_budget_gb}")
        require(all(w >= 1 for w in self.widths), f"config key 'widths' must be >= 1, got {list(self.widths)}")
        require(len(self.methods) > 0, "config key 'methods' must not be empty")
        for m in self.methods:
            require(m in METHOD_NAMES, f"config key 'methods': unknown method {m!r} (known: {', '.join(METHOD_NAMES)})")
        require(len(set(self.methods)) == len(self.methods), "config key 'methods' lists a method twice")
        require(len(set(self.depths)) == len(self.depths), "config key 'depths' lists a depth twice")
