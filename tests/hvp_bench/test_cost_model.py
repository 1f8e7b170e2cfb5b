"""The analytic cost model: exponents are the derivations, and agree with the counted costs."""

import numpy as np
import pytest

from hvp_bench import cost_model
from hvp_bench.config import METHOD_NAMES

LINEAR = [m for m in METHOD_NAMES if m not in ("hessian_then_hvp", "naive_hvp")]


def test_predicted_exponents_are_the_derivations():
    for regime in ("arithmetic", "bandwidth"):
        assert cost_model.predicted_depth_exponent("hessian_then_hvp", "time", regime) == 2
        assert cost_model.predicted_depth_exponent("naive_hvp", "time", regime) == 2
        for m in LINEAR:
            assert cost_model.predicted_depth_exponent(m, "time", regime) == 1
    assert cost_model.predicted_depth_exponent("hessian_then_hvp", "memory") == 2
    assert cost_model.predicted_depth_exponent("naive_hvp", "memory") == 2
    assert cost_model.predicted_depth_exponent("hvp_rev_rev", "memory") == 1
    assert cost_model.predicted_depth_exponent("gradient", "memory") == 1
    # Overhead-bound: n sequential steps, whatever the width; H @ v is one op.
    assert cost_model.predicted_depth_exponent("hvp_rev_rev", "time", "overhead") == 1
    assert cost_model.predicted_depth_exponent("hessian_then_hvp", "time", "overhead") == 1
    assert cost_model.predicted_depth_exponent("naive_hvp", "time", "overhead") == 0
    assert cost_model.predicted_width_exponent("hvp_fwd_rev", "time") == 2
    assert cost_model.predicted_width_exponent("hessian_then_hvp", "time") == 4
    assert cost_model.predicted_width_exponent("gradient", "time", "overhead") == 0
    with pytest.raises(ValueError, match="unknown method"):
        cost_model.predicted_depth_exponent("hvp_magic")
    with pytest.raises(ValueError, match="quantity"):
        cost_model.predicted_depth_exponent("gradient", "energy")


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_exponent_table_agrees_with_the_cost_counts(method):
    """The stated exponents are the large-size log-derivatives of the counted costs."""
    term = {"overhead": "steps", "arithmetic": "flops", "bandwidth": "bytes"}

    def slope(key, n1, n2, w1, w2):
        a = cost_model.predicted_terms(method, n1, w1)[key]
        b = cost_model.predicted_terms(method, n2, w2)[key]
        return np.log(b / a) / np.log((n2 / n1) if n2 != n1 else (w2 / w1))

    for regime, key in term.items():
        if key == "steps" and method == "naive_hvp":
            assert cost_model.predicted_terms(method, 1e4, 4)["steps"] == cost_model.predicted_terms(method, 2e4, 4)["steps"]
            continue
        assert slope(key, 1e4, 2e4, 4, 4) == pytest.approx(cost_model.predicted_depth_exponent(method, "time", regime), abs=0.02)
        if key != "steps":
            assert slope(key, 100, 100, 1e3, 2e3) == pytest.approx(cost_model.predicted_width_exponent(method, "time", regime), abs=0.02)
    assert slope("memory", 1e4, 2e4, 4, 4) == pytest.approx(cost_model.predicted_depth_exponent(method, "memory"), abs=0.02)
    assert slope("memory", 100, 100, 1e3, 2e3) == pytest.approx(cost_model.predicted_width_exponent(method, "memory"), abs=0.02)


def test_roofline_regimes():
    gpu = cost_model.MACHINES["gpu"]
    # Width 4, batch 1 on a GPU: per-layer methods are launch-bound, ~2 steps x 10 us a layer.
    p = cost_model.predicted_time("gradient", 1000, 4, 1, gpu)
    assert p["regime"] == "overhead"
    assert p["time_s"] == pytest.approx(2000 * gpu.step_s, rel=0.01)
    assert cost_model.predicted_time("gradient", 100, 4096, 256, gpu)["regime"] == "arithmetic"
    assert cost_model.predicted_time("naive_hvp", 1000, 4, 1, gpu)["regime"] == "bandwidth"
    # Any HVP is 3 gradients of matmuls, a stored linearization 2.
    assert cost_model.GRADIENT_MULTIPLE["hvp_fwd_rev"]["arithmetic"] == 3
    assert cost_model.GRADIENT_MULTIPLE["hvp_linearized_apply"]["arithmetic"] == 2
    assert cost_model.GRADIENT_MULTIPLE["hvp_rev_rev"]["overhead"] == 2
