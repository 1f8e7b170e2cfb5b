"""lr_meta.config: defaults and shipped configs load; every impossible value is refused."""

from pathlib import Path

import pytest

from expkit.config import ConfigError, load_config
from lr_meta.config import LRMetaConfig

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def test_defaults_and_shipped_configs_load():
    default = LRMetaConfig()
    assert (default.dim, default.horizon, default.alpha_init_high) == (1000, 10, 0.1)  # the task's
    reference = load_config(LRMetaConfig, CONFIGS / "lr_meta.toml")
    assert reference.dim == 1000 and reference.horizon == 10 and reference.dtype == "float64"
    smoke = load_config(LRMetaConfig, CONFIGS / "lr_meta_smoke.toml")
    assert smoke.name == "lr_meta_smoke" and smoke.meta_steps <= 1000


def test_overrides_are_typed():
    config = load_config(LRMetaConfig, None, ["beta=2e-3", "dim=7", "dtype=float32", "beta_sweep=[1e-3, 1]"])
    assert config.beta == 2e-3 and config.dim == 7 and config.dtype == "float32"
    assert config.beta_sweep == (1e-3, 1.0)


@pytest.mark.parametrize("override, message", [
    ("dimm=3", "unknown config key 'dimm'"),
    ("dim=3.5", "'dim' must be an integer"),
    ("beta=fast", "'beta' must be a number"),
    ("dtype=float16", "'dtype' must be one of"),
    ("dim=0", "'dim' must be >= 1"),
    ("horizon=0", "'horizon' must be >= 1"),
    ("beta=0", "'beta' must be > 0"),
    ("beta=-1e-3", "'beta' must be > 0"),
    ("meta_steps=0", "'meta_steps' must be >= 1"),
    ("meta_steps=105", "multiple of log_every"),
    ("segments=3", "needs unroll"),
    ("divergence_factor=1", "'divergence_factor' must be > 1"),
    ("quad_condition=0.5", "'quad_condition' must be >= 1"),
    ("quad_dim=5", "'quad_dim' (5) must be >= horizon"),
    ("beta_sweep=[1e-3, 0]", "'beta_sweep' must be > 0"),
    ("name=a/b", "'name' must be"),
])
def test_bad_values_raise_one_line_naming_the_key(override, message):
    with pytest.raises(ConfigError) as err:
        load_config(LRMetaConfig, None, [override])
    assert message in str(err.value) and "\n" not in str(err.value)


def test_segments_must_divide_the_horizon():
    with pytest.raises(ConfigError, match="must divide horizon"):
        load_config(LRMetaConfig, None, ["unroll=scan", "segments=3"])
    assert load_config(LRMetaConfig, None, ["unroll=scan", "segments=5"]).segments == 5
