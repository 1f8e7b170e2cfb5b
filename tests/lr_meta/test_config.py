"""lr_meta.config: defaults and shipped configs load; every impossible value is refused."""

from pathlib import Path

import pytest

from expkit.config import ConfigError, load_config
from lr_meta.config import HorizonConfig, LRMetaConfig, TrainingConfig, load

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


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


@pytest.mark.parametrize("override, message", [
    ("study=sideways", "'study' must be one of"),
    ("horizons=[]", "'horizons' must not be empty"),
    ("horizons=[10, 0]", "'horizons' must be >= 1"),
    ("horizons=[10.5]", "'horizons[0]' must be an integer"),
    ("knots=0", "'knots' must be >= 1"),
    ("knots=11", "'knots' (11) must not exceed any horizon"),
    ("methods=[\"reverse\", \"sideways\"]", "'methods' must be names from"),
    ("methods=[\"reverse\", \"reverse\"]", "'methods' lists a value twice"),
    ("methods=[]", "'methods' must not be empty"),
    ("knot_sweep=[0]", "'knot_sweep' must be >= 1"),
    ("knot_sweep=[2000]", "'knot_sweep' must not exceed knot_sweep_horizon"),
    ("knot_sweep_horizon=0", "'knot_sweep_horizon' must be >= 1"),
    ("total_step=0", "'total_step' must be > 0"),
    ("total_step=10", "'total_step' (10.0) must be < the smallest horizon"),
    ("repeats=0", "'repeats' must be >= 1"),
    ("warmup=-1", "'warmup' must be >= 0"),
    ("fit_min_horizon=0", "'fit_min_horizon' must be >= 1"),
    ("rtol=1", "'rtol' must be < 1"),
    ("dim=0", "'dim' must be >= 1"),
    ("seed=-1", "'seed' must be >= 0"),
    ("beta=1e-3", "unknown config key 'beta'"),
])
def test_horizon_study_rejects_bad_values(override, message):
    with pytest.raises(ConfigError) as err:
        load(None, ["study=horizon", override])
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("override, message", [
    ("features=0", "'features' must be >= 1"),
    ("samples=0", "'samples' must be >= 1"),
    ("train_draws=0", "'train_draws' must be >= 1"),
    ("test_draws=0", "'test_draws' must be >= 1"),
    ("knots=0", "'knots' must be >= 1"),
    ("knots=20", "'knots' (20) must not exceed any horizon"),
    ("meta_steps=0", "'meta_steps' must be >= 1"),
    ("grid_points=0", "'grid_points' must be >= 1"),
    ("feature_condition=0.5", "'feature_condition' must be >= 1"),
    ("l2=0", "'l2' must be > 0"),
    ("meta_lr=-1", "'meta_lr' must be > 0"),
    ("grid_low=0", "'grid_low' must be > 0"),
    ("grid_high=0.01", "'grid_high' (0.01) must be > grid_low"),
    ("horizons=[0]", "'horizons' must be >= 1"),
    ("norm_horizons=[]", "'norm_horizons' must not be empty"),
    ("norm_multiples=[1, -2]", "'norm_multiples' must be > 0"),
    ("norm_multiples=fast", "'norm_multiples' must be a list"),
    ("seed=-1", "'seed' must be >= 0"),
    ("name=", "'name' must be"),
    ("dim=10", "unknown config key 'dim'"),
])
def test_training_study_rejects_bad_values(override, message):
    with pytest.raises(ConfigError) as err:
        load(None, ["study=training", override])
    assert message in str(err.value) and "\n" not in str(err.value)


def test_the_study_key_picks_the_dataclass(tmp_path):
    assert isinstance(load(CONFIGS / "lr_meta.toml"), LRMetaConfig)
    for name, cls in (("lr_meta_horizon.toml", HorizonConfig), ("lr_meta_training.toml", TrainingConfig),
                      ("lr_meta_horizon_smoke.toml", HorizonConfig), ("lr_meta_training_smoke.toml", TrainingConfig)):
        assert isinstance(load(CONFIGS / name), cls), name
    path = tmp_path / "c.toml"
    path.write_text('study = "horizon"\nhorizons = [10, 20]\n')
    assert load(path).horizons == (10, 20)
    with pytest.raises(ConfigError, match="unknown config key 'horizons'"):
        load(path, ["study=task"])
    path.write_text("study = 3\n")
    with pytest.raises(ConfigError, match="'study' must be one of"):
        load(path)
