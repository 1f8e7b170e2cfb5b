"""The configuration of one curvature run: `CurvatureConfig`, a frozen dataclass.

Load a file with `load(path, overrides)`, which picks the class by the file's `study` key
("task", the default: CurvatureConfig; "trained": curvature.trained_config.TrainedConfig)
and calls `expkit.config.load_config`: unknown keys,
wrong types and impossible values are one-line `ConfigError`s naming the key. Importing
this module imports neither JAX nor matplotlib.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Literal

from expkit.config import Config, key, load_study, require
from secondorder.sizes import layer_sizes_for, num_params

TRACE_ESTIMATORS = ("hutchinson", "hutchpp", "xtrace")
DIAG_ESTIMATORS = ("hutchinson", "xdiag")
# The estimators of secondorder.trace and secondorder.diagonal this study runs, and
# curvature.cost's routes, here so that a config is checked without JAX (their order
# fixes each estimator's random keys).
COST_ROUTES = ("hvp", "lanczos", "power", "slq", *(f"trace_{name}" for name in TRACE_ESTIMATORS),
               "dense_hessian", "dense_eigvalsh")
# Every trace budget must split evenly: Hutch++ spends a third on its sketch, a third on
# projecting it and a third on Hutchinson; XTrace spends half on its sketch.
BUDGET_MULTIPLE = 6


@dataclasses.dataclass(frozen=True)
class CurvatureConfig(Config):
    """Curvature of the task's MLP from HVPs, checked against the dense Hessian.

    The study (trace, diagonal, eigenvalue and density estimators against the exact
    dense answer) runs at `study_depth`; the cost sweep times the dense route and the
    matrix-free routes at every depth of `cost_depths`.
    """

    # Keys that went, with the value that means today's behaviour. The estimators vmap
    # blocks of products, and the library runs the task's tanh GELU in its logistic form
    # there (`MLP.vmap_safe`: XLA:CPU differentiates the tanh form wrongly under vmap).
    RETIRED: ClassVar[dict] = {"gelu": ("logistic", "the GELU runs in its logistic form wherever products are vmapped")}

    # Which study a config file describes: "task" (this class) or "trained"
    # (curvature.trained_config.TrainedConfig); see `load`.
    study: Literal["task"] = "task"
    name: str = key("curvature", name=True)
    # Width 4 dies with depth for every init tried; width 16 with fan-in init x 1.55 keeps
    # 1000 layers alive (loss -2.6e3, gradient norm 1.4e6, seed 0, float64). The gain is a
    # knife-edge: x 1.5 underflows (1e-137), x 1.7 overflows (1e43) at 1000 layers, and
    # the spectrum's scale moves with it, so it is recorded with every result.
    width: int = key(16, ge=1)
    input_size: int = key(16, ge=1)
    output_size: int = key(1, ge=1)
    init: Literal["normal", "fan_in"] = "fan_in"
    init_scale: float = key(1.55, gt=0)
    seed: int = key(0, ge=0)
    # The task's data is one row of ones; "normal" draws a batch of N(0, 1) rows, which
    # gives a data batch worth sharding across `devices`.
    inputs: Literal["ones", "normal"] = "ones"
    batch: int = key(1, ge=1)
    # Devices the data batch is sharded over (its rows split, XLA partitions the loss and
    # every product; secondorder.operators.shard_batch); needs batch % devices == 0. On CPU, XLA_FLAGS=--xla_force_host_platform_device_count=N.
    devices: int = key(1, ge=1)
    dtype: Literal["float64", "float32"] = "float64"
    # How v -> Hv is composed: one linearization of grad f reused for every vector
    # (the many-vectors-at-one-point case), or a fresh fwd-over-rev / rev-over-rev HVP.
    hvp: Literal["linearize", "fwd_rev", "rev_rev"] = "linearize"

    # --- the study at one dense-checkable depth -----------------------------------------
    # P = 8208 at width 16: eigvalsh of the dense float64 Hessian takes about a minute on
    # a 2-core CPU (cubic: 16k would take about eight).
    study_depth: int = key(32, ge=1)
    trace_estimators: tuple[str, ...] = key(TRACE_ESTIMATORS, nonempty=True, distinct=True)
    # HVPs per estimate; the slope fits need a factor of 2^5 or more.
    trace_budgets: tuple[int, ...] = key((12, 24, 48, 96, 192, 384), nonempty=True, distinct=True)
    # Independent estimates per budget: the RMSE's bootstrap CI comes from these.
    trace_reps: int = key(30, ge=1)
    diag_estimators: tuple[str, ...] = key(DIAG_ESTIMATORS, nonempty=True, distinct=True)
    diag_budgets: tuple[int, ...] = key((12, 48, 192), nonempty=True, distinct=True)
    diag_reps: int = key(5, ge=1)
    # Lanczos (full reorthogonalisation) and power iteration, one run each, every step kept.
    lanczos_steps: int = key(100, ge=1)
    power_steps: int = key(100, ge=1)
    top_k: int = key(5, ge=1)
    # Repeat the Lanczos run with the model and operator in float32 (against float64 eigvalsh).
    float32_check: bool = True
    # Stochastic Lanczos quadrature: probes x steps.
    slq_probes: int = key(10, ge=1)
    slq_steps: int = key(80, ge=1)
    # SLQ probes vectorised at a time (vmap), the rest in sequence (lax.map): the Krylov
    # bases take probe_batch x slq_steps x P numbers (1.6 GB at 10 x 80 x 256k in float64).
    probe_batch: int = key(10, ge=1)
    # The plotted density is the SLQ measure convolved with a Gaussian of this standard
    # deviation, as a fraction of the spectral range (W1 is computed unsmoothed).
    smoothing: float = key(0.01, gt=0, lt=1)

    # --- the cost sweep over depth ------------------------------------------------------
    # What is timed at each depth (curvature/cost.py describes each route).
    cost_routes: tuple[str, ...] = key(COST_ROUTES, distinct=True)
    cost_depths: tuple[int, ...] = key((4, 8, 16, 24, 32, 64, 125, 250, 500, 1000), ge=1, nonempty=True, distinct=True)
    # The dense route (Hessian + eigvalsh) runs only where P <= dense_max_params; beyond
    # that its cost is extrapolated from the fitted exponent.
    dense_max_params: int = 8208
    # Columns of the dense Hessian built per vectorised block (bounds the temporaries).
    hessian_block: int = key(256, ge=1)
    # Timed calls per route and depth; the dense route gets fewer (a minute each at 8k).
    cost_runs: int = key(5, ge=1)
    dense_runs: int = key(2, ge=1)
    # HVPs of the trace estimate in the sweep (Hutch++ and Hutchinson at the same budget).
    cost_trace_hvps: int = key(384, ge=1)

    @property
    def study_params(self) -> int:
        return self.params_at(self.study_depth)

    def params_at(self, depth: int) -> int:
        return num_params(layer_sizes_for(depth, self.width, self.input_size, self.output_size))

    def check(self):
        require(self.batch % self.devices == 0,
                f"config key 'batch' ({self.batch}) must be a multiple of 'devices' ({self.devices})")
        self._check_names("trace_estimators", self.trace_estimators, TRACE_ESTIMATORS)
        self._check_names("diag_estimators", self.diag_estimators, DIAG_ESTIMATORS)
        for name in ("trace_budgets", "diag_budgets"):
            budgets = getattr(self, name)
            require(all(b >= BUDGET_MULTIPLE and b % BUDGET_MULTIPLE == 0 for b in budgets),
                    f"config key {name!r} must hold multiples of {BUDGET_MULTIPLE}, got {list(budgets)}")
        require(self.cost_trace_hvps % BUDGET_MULTIPLE == 0,
                f"config key 'cost_trace_hvps' must be a multiple of {BUDGET_MULTIPLE}, got {self.cost_trace_hvps}")
        require(self.top_k <= self.lanczos_steps,
                f"config key 'top_k' ({self.top_k}) must be <= lanczos_steps ({self.lanczos_steps})")
        for route in self.cost_routes:
            require(route in COST_ROUTES, f"config key 'cost_routes': unknown route {route!r} (known: {', '.join(COST_ROUTES)})")
        require(("dense_eigvalsh" in self.cost_routes) <= ("dense_hessian" in self.cost_routes),
                "config key 'cost_routes': dense_eigvalsh needs dense_hessian")
        p = self.study_params
        require(p <= self.dense_max_params,
                f"config key 'study_depth' ({self.study_depth}) gives P = {p} > dense_max_params "
                f"({self.dense_max_params}): the study needs the dense Hessian")
        # Krylov and sketch sizes cannot exceed the dimension they live in.
        smallest = min(self.params_at(d) for d in (self.study_depth, *self.cost_depths))
        for name in ("lanczos_steps", "slq_steps"):
            require(getattr(self, name) < smallest,
                    f"config key {name!r} ({getattr(self, name)}) must be < the smallest P ({smallest})")
        largest_budget = max((*self.trace_budgets, *self.diag_budgets))
        require(largest_budget // 2 < p, f"trace/diag budgets up to {largest_budget} need P > {largest_budget // 2}, got {p}")
        require(self.cost_trace_hvps // 2 < smallest,
                f"config key 'cost_trace_hvps' ({self.cost_trace_hvps}) needs P > {self.cost_trace_hvps // 2} "
                f"at every depth, smallest P is {smallest}")

    @staticmethod
    def _check_names(key: str, names: tuple[str, ...], known: tuple[str, ...]) -> None:
        for name in names:
            require(name in known, f"config key {key!r}: unknown estimator {name!r} (known: {', '.join(known)})")


def load(path, overrides=()):
    """The config of the study the file names: CurvatureConfig ("task", the default) or TrainedConfig ("trained")."""
    from curvature.trained_config import TrainedConfig

    return load_study({"task": CurvatureConfig, "trained": TrainedConfig}, path, overrides)
