"""The committed compiled-program table (results/hvp_programs_cpu) recomputed from the compiled programs."""

import json
from pathlib import Path

import jax
import pandas as pd
import pytest

from expkit.config import config_from_dict
from hvp_bench.headlines import PER_LAYER_METHODS
from hvp_bench.programs import ProgramsConfig, per_layer, program_row

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "results" / "hvp_programs_cpu"


def committed():
    meta = json.loads((RUN / "meta.json").read_text())
    return meta, pd.read_csv(RUN / "programs.csv"), pd.read_csv(RUN / "per_layer.csv")


@pytest.mark.skipif(not RUN.is_dir(), reason="no committed program table")
def test_the_table_covers_every_formulation_and_method_of_readme_s_per_layer_table():
    meta, _, table = committed()
    per_layer_run = json.loads((ROOT / "results" / "bench_per_layer_cpu" / "meta.json").read_text())["config"]
    assert set(per_layer_run["variants"]) <= set(table["variant"])
    assert set(PER_LAYER_METHODS) <= set(table["method"])
    assert meta["config"]["width"] == per_layer_run["width"] and meta["config"]["dtype"] == per_layer_run["dtype"]


@pytest.mark.skipif(not RUN.is_dir(), reason="no committed program table")
@pytest.mark.parametrize("which", ["the homework's gradient and forward-over-reverse",
                                   pytest.param("every row", marks=pytest.mark.slow)])
def test_the_rows_are_what_the_compiled_programs_say_now(which):
    meta, rows, table = committed()
    if which != "every row":  # the quick tier: two programs; `pytest --slow` compiles every one
        rows = rows[(rows["variant"] == "scan") & rows["method"].isin(["gradient", "hvp_fwd_rev"])].reset_index(drop=True)
    config = config_from_dict(ProgramsConfig, meta["config"])
    with jax.default_matmul_precision("highest"):
        fresh = pd.DataFrame([program_row(config, r.variant, r.method, r.depth) for r in rows.itertuples()])
    rows = rows.drop(columns="unit").astype(fresh.dtypes.to_dict())
    if meta["environment"]["jax"] == jax.__version__:  # the version that made it: every figure exactly
        pd.testing.assert_frame_equal(fresh, rows, check_exact=True)
    else:  # XLA's fusion and cost analysis move with the version; the arithmetic per layer barely does
        ratio = per_layer(fresh)["flops_per_layer_over_gradient"] / per_layer(rows)["flops_per_layer_over_gradient"]
        assert ratio.between(0.8, 1.25).all(), (f"made with jax {meta['environment']['jax']}, this is "
                                                f"{jax.__version__}: re-run hvp-programs", ratio.tolist())
    if which == "every row":
        pd.testing.assert_frame_equal(per_layer(rows), table, check_exact=False, rtol=1e-12)
