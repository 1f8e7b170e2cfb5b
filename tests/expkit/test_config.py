"""The generic config loader on a config of its own: types, overrides, tables, errors."""

import dataclasses
from typing import Literal

import pytest

from expkit.config import Config, ConfigError, config_to_dict, key, load_config, require


@dataclasses.dataclass(frozen=True)
class Toy:
    name: str = "toy"
    steps: int = 3
    rate: float = 0.5
    sizes: tuple[int, ...] = (1, 2)
    mode: Literal["fast", "exact"] = "fast"
    verbose: bool = False

    def __post_init__(self):
        require(self.steps >= 1, f"config key 'steps' must be >= 1, got {self.steps}")


def test_defaults_file_and_overrides(tmp_path):
    path = tmp_path / "toy.toml"
    path.write_text('steps = 5\nsizes = { start = 10, stop = 30, num = 3 }\n')
    toy = load_config(Toy, path, ["rate=2", "mode=exact", "verbose=true", "name=other"])
    assert toy == Toy(name="other", steps=5, rate=2.0, sizes=(10, 20, 30), mode="exact", verbose=True)
    assert isinstance(toy.rate, float)
    assert config_to_dict(toy)["sizes"] == [10, 20, 30]
    assert load_config(Toy) == Toy()


@pytest.mark.parametrize("override, match", [
    ("stpes=3", "unknown config key 'stpes' \\(did you mean 'steps'\\?\\)"),
    ("zzz=3", "unknown config key 'zzz' \\(known keys: mode, name, rate, sizes, steps, verbose\\)"),
    ("steps=1.5", "'steps' must be an integer"),
    ("steps=0", "'steps' must be >= 1"),
    ("rate=inf", "'rate' must be finite"),
    ("rate=fast", "'rate' must be a number"),
    ("mode=slow", "'mode' must be one of 'fast', 'exact'"),
    ("verbose=1", "'verbose' must be true or false"),
    ("sizes=[1, 'a']", "'sizes\\[1\\]' must be an integer"),
    ("sizes = { start = 1, num = 2 }", "needs exactly start, stop, num"),
    ("steps", "--set expects key=value"),
])
def test_each_bad_value_is_one_line_naming_the_key(override, match):
    with pytest.raises(ConfigError, match=match) as info:
        load_config(Toy, None, [override])
    assert "\n" not in str(info.value)


def test_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(Toy, tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("steps = = 3")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(Toy, tmp_path / "bad.toml")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(Toy, tmp_path)  # a directory


@dataclasses.dataclass(frozen=True)
class Bounded(Config):
    name: str = key("run", name=True)
    n: int = key(3, ge=1)
    rate: float = key(0.5, gt=0, lt=1)
    sizes: tuple[int, ...] = key((1, 2), ge=1, nonempty=True, distinct=True)


@pytest.mark.parametrize("override, message", [
    ("n=0", "config key 'n' must be >= 1, got 0"),
    ("rate=1", "config key 'rate' must be < 1, got 1.0"),
    ("rate=0", "config key 'rate' must be > 0, got 0.0"),
    ("sizes=[]", "config key 'sizes' must not be empty"),
    ("sizes=[2, 2]", "config key 'sizes' lists a value twice: [2, 2]"),
    ("sizes=[3, 0]", "config key 'sizes' must be >= 1, got [3, 0]"),
    ("name='a/b'", "config key 'name' must be a non-empty name without '/'"),
])
def test_declared_bounds_are_checked_with_one_line_naming_the_key(override, message):
    with pytest.raises(ConfigError) as info:
        load_config(Bounded, None, [override])
    assert str(info.value) == message
    assert Bounded(n=1, rate=0.99, sizes=(5,)).sizes == (5,)


def test_load_study_picks_the_class_by_the_study_key(tmp_path):
    from expkit.config import load_study

    @dataclasses.dataclass(frozen=True)
    class First:
        study: Literal["first"] = "first"
        steps: int = 1

    @dataclasses.dataclass(frozen=True)
    class Second:
        study: Literal["second"] = "second"
        rate: float = 0.5

    studies = {"first": First, "second": Second}
    plain, named = tmp_path / "plain.toml", tmp_path / "named.toml"
    plain.write_text("steps = 3\n")
    named.write_text('study = "second"\nrate = 0.25\n')
    assert load_study(studies, plain) == First(steps=3)
    assert load_study(studies, named) == Second(rate=0.25)
    assert load_study(studies, None, ["study=second"]) == Second()
    with pytest.raises(ConfigError, match="'study' must be one of 'first', 'second', got 'third'"):
        load_study(studies, None, ["study=third"])
    with pytest.raises(ConfigError, match="config file not found"):
        load_study(studies, tmp_path / "missing.toml")
