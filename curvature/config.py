"""The configuration of one curvature run: `CurvatureConfig`, a frozen dataclass.

Load a file with `load(path, overrides)`, which picks the class by the file's `study` key
("task", the default: CurvatureConfig; "trained": curvature.trained_config.TrainedConfig)
and calls `expkit.config.load_config`: unknown keys,
wrong types and impossible values are one-line `ConfigError`s naming the key. Importing
this module imports neither JAX nor matplotlib.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from expkit.config import load_study, require

TRACE_ESTIMATORS = ("hutchinson", "hutchpp", "xtrace")
DIAG_ESTIMATORS = ("hutchinson", "xdiag")
COST_ROUTES = ("hvp", "lanczos", "power", "slq", "trace_hutchinson", "trace_hutchpp", "trace_xtrace",
               "dense_hessian", "dense_eigvalsh")
# Every trace budget must split evenly: Hutch++ spends a third on its sketch, a third on
# projecting it and a third on Hutchinson; XTrace spends half on its sketch.
BUDGET_MULTIPLE = 6


def num_params(depth: int, width: int, input_size: int, output_size: int) -> int:
    """P of `[input_size] + [width] * depth + [output_size]`: input_size*w + (depth-1)*w^2 + w*output_size."""
    return input_size * width + (depth - 1) * width * width + width * output_size


@dataclasses.dataclass(frozen=True)
class CurvatureConfig:
    """Curvature of the task's MLP from HVPs, checked against the dense Hessian.

    The study (trace, diagonal, eigenvalue and density estimators against the exact
    dense answer) runs at `study_depth`; the cost sweep times the dense route and the
    matrix-free routes at every depth of `cost_depths`.
    """

    # Which study a config file describes: "task" (this class) or "trained"
    # (curvature.trained_config.TrainedConfig); see `load`.
    study: Literal["task"] = "task"
    name: str = "curvature"
    # Width 4 dies with depth for every init tried; width 16 with fan-in init x 1.55 keeps
    # 1000 layers alive (loss -2.6e3, gradient norm 1.4e6, seed 0, float64). The gain is a
    # knife-edge: x 1.5 underflows (1e-137), x 1.7 overflows (1e43) at 1000 layers, and
    # the spectrum's scale moves with it, so it is recorded with every result.
    width: int = 16
    input_size: int = 16
    output_size: int = 1
    init: Literal["normal", "fan_in"] = "fan_in"
    init_scale: float = 1.55
    seed: int = 0
    # The task's data is one row of ones; "normal" draws a batch of N(0, 1) rows, which
    # gives a data batch worth sharding across `devices`.
    inputs: Literal["ones", "normal"] = "ones"
    batch: int = 1
    # Devices the data batch is sharded over (shard_map, psum of the per-shard losses);
    # needs batch % devices == 0. On CPU, XLA_FLAGS=--xla_force_host_platform_device_count=N.
    devices: int = 1
    dtype: Literal["float64", "float32"] = "float64"
    # How v -> Hv is composed: one linearization of grad f reused for every vector
    # (the many-vectors-at-one-point case), or a fresh fwd-over-rev / rev-over-rev HVP.
    hvp: Literal["linearize", "fwd_rev", "rev_rev"] = "linearize"

    # --- the study at one dense-checkable depth -----------------------------------------
    # P = 8208 at width 16: eigvalsh of the dense float64 Hessian takes about a minute on
    # the 2-core CPU (cubic: 16k would take about eight).
    study_depth: int = 32
    trace_estimators: tuple[str, ...] = TRACE_ESTIMATORS
    # HVPs per estimate; the slope fits need a factor of 2^5 or more.
    trace_budgets: tuple[int, ...] = (12, 24, 48, 96, 192, 384)
    # Independent estimates per budget: the RMSE's bootstrap CI comes from these.
    trace_reps: int = 30
    diag_estimators: tuple[str, ...] = DIAG_ESTIMATORS
    diag_budgets: tuple[int, ...] = (12, 48, 192)
    diag_reps: int = 5
    # Lanczos (full reorthogonalisation) and power iteration, one run each, every step kept.
    lanczos_steps: int = 100
    power_steps: int = 100
    top_k: int = 5
    # Repeat the Lanczos run with the model and operator in float32 (against float64 eigvalsh).
    float32_check: bool = True
    # Stochastic Lanczos quadrature: probes x steps.
    slq_probes: int = 10
    slq_steps: int = 80
    # The plotted density is the SLQ measure convolved with a Gaussian of this standard
    # deviation, as a fraction of the spectral range (W1 is computed unsmoothed).
    smoothing: float = 0.01

    # --- the cost sweep over depth ------------------------------------------------------
    # What is timed at each depth (curvature/cost.py describes each route).
    cost_routes: tuple[str, ...] = COST_ROUTES
    cost_depths: tuple[int, ...] = (4, 8, 16, 24, 32, 64, 125, 250, 500, 1000)
    # The dense route (Hessian + eigvalsh) runs only where P <= dense_max_params; beyond
    # that its cost is extrapolated from the fitted exponent.
    dense_max_params: int = 8208
    # Columns of the dense Hessian built per vectorised block (bounds the temporaries).
    hessian_block: int = 256
    # Timed calls per route and depth; the dense route gets fewer (a minute each at 8k).
    cost_runs: int = 5
    dense_runs: int = 2
    # HVPs of the trace estimate in the sweep (Hutch++ and Hutchinson at the same budget).
    cost_trace_hvps: int = 384

    @property
    def study_params(self) -> int:
        return num_params(self.study_depth, self.width, self.input_size, self.output_size)

    def params_at(self, depth: int) -> int:
        return num_params(depth, self.width, self.input_size, self.output_size)

    def __post_init__(self):
        require(bool(self.name) and "/" not in self.name, "config key 'name' must be a non-empty name without '/'")
        for key in ("width", "input_size", "output_size", "batch", "devices", "study_depth", "trace_reps",
                    "diag_reps", "lanczos_steps", "power_steps", "top_k", "slq_probes", "slq_steps",
                    "hessian_block", "cost_runs", "dense_runs", "cost_trace_hvps"):
            require(getattr(self, key) >= 1, f"config key {key!r} must be >= 1, got {getattr(self, key)}")
        require(self.seed >= 0, f"config key 'seed' must be >= 0, got {self.seed}")
        require(self.init_scale > 0, f"config key 'init_scale' must be > 0, got {self.init_scale}")
        require(0 < self.smoothing < 1, f"config key 'smoothing' must be in (0, 1), got {self.smoothing}")
        require(self.batch % self.devices == 0,
                f"config key 'batch' ({self.batch}) must be a multiple of 'devices' ({self.devices})")
        self._check_names("trace_estimators", self.trace_estimators, TRACE_ESTIMATORS)
        self._check_names("diag_estimators", self.diag_estimators, DIAG_ESTIMATORS)
        for key in ("trace_budgets", "diag_budgets"):
            budgets = getattr(self, key)
            require(len(budgets) > 0 and len(set(budgets)) == len(budgets),
                    f"config key {key!r} must be a non-empty list without repeats, got {list(budgets)}")
            require(all(b >= BUDGET_MULTIPLE and b % BUDGET_MULTIPLE == 0 for b in budgets),
                    f"config key {key!r} must hold multiples of {BUDGET_MULTIPLE}, got {list(budgets)}")
        require(self.cost_trace_hvps % BUDGET_MULTIPLE == 0,
                f"config key 'cost_trace_hvps' must be a multiple of {BUDGET_MULTIPLE}, got {self.cost_trace_hvps}")
        require(self.top_k <= self.lanczos_steps,
                f"config key 'top_k' ({self.top_k}) must be <= lanczos_steps ({self.lanczos_steps})")
        for route in self.cost_routes:
            require(route in COST_ROUTES, f"config key 'cost_routes': unknown route {route!r} (known: {', '.join(COST_ROUTES)})")
        require(len(set(self.cost_routes)) == len(self.cost_routes), "config key 'cost_routes' lists a route twice")
        require(("dense_eigvalsh" in self.cost_routes) <= ("dense_hessian" in self.cost_routes),
                "config key 'cost_routes': dense_eigvalsh needs dense_hessian")
        require(len(self.cost_depths) > 0 and all(d >= 1 for d in self.cost_depths),
                f"config key 'cost_depths' must be a non-empty list of depths >= 1, got {list(self.cost_depths)}")
        require(len(set(self.cost_depths)) == len(self.cost_depths), "config key 'cost_depths' lists a depth twice")
        p = self.study_params
        require(p <= self.dense_max_params,
                f"config key 'study_depth' ({self.study_depth}) gives P = {p} > dense_max_params "
                f"({self.dense_max_params}): the study needs the dense Hessian")
        # Krylov and sketch sizes cannot exceed the dimension they live in.
        smallest = min(self.params_at(d) for d in (self.study_depth, *self.cost_depths))
        for key in ("lanczos_steps", "slq_steps"):
            require(getattr(self, key) < smallest,
                    f"config key {key!r} ({getattr(self, key)}) must be < the smallest P ({smallest})")
        largest_budget = max((*self.trace_budgets, *self.diag_budgets))
        require(largest_budget // 2 < p, f"trace/diag budgets up to {largest_budget} need P > {largest_budget // 2}, got {p}")
        require(self.cost_trace_hvps // 2 < smallest,
                f"config key 'cost_trace_hvps' ({self.cost_trace_hvps}) needs P > {self.cost_trace_hvps // 2} "
                f"at every depth, smallest P is {smallest}")

    @staticmethod
    def _check_names(key: str, names: tuple[str, ...], known: tuple[str, ...]) -> None:
        require(len(names) > 0 and len(set(names)) == len(names), f"config key {key!r} must be non-empty, no repeats")
        for name in names:
            require(name in known, f"config key {key!r}: unknown estimator {name!r} (known: {', '.join(known)})")


def load(path, overrides=()):
    """The config of the study the file names: CurvatureConfig ("task", the default) or TrainedConfig ("trained")."""
    from curvature.trained_config import TrainedConfig

    return load_study({"task": CurvatureConfig, "trained": TrainedConfig}, path, overrides)
