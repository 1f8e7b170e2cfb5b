import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from hvp_bench.config import ConfigError, HVPConfig, config_to_dict, load_config


def write(tmp_path, text):
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def test_homework_config_is_the_task():
    config = load_config(HVPConfig, "configs/hvp_homework.toml")
    assert config.depths == tuple(np.linspace(50, 1000, 15, dtype=int))
    assert config.num_runs == 10
    assert config.methods[:3] == ("hessian_then_hvp", "naive_hvp", "hvp_rev_rev")
    assert config.variants[0] == "scan"  # the task's own formulation first and config.width == 4 and config.matmul_precision == "highest"


HVP_CONFIGS = sorted(p.stem for p in Path("configs").glob("*.toml")
                     if p.stem.startswith(("hvp_", "bench_")) and not p.stem.startswith("hvp_models"))


@pytest.mark.parametrize("name", HVP_CONFIGS)
def test_shipped_configs_load(name, monkeypatch):
    # PyTorch is an optional extra that CI does not install: pretend it is there, so the
    # torch configs' other keys are validated too (without it, the one-line error is
    # tested in tests/hvp_bench/test_torch_peer.py).
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: object() if n == "torch" else real(n, *a))
    assert load_config(HVPConfig, f"configs/{name}.toml").name == name


def test_the_reference_script_names_only_shipped_configs():
    script = Path("scripts/reference_runs_cpu.sh").read_text()
    named = set(re.findall(r"^(?:run|bench) (\w+) ", script, re.M))
    assert named and named <= set(HVP_CONFIGS), named - set(HVP_CONFIGS)


def test_overrides_parse_toml_values_and_bare_strings(tmp_path):
    config = load_config(
        HVPConfig, write(tmp_path, "width = 4\n"),
        ["num_runs=3", "depths=[1, 2]", "device=gpu", "init_scale=0.5", "methods=['gradient']"],
    )
    assert (config.num_runs, config.depths, config.device, config.init_scale) == (3, (1, 2), "gpu", 0.5)
    assert config.methods == ("gradient",)


def test_int_is_accepted_for_float_and_stored_as_float():
    config = load_config(HVPConfig, None, ["init_scale=2"])
    assert config.init_scale == 2.0 and isinstance(config.init_scale, float)


@pytest.mark.parametrize(
    "text, match",
    [
        ("widht = 4", "unknown config key 'widht'"),
        ("width = '4'", "'width' must be an integer"),
        ("width = 4.0", "'width' must be an integer"),
        ("num_runs = true", "'num_runs' must be an integer"),
        ("width = 0", "'width' must be >= 1"),
        ("num_runs = 0", "'num_runs' must be >= 1"),
        ("depths = []", "'depths' must not be empty"),
        ("depths = [10, 0]", "'depths' must be >= 1"),
        ("depths = [10, 10]", "lists a depth twice"),
        ("depths = 5", "'depths' must be a list"),
        ("depths = { start = 1, stop = 5 }", "start, stop, num"),
        ("dtype = 'float16'", "'dtype' must be one of"),
        ("variants = ['loop']", "'variants': variant 'loop' must start with one of"),
        ("variants = []", "'variants' must not be empty"),
        ("variants = ['scan-u8-fused', 'scan-fused-u8']", "'variants' lists a variant twice"),
        ("variants = ['scan-fast']", "unknown token 'fast'"),
        ("xla_flags = 3", "'xla_flags' must be a string"),
        ("matmul_precision = 'tf32'", "'matmul_precision' must be one of"),
        ("order = 'random'", "'order' must be one of"),
        ("point_timeout_s = -1", "'point_timeout_s' must be >= 0"),
        ("compile_budget_s = -1", "'compile_budget_s' must be >= 0"),
        ("init = 'xavier'", "'init' must be one of"),
        ("methods = ['hvp_magic']", "unknown method 'hvp_magic'"),
        ("init_scale = -1.0", "'init_scale' must be > 0"),
        ("memory_budget_gb = nan", "'memory_budget_gb' must be finite"),
        ("width = ", "not valid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match) as info:
        load_config(HVPConfig, write(tmp_path, text))
    assert "\n" not in str(info.value)


def test_missing_file_and_bad_override(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(HVPConfig, tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="--set expects key=value"):
        load_config(HVPConfig, None, ["num_runs"])


def test_config_is_frozen_and_serialises():
    config = HVPConfig()
    with pytest.raises(AttributeError):
        config.width = 8
    assert config_to_dict(config)["depths"] == list(config.depths)


def test_variant_names_are_stored_in_one_spelling():
    assert HVPConfig(variants=("scan-u8-fused", "unrolled")).variants == ("scan-fused-u8", "unrolled")
