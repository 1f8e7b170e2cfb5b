"""Tiny configs of every runner: complete runs in seconds, shared by the runner tests."""

import json
import re


def with_keys(text: str, **keys) -> str:
    """`text` (a TOML config) with `keys` set: a key's line replaced, or the key appended.

    Values are written as JSON, which is TOML for numbers, strings, booleans and flat lists.
    """
    for name, value in keys.items():
        line = f"{name} = {json.dumps(value)}"
        text, found = re.subn(rf"^{name} = .*$", line, text, flags=re.M)
        text += "" if found else line + "\n"
    return text


HVP = """
name = "tiny"
depths = [1, 3]
width = 3
input_size = 2
num_runs = 3
device = "cpu"
methods = ["naive_hvp", "hvp_rev_rev", "gradient"]
"""
LR_META = """
name = "tiny"
dim = 20
horizon = 4
beta = 0.05
meta_steps = 60
log_every = 5
chunk_rows = 3
transfer_draws = 3
perturb_samples = 10
quad_dim = 12
quad_condition = 10.0
quad_meta_steps = 100
beta_sweep = [0.05]
"""
HORIZON = """
study = "horizon"
name = "tiny_horizon"
dim = 30
horizons = [10, 25]
knots = 3
knot_sweep = [1]
knot_sweep_horizon = 25
repeats = 2
warmup = 1
fit_min_horizon = 10
"""
TRAINING = """
study = "training"
name = "tiny_training"
features = 5
samples = 30
train_draws = 2
test_draws = 3
horizons = [8, 10]
knots = 2
meta_steps = 10
grid_points = 4
norm_horizons = [8]
norm_multiples = [1.0, 2.0, 4.0, 8.0]
"""
CURVATURE = """
name = "tiny"
study_depth = 1
trace_estimators = ["hutchinson"]
trace_budgets = [6, 12, 18]
trace_reps = 2
diag_estimators = ["hutchinson"]
diag_budgets = [6]
diag_reps = 2
lanczos_steps = 12
power_steps = 12
top_k = 3
float32_check = false
slq_probes = 2
slq_steps = 8
cost_depths = [1]
cost_routes = ["hvp", "lanczos"]
dense_max_params = 300
cost_runs = 2
"""
CURVATURE_TRAINED = """
study = "trained"
name = "tiny_trained"
train_images = 40
test_images = 20
hidden = [6]
steps = 10
checkpoints = [0, 10]
checkpoint_names = ["init", "trained"]
log_points = 3
sharpness_lanczos_steps = 6
matrices = ["ggn"]
lanczos_steps = 20
trace_estimators = ["hutchpp"]
trace_hvps = 12
trace_reps = 2
diag_estimators = ["hutchinson"]
diag_hvps = 6
diag_reps = 2
slq_probes = 2
slq_steps = 10
deflate = 2
"""
DENSITY = """
name = "tiny_density"
matrices = ["spiked_wishart", "pareto"]
spiked_dim = 30
pareto_dim = 24
steps = [4, 8]
probes = [1, 2]
seeds = 1
deflate = 2
deflate_lanczos_steps = 8
kpm_bound_steps = 6
kpm_grid = 256
"""
XTRACE_BIAS = """
name = "tiny_xtrace_bias"
size = 40
repetitions = 12
samples = 5
chunk = 4
seed = 0
"""
BLOCKS = """
name = "tiny_blocks"
depths = [2, 3, 4]
runs = 2
slq_probes = 2
slq_steps = 3
hutchpp_hvps = 6
"""
HVP_MODELS = """
name = "tiny_hvp_models"
models = ["mlp"]
batches = [2, 3]
rounds = 2
repeats = 2
block = 2
methods = ["gradient", "hvp_fwd_rev", "hvp_rev_rev", "hvp_block"]
mlp_width = 4
mlp_depth = 2
"""
XLA_FAULT = """
name = "tiny_xla_fault"
depths = [4, 6, 9]
dense_depths = [3]
"""
HVP_PROGRAMS = """
name = "tiny_hvp_programs"
variants = ["scan", "scan-fused"]
methods = ["gradient", "hvp_fwd_rev"]
depths = [2, 3]
"""
