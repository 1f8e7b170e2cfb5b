"""Which single product a point's values are checked against, and what counts as wrong."""

import dataclasses

import jax
import numpy as np
import pytest

from hvp_bench.values import check_values, function_key, model_key
from secondorder.products import AGREEMENT_RTOL
from hvp_bench.variants import parse_variant


def test_every_formulation_of_the_tanh_gelu_is_one_function_and_exact_is_another():
    tanh, fused = parse_variant("scan"), parse_variant("scan-fused-jvp")
    logistic = dataclasses.replace(tanh, activation="logistic")
    assert function_key(tanh) == function_key(fused) == function_key(logistic) == function_key(parse_variant("torch"))
    assert function_key(parse_variant("scan-exact")) != function_key(tanh)
    assert model_key(logistic) != model_key(tanh)  # two programs, one function


def test_the_dense_route_is_checked_against_the_timed_single_product():
    # The homework's point: reverse-over-reverse (tanh, single) is the reference of the dense
    # route (logistic, vmapped); no forward-over-reverse is compiled (models is empty).
    tanh = parse_variant("scan")
    runs_as = {("scan", "hvp_rev_rev"): tanh, ("scan", "gradient"): tanh,
               ("scan", "naive_hvp"): dataclasses.replace(tanh, activation="logistic")}
    single = np.array([1.0, -2.0, 4.0])
    for scale, wrong in ((1 + 1e-5, False), (1 + 1e-2, True)):
        outputs = {("scan", "hvp_rev_rev"): single, ("scan", "gradient"): np.ones(3),
                   ("scan", "naive_hvp"): single * scale}
        checks = check_values("float32", {}, runs_as, outputs, None, None, {1: jax.numpy.ones((1, 3))})
        error, note = checks[("scan", "naive_hvp")]
        assert error == pytest.approx(abs(scale - 1))
        assert (error > AGREEMENT_RTOL["float32"]) is wrong and bool(note) is wrong
        assert checks[("scan", "hvp_rev_rev")] == (0.0, "")  # the reference itself
        assert ("scan", "gradient") not in checks
