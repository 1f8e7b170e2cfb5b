"""The measuring side: the platform is pinned, the backend recorded and checked, methods
timed together with the dispatch floor, and states held in memory counted by the guard."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from expkit.config import config_from_dict
from hvp_bench.config import FLOOR_METHOD, HVPConfig
from hvp_bench.measure import check_backend, measure_shape

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_init_worker_pins_the_platform_even_after_jax_was_imported():
    code = ("import jax\n"
            "from hvp_bench.measure import init_worker\n"
            "init_worker('cpu', 'highest')\n"
            "print(jax.config.jax_platforms, jax.config.jax_default_matmul_precision, jax.default_backend())")
    env = {k: v for k, v in os.environ.items() if k != "JAX_PLATFORMS"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["cpu", "highest", "cpu"]


@pytest.mark.slow
def test_only_the_jax_worker_preallocates_gpu_memory():
    from hvp_bench.sweep import _Sweep

    sweep = _Sweep(tiny(variants=["scan"]), "unused")
    try:
        assert sweep.workers["jax"].initargs[-1] is True and sweep.workers["torch"].initargs[-1] is False
    finally:
        sweep.close()
    code = ("import os\nfrom hvp_bench.measure import init_worker\n"
            "init_worker('cpu', 'highest', '', False)\nprint(os.environ['XLA_PYTHON_CLIENT_PREALLOCATE'])")
    env = {k: v for k, v in os.environ.items() if k != "XLA_PYTHON_CLIENT_PREALLOCATE"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.split() == ["false"], out.stderr


def test_a_backend_mismatch_is_an_error():
    check_backend("cpu", "cpu")
    check_backend("gpu", "cuda")
    check_backend("auto", "tpu")
    with pytest.raises(RuntimeError, match="device 'cpu' asked for, but JAX's backend is 'gpu'"):
        check_backend("cpu", "gpu")
    with pytest.raises(RuntimeError, match="device 'gpu' asked for"):
        check_backend("gpu", "cpu")


def tiny(**overrides):
    return config_from_dict(HVPConfig, {"depths": [3], "width": 3, "input_size": 2, "num_runs": 4, "warmup": 1,
                                        "device": "cpu", **overrides})


@pytest.mark.slow
def test_one_shape_is_timed_together_with_its_floor():
    todo = [("scan", m) for m in ("naive_hvp", "hvp_rev_rev", "gradient", FLOOR_METHOD)]
    rows = pd.DataFrame(measure_shape(tiny(), 3, 3, todo, budget_bytes=10**10))
    assert set(rows["status"]) == {"ok"} and len(rows) == 4 * 4
    assert set(rows["backend"]) == {"cpu"}
    # Every round holds each method once, at positions 0..3.
    for _, round_rows in rows.groupby("run_index"):
        assert sorted(round_rows["order"]) == [0, 1, 2, 3]
    naive = rows[rows["method"] == "naive_hvp"].iloc[0]
    assert naive["compile_s"] > 0 and naive["prepare_s"] > 0  # building H: compiled, then run untimed
    assert rows["finite"].all() and rows["nonzero"].all()


@pytest.mark.slow
def test_states_held_by_other_methods_count_against_the_budget():
    # naive_hvp keeps H (P^2 floats) alive while the others are timed; with a budget that
    # fits either dense method alone but not both, the second is skipped and says why.
    config = tiny(depths=[6], width=4, input_size=4)
    dense = [("scan", "naive_hvp"), ("scan", "hessian_then_hvp")]
    # What the guard compares with the budget: the larger of predicted and compiled bytes.
    alone = [pd.DataFrame(measure_shape(config, 6, 4, [pair], budget_bytes=10**10)).iloc[0] for pair in dense]
    needed = max(int(max(row["compiled_bytes"], row["predicted_bytes"])) for row in alone)
    both = pd.DataFrame(measure_shape(config, 6, 4, dense, budget_bytes=int(needed * 1.05)))
    status = both.groupby("method")["status"].first().to_dict()
    assert status == {"naive_hvp": "ok", "hessian_then_hvp": "skipped"}
    note = both[both["method"] == "hessian_then_hvp"]["note"].iloc[0]
    assert "GB of other methods' states held" in note


@pytest.mark.slow
def test_every_hvp_is_checked_against_single_products():
    todo = [("scan", m) for m in ("naive_hvp", "hvp_rev_rev", "hvp_fwd_rev", "gradient", FLOOR_METHOD)]
    todo += [("scan-fused-k3", m) for m in ("hvp_linearized_apply", "hvp_by_hand")]
    rows = pd.DataFrame(measure_shape(tiny(), 3, 3, todo, budget_bytes=10**10))
    point = rows.groupby(["variant", "method"]).first()
    assert set(rows["status"]) == {"ok"}
    assert point["max_rel_error"].drop([("scan", "gradient"), ("scan", FLOOR_METHOD)]).max() < 1e-5
    assert point.loc[[("scan", "gradient"), ("scan", FLOOR_METHOD)], "max_rel_error"].isna().all()
    assert point.loc[("scan", "hvp_fwd_rev"), "max_rel_error"] == 0  # its own reference
    # vmapped products (the dense Hessian, blocks) run the logistic form of the same GELU
    assert point["gelu"].to_dict() == {
        ("scan", "naive_hvp"): "logistic", ("scan", "hvp_rev_rev"): "tanh", ("scan", "hvp_fwd_rev"): "tanh",
        ("scan", "gradient"): "tanh", ("scan", FLOOR_METHOD): "tanh",
        ("scan-fused-k3", "hvp_linearized_apply"): "logistic", ("scan-fused-k3", "hvp_by_hand"): "logistic"}


@pytest.mark.slow
def test_a_block_runs_the_vmap_safe_form_and_is_right_on_the_deep_network():
    # XLA:CPU's vmapped tanh JVP (docs/xla_cpu_tanh_jvp.md) is 1e7 off at 250 layers; the
    # library runs the logistic form of the same GELU there (tests/secondorder/test_blocks.py
    # shows the literal form wrong).
    config = tiny(depths=[250], width=16, input_size=16, dtype="float64", init="fan_in", init_scale=1.55,
                  num_runs=1)
    rows = pd.DataFrame(measure_shape(config, 250, 16, [("scan-k2", "hvp_fwd_rev")], budget_bytes=10**10))
    row = rows.iloc[0]
    assert row["status"] == "ok" and row["gelu"] == "logistic"
    assert row["max_rel_error"] < 1e-12


@pytest.mark.slow
def test_the_dense_route_on_a_dead_network_is_exactly_zero():
    # The task's network in float64 is dead at 20 layers: its single HVP is exactly 0.
    dead = {"depths": [20], "width": 4, "input_size": 4, "dtype": "float64", "num_runs": 1}
    rows = pd.DataFrame(measure_shape(tiny(**dead), 20, 4, [("scan", "hessian_then_hvp")], budget_bytes=10**10))
    assert rows["status"].iloc[0] == "ok" and rows["max_rel_error"].iloc[0] == 0
