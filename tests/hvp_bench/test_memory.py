"""The memory guard's prediction against XLA's compiled memory analysis, and the budget."""

import jax
import pytest

from hvp_bench import memory
from hvp_bench.config import FLOOR_METHOD, METHOD_NAMES
from secondorder.methods import get_method
from secondorder.model import MLP
from secondorder.sizes import layer_sizes_for
from secondorder.timing import compile_method, compile_prepare, memory_of
from hvp_bench.variants import parse_variant


def compiled_bytes(name: str, depth: int, width: int, batch: int = 1, block: int = 0,
                   variant: str = "scan") -> tuple[int, int]:
    """(XLA's compiled total, the prediction) for one method, the way the sweep measures it."""
    model = MLP(jax.random.PRNGKey(0), layer_sizes_for(depth, width, 4, 1), batch=batch)
    model = model.twin(**parse_variant(variant).model_kwargs())
    x, inputs = model.get_params(), model.inputs()
    method = get_method(name, block)
    total, state = 0, None
    if method.state is not None:
        total = memory_of(compile_prepare(method, model.loss, x, inputs))["total_bytes"]
        state = jax.eval_shape(lambda p: method.prepare(model.loss, p), x)
    compiled, _ = compile_method(method, model.loss, x, x, inputs, state)
    total = max(total, memory_of(compiled)["total_bytes"])
    return total, memory.predicted_bytes(name, x.size, depth, width, batch, 4, block)


# The smoke config's depths, and the homework's first, middle and last (width 4, batch 1).
@pytest.mark.slow
@pytest.mark.parametrize("depth", [3, 8, 50, 1000])
@pytest.mark.parametrize("name", ["hessian_then_hvp", "naive_hvp"])
def test_dense_prediction_within_25_percent_at_smoke_and_homework_sizes(depth, name):
    compiled, predicted = compiled_bytes(name, depth, 4)
    # The dense routes run the GELU's logistic form (the library's choice where it vmaps),
    # which needs a little less than the model predicts at the tiniest size: 29% over at 3
    # layers, on the safe side of the guard.
    assert 0.75 <= predicted / compiled <= (1.3 if depth <= 3 else 1.25), (predicted, compiled)


@pytest.mark.slow
@pytest.mark.parametrize("depth, width, batch, block", [(20, 16, 8, 0), (10, 32, 4, 0), (20, 16, 4, 128)])
def test_dense_prediction_across_widths_batches_and_blocks(depth, width, batch, block):
    for name in ("hessian_then_hvp", "naive_hvp"):
        compiled, predicted = compiled_bytes(name, depth, width, batch, block)
        assert 0.75 <= predicted / compiled <= 1.25, (name, predicted, compiled)


@pytest.mark.slow
@pytest.mark.parametrize("depth, width, batch", [(8, 4, 1), (1000, 4, 1), (20, 128, 64)])
def test_every_other_method_within_25_percent(depth, width, batch):
    for name in [m for m in (*METHOD_NAMES, FLOOR_METHOD) if m not in ("hessian_then_hvp", "naive_hvp")]:
        compiled, predicted = compiled_bytes(name, depth, width, batch)
        assert 0.75 <= predicted / compiled <= 1.25, (name, predicted, compiled)


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["scan-fused", "scan-fused-jvp-remat"])
def test_other_formulations_are_predicted_within_a_factor_1_6(variant):
    # The model is fitted to the homework's formulation; the fused ones need less (remat) or
    # more (fused) than it predicts, which is why the guard checks the compiled figure too.
    for name in METHOD_NAMES:
        compiled, predicted = compiled_bytes(name, 50, 4, variant=variant)
        assert 0.6 <= predicted / compiled <= 1.6, (name, predicted, compiled)


def test_over_budget_names_both_sizes():
    assert memory.over_budget(10, 10) is None
    assert memory.over_budget(3_000_000_000, 1_000_000_000) == "needs 3.00 GB > budget 1.00 GB"
