"""What each method's compiled program costs per layer, without timing it: kernels, flops, bytes.

    hvp-programs --config configs/hvp_programs.toml --out runs/hvp_programs

Timings on a shared 2-core machine drift between runs; the compiled program does not.
For every (formulation, method) of README's per-layer table, the timed call is compiled
at two depths (the same network and vector the timing study uses) and read with
secondorder.compiled:

- kernels_per_step: the operations that do work (fusions, library calls, copies) in one
  step of the program's loops, summed over its loops: what each layer launches;
- loops: how many loops run over the layers (a composition may add its own);
- flops_per_layer, bytes_per_layer: the growth of the whole call's flops and bytes
  accessed per extra layer, every loop step counted (secondorder.compiled.trip_cost);
- *_over_gradient: each of them over the same formulation's gradient.

Exact for a pinned jax version (XLA's cost analysis and its fusion decisions change with
it). A study of the one driver (expkit.study): one unit per (formulation, method).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from expkit.config import Config, ConfigError, key, load_config, require
from expkit.results import write_csv_atomic
from expkit.study import Unit, study_cli

COLUMNS = ["variant", "method", "depth", "params", "loops", "trip_counts", "kernels_per_step", "entry_kernels",
           "flops", "bytes_accessed"]
PER_LAYER = ["kernels_per_step", "flops_per_layer", "bytes_per_layer"]


@dataclasses.dataclass(frozen=True)
class ProgramsConfig(Config):
    name: str = key("hvp_programs", name=True)
    variants: tuple[str, ...] = key(("scan", "scan-fused-jvp-remat"), nonempty=True, distinct=True)
    methods: tuple[str, ...] = key(("gradient", "hvp_rev_rev", "hvp_fwd_rev", "hvp_rev_fwd", "hvp_linearized_apply",
                                    "hvp_by_hand"), nonempty=True, distinct=True)
    depths: tuple[int, ...] = key((50, 100), ge=2, distinct=True)  # two: the per-layer growth between them
    width: int = key(4, ge=1)
    input_size: int = key(4, ge=1)
    output_size: int = key(1, ge=1)
    batch: int = key(1, ge=1)
    dtype: str = "float32"
    seed: int = key(0, ge=0)

    def check(self) -> None:
        from hvp_bench.variants import parse_variant
        from secondorder.methods import METHODS

        require(len(self.depths) == 2, f"'depths' must name two depths, got {list(self.depths)}")
        require("gradient" in self.methods, "'methods' must include 'gradient': every ratio is over it")
        for method in self.methods:
            require(method in METHODS, f"unknown method {method!r}; known: {', '.join(METHODS)}")
        for variant in self.variants:
            try:
                parse_variant(variant)
            except ValueError as e:
                raise ConfigError(str(e)) from None


def program_row(config: ProgramsConfig, variant: str, method: str, depth: int) -> dict:
    """One COLUMNS row: the compiled timed call of `method` in `variant` at `depth`."""
    import jax

    from hvp_bench.variants import parse_variant
    from secondorder.compiled import kernel_count, loop_steps, trip_cost
    from secondorder.methods import get_method
    from secondorder.model import MLP
    from secondorder.sizes import layer_sizes_for
    from secondorder.timing import prepare_call

    sizes = layer_sizes_for(depth, config.width, config.input_size, config.output_size)
    model = MLP(jax.random.PRNGKey(config.seed), sizes, dtype=config.dtype, batch=config.batch)
    model = model.twin(**parse_variant(variant).model_kwargs())
    x = model.get_params()
    v = jax.random.normal(jax.random.PRNGKey(config.seed + 1), x.shape, x.dtype)  # as the timing study draws it
    compiled = prepare_call(get_method(method), model.loss, x, v, inputs=model.inputs(), warmup=0).fn
    steps, whole = loop_steps(compiled), trip_cost(compiled)
    return {"variant": variant, "method": method, "depth": depth, "params": int(x.size), "loops": len(steps),
            "trip_counts": " ".join(str(int(s["trip_count"])) for s in steps),
            "kernels_per_step": sum(s["kernels"] for s in steps), "entry_kernels": kernel_count(compiled.as_text()),
            "flops": whole["flops"], "bytes_accessed": whole["bytes_accessed"]}


def per_layer(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (variant, method): PER_LAYER between the two depths, and each over the variant's gradient."""
    out = []
    for (variant, method), group in rows.groupby(["variant", "method"], sort=False):
        lo, hi = group.sort_values("depth").iloc[[0, -1]].itertuples()
        layers = hi.depth - lo.depth
        out.append({"variant": variant, "method": method, "loops": hi.loops, "kernels_per_step": hi.kernels_per_step,
                    "flops_per_layer": (hi.flops - lo.flops) / layers,
                    "bytes_per_layer": (hi.bytes_accessed - lo.bytes_accessed) / layers})
    table = pd.DataFrame(out)
    gradient = table[table["method"] == "gradient"].set_index("variant")
    for column in PER_LAYER:
        table[f"{column}_over_gradient"] = table[column] / table["variant"].map(gradient[column])
    return table


class ProgramsStudy:
    """The study: units `<variant>/<method>`, each compiled at both depths."""

    name = "hvp programs"
    x64 = False
    matmul_precision = "highest"  # as the timing study: true float32 matmuls
    logs = {"programs.csv": COLUMNS}

    def __init__(self, config: ProgramsConfig):
        self.config = config

    def units(self) -> list[Unit]:
        return [Unit(f"{v}/{m}", label=f"{m} ({v})") for v in self.config.variants for m in self.config.methods]

    def measure(self, unit: Unit, out_dir: Path) -> dict:
        variant, method = unit.key.split("/")
        return {"programs.csv": [program_row(self.config, variant, method, d) for d in self.config.depths]}

    def derive(self, out_dir: Path) -> None:
        write_csv_atomic(out_dir / "per_layer.csv", per_layer(pd.read_csv(out_dir / "programs.csv")))


def cli(argv: list[str] | None = None) -> None:
    """The console command `hvp-programs`; exits with its status."""
    study_cli(argv, load=lambda path, overrides: load_config(ProgramsConfig, path, overrides), make_study=ProgramsStudy,
              description="Kernels per loop step, flops and bytes per layer of each method's compiled program, in "
                          "each formulation, and each over the same formulation's gradient: the cost a shared "
                          "machine cannot perturb.",
              examples=["hvp-programs --config configs/hvp_programs.toml --out runs/hvp_programs"])
