"""The configuration of one hvp_bench sweep: `HVPConfig`, a frozen dataclass.

Load it with `expkit.config.load_config(HVPConfig, path, overrides)`: unknown keys,
wrong types and impossible values are one-line `ConfigError`s naming the key. Importing
this module imports neither JAX nor matplotlib.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from typing import ClassVar, Literal

import numpy as np

from expkit.config import Config, ConfigError, config_to_dict, key, load_config, require
from secondorder.methods import FLOOR_METHOD, METHOD_NAMES, TASK_METHODS
from hvp_bench.variants import parse_variant

__all__ = ["FLOOR_METHOD", "METHOD_NAMES", "TASK_METHODS", "ConfigError", "HVPConfig", "config_to_dict", "load_config"]


@dataclasses.dataclass(frozen=True)
class HVPConfig(Config):
    """One hvp_bench sweep: models of growing depth x methods x timed runs.

    The model is the task's MLP: `layer_sizes = [input_size] + [width] * depth +
    [output_size]`, so `depth` counts hidden layers and P ~= depth * width**2.
    """

    # Keys that went, with the value that means today's behaviour: older runs still resume.
    RETIRED: ClassVar[dict] = {"vmapped_gelu": (
        "logistic", "the library runs the tanh GELU in its logistic form wherever it vmaps products")}

    name: str = key("hvp", name=True)
    # The task: ns = np.linspace(50, 1000, 15, dtype=int) hidden layers.
    depths: tuple[int, ...] = key(tuple(int(n) for n in np.linspace(50, 1000, 15, dtype=int)), ge=1, nonempty=True)
    width: int = key(4, ge=1)
    input_size: int = key(4, ge=1)
    output_size: int = key(1, ge=1)
    batch: int = key(1, ge=1)
    dtype: Literal["float32", "float64"] = "float32"
    # How float32 matmuls run. "highest" is true float32; JAX's "default" lets recent
    # GPUs use TF32 (an H100 does), which is faster and less precise. Recorded in
    # meta.json and in every figure's title.
    matmul_precision: Literal["default", "high", "highest"] = "highest"
    # The ways of writing the network timed at every point, interleaved (names in
    # hvp_bench/variants.py): "scan" (hidden layers in one lax.scan: compiles in constant
    # time), "unrolled" (the task's Python loop: its compile time grows with depth and it
    # cannot compile 1000 layers on 24 GB), "fori", with tokens for the unroll factor
    # ("-u8"), the layer written for fusion ("-fused"), a hand-written layer JVP
    # ("-jvp"), the exact GELU ("-exact"), the tanh GELU written z * sigmoid(2u)
    # ("-logistic") and a block of vectors per call ("-k16");
    # "torch", "torch-func", "torch-compile": the same network in PyTorch, an optional
    # extra (pip install -e ".[peers]"; hvp_bench/torch_peer.py).
    variants: tuple[str, ...] = key(("scan",), nonempty=True)
    # Weights are init_scale * N(0, 1) ("normal", the task's own with scale 1.0), or
    # divided by sqrt(fan_in) ("fan_in"). Neither keeps a deep GELU chain alive at every
    # width; runs.csv records whether each result was finite and non-zero.
    init: Literal["normal", "fan_in"] = "normal"
    init_scale: float = key(1.0, gt=0)
    methods: tuple[str, ...] = key(("hessian_then_hvp", "naive_hvp", "hvp_rev_rev"), nonempty=True, distinct=True)
    num_runs: int = key(10, ge=1)
    # Independent repeats of the whole study: each repeat measures every point again in
    # fresh worker processes, the repeats one after another (so each point's repeats are
    # spread over the run), repeat 0 in depth order and the others in a shuffled order of
    # shapes. A shared machine drifts between runs by more than one run's intervals show
    # (results differ 2-3x between runs): per-layer fits resample repeats, and headline
    # figures are medians over repeats with their range (expkit.robust). Raising it on a
    # finished run directory measures the new repeats only.
    repeats: int = key(1, ge=1)
    warmup: int = key(1, ge=0)
    # At each (depth, width) every method is compiled and warmed up, then timed run by
    # run, all methods in each round: "shuffled" in an order drawn from (seed, depth,
    # width) each round, or "round_robin" in config order, so that slow drift of a
    # shared machine spreads over all methods instead of landing on the last one.
    order: Literal["shuffled", "round_robin"] = "shuffled"
    seed: int = key(0, ge=0)
    # "cpu" and "gpu" pin the JAX platform of the measuring process (an error if it is
    # not available); "auto" takes JAX's default. runs.csv records the backend used.
    device: Literal["auto", "cpu", "gpu"] = "auto"
    # Extra XLA flags for the measuring process (appended to XLA_FLAGS before JAX starts),
    # e.g. "--xla_cpu_use_thunk_runtime=false"; XLA refuses unknown flags.
    xla_flags: str = ""
    # The most seconds one method may take at one point (compile, build, warm-up and
    # timed runs together) before its worker is killed and the point recorded as
    # `timeout`; 0: no limit.
    point_timeout_s: float = key(600.0, ge=0)
    # A (variant, method) whose compile took longer than this at one depth is skipped at
    # the deeper depths (the unrolled form's compile grows with depth); 0: no limit.
    compile_budget_s: float = key(0.0, ge=0)
    # Dense-Hessian points predicted above this are skipped; 0 means a safe fraction of
    # the free host (CPU) or device (GPU) memory.
    memory_budget_gb: float = key(0.0, ge=0)
    # Columns of the dense Hessian built per vectorised block; 0 builds all at once
    # (jax.hessian). Blocks bound the temporaries to block x activations.
    hessian_block: int = key(0, ge=0)
    # Widths swept at the fixed depth `width_depth` after the depth sweep; empty: none.
    widths: tuple[int, ...] = key((), ge=1)
    width_depth: int = key(100, ge=1)

    def check(self):
        canonical = []
        for text in self.variants:
            try:
                canonical.append(parse_variant(text).name)
            except ValueError as e:
                raise ConfigError(f"config key 'variants': {e}") from None
        require(len(set(canonical)) == len(canonical), "config key 'variants' lists a variant twice")
        object.__setattr__(self, "variants", tuple(canonical))  # one spelling per variant, for resume
        peers = [v for v in canonical if parse_variant(v).is_torch]
        # find_spec looks for the package without importing it (importing torch takes seconds).
        require(not peers or importlib.util.find_spec("torch") is not None,
                f"config key 'variants': {', '.join(peers)} need(s) PyTorch, which is not installed: "
                'pip install -e ".[peers]"')
        for m in self.methods:
            require(m in METHOD_NAMES, f"config key 'methods': unknown method {m!r} (known: {', '.join(METHOD_NAMES)})")
        require(len(set(self.depths)) == len(self.depths), "config key 'depths' lists a depth twice")
