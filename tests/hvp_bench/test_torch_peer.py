"""The PyTorch peer: the same network and loss as the JAX model, every method against a
float64 dense Hessian of the JAX model and against central differences, the sweep with
PyTorch's variants end to end, and the one-line error when torch is not installed.

Tests that run torch skip where it is not installed (CI installs ".[test]" only)."""

import importlib.util
import json

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from expkit.cli import run_cli
from expkit.config import ConfigError, config_from_dict
from hvp_bench.cli import main_run
from hvp_bench.config import FLOOR_METHOD, HVPConfig
from secondorder.products import calculate_hessian
from secondorder.model import MLP
from hvp_bench.variants import parse_variant

# torch's forward-mode AD loads its decompositions through torch.jit.script, which warns
# that it is deprecated (torch 2.13): torch's own business, not this suite's.
# torch.compile with its caches off (as the peer compiles) says so in a UserWarning.
pytestmark = [pytest.mark.filterwarnings(r"ignore:`torch\.jit\.script\w*` is deprecated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:dynamo_pgo force disabled:UserWarning")]
SIZES = [3, 4, 4, 4, 2]  # three hidden layers of width 4: P = 12 + 16 + 16 + 8 = 52
HVPS = ("hvp_rev_rev", "hvp_fwd_rev", "hvp_rev_fwd")


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def jax_model(dtype=jnp.float64) -> MLP:
    # fan-in init at gain 1.5 keeps every GELU away from its flat tails, so H is not ~0.
    return MLP(jax.random.PRNGKey(3), SIZES, init="fan_in", init_scale=1.5, dtype=dtype, batch=2, form="scan")


def peer(model: MLP):
    from hvp_bench.torch_peer import TorchMLP

    return TorchMLP(SIZES, model.get_params(), batch=model.batch)


def run(model_t, variant: str, method: str, v) -> np.ndarray:
    from hvp_bench.torch_peer import timed_call

    return timed_call(model_t, parse_variant(variant), method, np.asarray(v))().numpy()


def test_same_weights_give_the_same_loss_in_both_frameworks(torch, x64):
    model = jax_model()
    model_t = peer(model)
    assert model_t.params.dtype == torch.float64 and model_t.inputs.shape == (2, 3)
    assert float(model_t.loss(model_t.params, model_t.inputs)) == pytest.approx(float(model.loss(model.get_params())),
                                                                               rel=1e-13)
    # float32 (the benchmark's dtype): the same up to rounding.
    model32 = jax_model(jnp.float32)
    model_t32 = peer(model32)
    assert model_t32.params.dtype == torch.float32
    np.testing.assert_allclose(float(model_t32.loss(model_t32.params, model_t32.inputs)),
                               float(model32.loss(model32.get_params())), rtol=1e-5)


@pytest.mark.parametrize("variant", ["torch", "torch-func"])
def test_every_method_against_the_dense_hessian_and_central_differences(torch, x64, variant):
    model = jax_model()
    x = model.get_params()
    v = jax.random.normal(jax.random.PRNGKey(1), x.shape, jnp.float64)
    model_t = peer(model)
    H = np.asarray(calculate_hessian(model, x))
    reference = H @ np.asarray(v)
    assert np.abs(reference).max() > 1e-2  # the curvature is alive
    # Central differences of JAX's gradient: a witness that shares no code with either.
    eps = 1e-5
    grad = jax.grad(model.loss)
    differences = np.asarray(grad(x + eps * v) - grad(x - eps * v)) / (2 * eps)
    for method in HVPS:
        hv = run(model_t, variant, method, v)
        np.testing.assert_allclose(hv, reference, rtol=1e-10, atol=1e-12, err_msg=method)
        np.testing.assert_allclose(hv, differences, rtol=1e-6, atol=1e-8, err_msg=method)
    g = run(model_t, variant, "gradient", v)
    np.testing.assert_allclose(g, np.asarray(grad(x)), rtol=1e-12, atol=1e-14)
    along_v = (float(model.loss(x + eps * v)) - float(model.loss(x - eps * v))) / (2 * eps)
    assert g @ np.asarray(v) == pytest.approx(along_v, rel=1e-7)
    assert run(model_t, variant, FLOOR_METHOD, v).shape == (1,)


def test_torch_compile_computes_the_same_hvp(torch, x64):
    # One method, one hidden layer: each torch.compile takes seconds even at this size.
    model = MLP(jax.random.PRNGKey(3), [3, 4, 2], init="fan_in", init_scale=1.5, dtype=jnp.float64, batch=2)
    x = model.get_params()
    v = jax.random.normal(jax.random.PRNGKey(1), x.shape, jnp.float64)
    from hvp_bench.torch_peer import TorchMLP

    hv = run(TorchMLP([3, 4, 2], x, batch=2), "torch-compile", "hvp_fwd_rev", v)
    np.testing.assert_allclose(hv, np.asarray(calculate_hessian(model, x)) @ np.asarray(v), rtol=1e-10, atol=1e-12)


def test_methods_without_a_pytorch_equivalent_say_so(torch):
    from hvp_bench.torch_peer import NoEquivalent, timed_call

    for method in ("naive_hvp", "hessian_then_hvp", "hvp_linearize", "hvp_by_hand"):
        with pytest.raises(NoEquivalent, match=f"PyTorch has no equivalent of {method}"):
            timed_call(peer(jax_model(jnp.float32)), parse_variant("torch"), method, np.zeros(52, np.float32))


def test_a_sweep_with_pytorch_variants_end_to_end(torch, tmp_path):
    config = HVPConfig(name="peers", depths=(1, 3), width=3, input_size=2, num_runs=2, warmup=1, device="cpu",
                       variants=("scan", "torch"), methods=("hvp_rev_rev", "naive_hvp"))
    from hvp_bench.sweep import run_sweep

    out = run_sweep(config, tmp_path / "run", progress=False)
    summary = pd.read_csv(out / "summary.csv").set_index(["depth", "variant", "method"])
    assert len(summary) == 2 * 2 * 3
    for depth in (1, 3):
        status = summary.loc[(depth, "torch")]["status"].to_dict()
        assert status == {"dispatch_floor": "ok", "hvp_rev_rev": "ok", "naive_hvp": "skipped"}
        assert "PyTorch has no equivalent of naive_hvp" in summary.loc[(depth, "torch", "naive_hvp"), "note"]
    assert set(summary.loc[(3, "scan")]["status"]) == {"ok"}
    runs = pd.read_csv(out / "runs.csv")
    timed = runs[runs["status"] == "ok"]
    assert (timed["time_s"] > 0).all() and timed["finite"].all() and timed["nonzero"].all()
    # Each framework's points were interleaved among themselves, in a process of their own.
    first_round = timed[(timed["depth"] == 3) & (timed["run_index"] == 0)]
    for variant, calls in (("scan", 3), ("torch", 2)):  # scan times naive_hvp too
        assert sorted(first_round[first_round["variant"] == variant]["order"]) == list(range(calls))
    environment = json.loads((out / "meta.json").read_text())["environment"]
    assert environment["torch"] == torch.__version__ and environment["torch_build"] == "cpu"
    assert environment["torch_float32_matmul_precision"] == torch.get_float32_matmul_precision()
    assert environment["torch_default_dtype"] == "torch.float32"


def test_a_torch_compile_failure_is_recorded_and_the_others_go_on(torch, monkeypatch):
    from hvp_bench import torch_peer
    from hvp_bench.measure import measure_shape

    real = torch_peer.timed_call

    def failing(model, variant, method, v):
        if variant.torch_mode == "compile":
            raise RuntimeError("Inductor cannot\nsecond line")
        return real(model, variant, method, v)

    monkeypatch.setattr(torch_peer, "timed_call", failing)
    config = config_from_dict(HVPConfig, {"depths": [2], "width": 3, "input_size": 2, "num_runs": 2,
                                          "device": "cpu", "variants": ["torch", "torch-compile"]})
    rows = pd.DataFrame(measure_shape(config, 2, 3, [("torch", "gradient"), ("torch-compile", "gradient")], 10**10))
    status = rows.groupby("variant")["status"].first().to_dict()
    assert status == {"torch": "ok", "torch-compile": "failed"}
    assert rows[rows["variant"] == "torch-compile"]["note"].iloc[0] == "RuntimeError: Inductor cannot"


def without_torch(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))


def test_a_pytorch_variant_without_torch_is_a_config_error(monkeypatch):
    without_torch(monkeypatch)
    with pytest.raises(ConfigError, match=r"torch-compile need\(s\) PyTorch, which is not installed: "
                                          r'pip install -e "\.\[peers\]"'):
        config_from_dict(HVPConfig, {"variants": ["scan", "torch-compile"]})
    config_from_dict(HVPConfig, {"variants": ["scan"]})  # JAX alone needs no torch


def test_without_torch_the_command_says_so_in_one_line_and_exits_2(monkeypatch, tmp_path, capsys):
    without_torch(monkeypatch)
    with pytest.raises(SystemExit) as info:
        run_cli(main_run, ["--config", "configs/hvp_smoke.toml", "--out", str(tmp_path / "run"),
                           "--set", "variants=['scan', 'torch']"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and '.[peers]' in err
    assert not (tmp_path / "run").exists()


def planted_runs() -> pd.DataFrame:
    """Times = fixed + per-layer cost x depth, exactly (no noise), for two frameworks.

    JAX: gradient 1 us/layer (scan) or 2 (scan-fused); HVPs 3 (fwd_rev) and 5 (rev_rev).
    PyTorch: gradient 20 us/layer; HVPs 90 (fwd_rev) and 60 (rev_rev); torch-compile's HVP
    only at depth 50 (it compiled too slowly deeper), where it is the fastest PyTorch one.
    """
    per_layer = {("scan", "gradient"): 1, ("scan-fused", "gradient"): 2, ("scan", "hvp_fwd_rev"): 3,
                 ("scan", "hvp_rev_rev"): 5, ("torch", "gradient"): 20, ("torch", "hvp_fwd_rev"): 90,
                 ("torch", "hvp_rev_rev"): 60}
    rows = [{"depth": d, "width": 4, "variant": v, "method": m, "run_index": i, "status": "ok",
             "time_s": 1e-4 + c * 1e-6 * d} for (v, m), c in per_layer.items() for d in (50, 525, 1000)
            for i in range(3)]
    rows += [{"depth": 50, "width": 4, "variant": "torch-compile", "method": "hvp_rev_rev", "run_index": i,
              "status": "ok", "time_s": 1e-4} for i in range(3)]
    return pd.DataFrame(rows)


def test_peer_tables_pick_each_frameworks_best_and_divide():
    from hvp_bench.peer_tables import by_depth, has_peers, per_layer

    runs = planted_runs()
    assert has_peers(runs) and not has_peers(runs[runs["variant"] == "scan"])
    one_depth = runs[~runs["variant"].str.startswith("torch") | (runs["depth"] == 50)]
    assert has_peers(one_depth) and per_layer(one_depth, n_boot=10).empty  # a run cut off after one depth
    assert set(by_depth(one_depth)["depth"]) == {50}
    failed = runs.assign(status=np.where(runs["variant"].str.startswith("torch"), "failed", "ok"))
    assert not has_peers(failed)  # every PyTorch point failed (out of memory): no table to draw
    layers = per_layer(runs, n_boot=50).set_index("method")
    assert list(layers.index) == ["gradient", "hvp_fwd_rev", "hvp_rev_rev", "best_hvp"]
    np.testing.assert_allclose(layers["ratio"], [20, 30, 12, 20], rtol=1e-9)
    np.testing.assert_allclose(layers["ratio_lo"], layers["ratio"], rtol=1e-9)  # no noise: a point CI
    assert layers.loc["gradient", "jax_variant"] == "scan"
    assert tuple(layers.loc["best_hvp", ["jax_method", "torch_method"]]) == ("hvp_fwd_rev", "hvp_rev_rev")
    np.testing.assert_allclose(layers.loc["best_hvp", ["jax_s", "torch_s"]].astype(float), [3e-6, 60e-6])
    depths = by_depth(runs).set_index(["method", "depth"])
    # At 50 layers PyTorch's best rev-over-rev is torch-compile's; deeper, eager's.
    assert depths.loc[("hvp_rev_rev", 50), "torch_variant"] == "torch-compile"
    assert depths.loc[("hvp_rev_rev", 50), "ratio"] == pytest.approx(1e-4 / (1e-4 + 5e-6 * 50))
    assert depths.loc[("hvp_rev_rev", 1000), "torch_variant"] == "torch"
    assert depths.loc[("hvp_rev_rev", 1000), "ratio"] == pytest.approx((1e-4 + 60e-3) / (1e-4 + 5e-3))


def test_peer_tables_compare_like_for_like_depths_and_choices():
    from hvp_bench.peer_tables import PLAIN, per_layer

    runs = planted_runs()
    # torch.compile's gradient, 10x cheaper a layer than eager's, compiled at 50 and 525 only.
    runs = pd.concat([runs, pd.DataFrame([
        {"depth": d, "width": 4, "variant": "torch-compile", "method": "gradient", "run_index": i, "status": "ok",
         "time_s": 1e-4 + 2e-6 * d} for d in (50, 525) for i in range(3)])], ignore_index=True)
    layers = per_layer(runs, n_boot=20).set_index("method")
    assert layers.loc["gradient", "torch_variant"] == "torch" and layers.loc["gradient", "depths"] == 3
    # PyTorch cut off after 525 layers, JAX's scan kinked at 1000: both sides fitted over 50 and 525.
    cut = runs[~(runs["variant"].str.startswith("torch") & (runs["depth"] == 1000))].copy()
    cut.loc[(cut["variant"] == "scan") & (cut["depth"] == 1000), "time_s"] *= 10
    layers = per_layer(cut, n_boot=20).set_index("method")
    assert layers.loc["gradient", "depths"] == 2
    assert layers.loc["gradient", "torch_variant"] == "torch-compile"  # timed at both common depths now
    np.testing.assert_allclose(layers.loc["hvp_fwd_rev", ["jax_s", "torch_s", "ratio"]].astype(float),
                               [3e-6, 90e-6, 30], rtol=1e-9)
    # The named pair: JAX's scan against eager PyTorch, whatever else is faster.
    fused = runs[(runs["variant"] == "scan") & (runs["method"] == "gradient")].assign(
        variant="scan-fused", time_s=lambda f: 1e-4 + 0.5e-6 * f["depth"])
    plain = per_layer(pd.concat([runs, fused], ignore_index=True), n_boot=20, variants=PLAIN).set_index("method")
    assert tuple(plain.loc["gradient", ["jax_variant", "torch_variant"]]) == PLAIN
    np.testing.assert_allclose(plain.loc["gradient", "ratio"], 20, rtol=1e-9)
