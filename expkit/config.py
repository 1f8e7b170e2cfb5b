"""TOML configs loaded into frozen dataclasses, validated before anything runs.

`load_config(cls, path, overrides)` reads a TOML file, applies `--set key=value`
overrides, rejects unknown keys and wrong types with a one-line `ConfigError` naming
the key, and builds the dataclass `cls`, whose `__post_init__` checks values (with
`require`). The dataclass is the schema: its annotations are the types, its defaults
the defaults, and comments beside them say why.
"""

from __future__ import annotations

import dataclasses
import difflib
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
    return config_from_dict(cls, read_raw(path, overrides))


def read_raw(path: str | Path | None = None, overrides: typing.Sequence[str] = ()) -> dict[str, Any]:
    """The keys of a TOML file with `key=value` overrides applied, not yet validated."""
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
    return raw


def without_retired(cls: type, raw: dict[str, Any]) -> dict[str, Any]:
    """`raw` less the keys `cls` has retired (its `RETIRED`: key -> (the value that still
    means today's behaviour, why it went)); a retired key set to anything else is an error.

    Raises:
      ConfigError: a retired key with a value whose behaviour is gone.
    """
    retired = getattr(cls, "RETIRED", {})
    for key in set(raw) & set(retired):
        value, why = retired[key]
        if raw[key] != value:
            raise ConfigError(f"config key {key!r} is retired ({why}); {key} = {raw[key]!r} can no longer be run")
    return {k: v for k, v in raw.items() if k not in retired}


def config_from_dict(cls: type, raw: dict[str, Any]):
    """Validates `raw` against the fields of dataclass `cls` and builds it."""
    raw = without_retired(cls, raw)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - fields)
    if unknown:
        close = difflib.get_close_matches(unknown[0], fields, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(sorted(fields))}"
        raise ConfigError(f"unknown config key {unknown[0]!r} ({hint})")
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


def key(default: Any, *, ge: float | None = None, gt: float | None = None, le: float | None = None,
        lt: float | None = None, nonempty: bool = False, distinct: bool = False, name: bool = False) -> Any:
    """A config field with its bounds, checked whenever the config is built (`Config`).

    Bounds on a tuple apply to each item; `nonempty` and `distinct` to the tuple itself;
    `name` asks for a non-empty string without '/' (a run directory's name).
    """
    bounds = {k: v for k, v in dict(ge=ge, gt=gt, le=le, lt=lt).items() if v is not None}
    return dataclasses.field(default=default, metadata={"bounds": bounds, "nonempty": nonempty,
                                                        "distinct": distinct, "name": name})


_RELATIONS = {"ge": (">=", lambda a, b: a >= b), "gt": (">", lambda a, b: a > b),
              "le": ("<=", lambda a, b: a <= b), "lt": ("<", lambda a, b: a < b)}


def check_keys(config) -> None:
    """Checks every field of `config` against the bounds `key(...)` declared; ConfigError names the key."""
    for f in dataclasses.fields(config):
        value, meta = getattr(config, f.name), f.metadata
        shown = list(value) if isinstance(value, tuple) else value
        if meta.get("name"):
            require(isinstance(value, str) and bool(value) and "/" not in value,
                    f"config key {f.name!r} must be a non-empty name without '/'")
        if meta.get("nonempty"):
            require(len(value) > 0, f"config key {f.name!r} must not be empty")
        if meta.get("distinct"):
            require(len(set(value)) == len(value), f"config key {f.name!r} lists a value twice: {shown}")
        for relation, bound in meta.get("bounds", {}).items():
            word, holds = _RELATIONS[relation]
            items = value if isinstance(value, tuple) else (value,)
            require(all(holds(item, bound) for item in items),
                    f"config key {f.name!r} must be {word} {bound:g}, got {shown}")


class Config:
    """Base of the suite's config dataclasses: declared bounds first, then `check()` for rules
    that relate several keys."""

    def __post_init__(self):
        check_keys(self)
        self.check()

    def check(self) -> None:
        """Rules across keys; each failure a one-line ConfigError (`require`)."""


def require(condition: bool, message: str) -> None:
    """Raises ConfigError(message) unless `condition`; for `__post_init__` checks."""
    if not condition:
        raise ConfigError(message)


def load_study(studies: dict[str, type], path: str | Path | None = None, overrides: typing.Sequence[str] = (),
               default: str | None = None):
    """The config of the study a file names in its `study` key (or `--set study=...`).

    Args:
      studies: study name -> dataclass; each has a `study` field holding its name.
      default: the study of a file without a `study` key (the first of `studies` if None).
    Raises:
      ConfigError: an unknown study, and everything `load_config` raises.
    """
    raw = read_raw(path, overrides)
    study = raw.get("study", default or next(iter(studies)))
    require(isinstance(study, str) and study in studies,
            f"config key 'study' must be one of {', '.join(map(repr, studies))}, got {study!r}")
    return config_from_dict(studies[study], raw)
