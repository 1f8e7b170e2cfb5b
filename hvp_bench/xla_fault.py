"""What XLA:CPU's vmapped tanh-JVP fault does to this suite's networks, against a long-double witness.

    hvp-xla-fault --config configs/xla_cpu_tanh_jvp.toml --out runs/xla_cpu_tanh_jvp

docs/xla_cpu_tanh_jvp.md explains the fault. Two parts, in float64:

- deep.csv: the curvature study's network (width 16, input 16, fan-in init x 1.55, scan)
  at `depths`, in the task's tanh GELU and its logistic form. For 4 Rademacher vectors:
  single forward-over-reverse HVPs (jit, one vector per call) and a jit(vmap) block of
  them, each against the numpy long-double R-operator (hvp_bench.long_double: no
  secondorder code), and central differences of the gradient at two steps against the
  same witness.
- dense.csv: `jax.hessian` of the homework's network (width 4, N(0, 1) init) at
  `dense_depths`, where float64 kills every unit and the Hessian is exactly 0, in both forms.

A study of the one driver (expkit.study): one unit per (part, depth).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from expkit.config import Config, key, load_config
from expkit.study import Unit, study_cli

DEEP = ["depth", "gelu", "route", "rel_error_vs_long_double", "max_abs_preactivation"]
DENSE = ["depth", "gelu", "max_abs_hessian", "max_abs_single_hvp", "max_abs_long_double_hvp"]


@dataclasses.dataclass(frozen=True)
class XlaFaultConfig(Config):
    name: str = key("xla_cpu_tanh_jvp", name=True)
    depths: tuple[int, ...] = key((64, 250, 500, 1000), ge=1, nonempty=True, distinct=True)  # the deep network
    dense_depths: tuple[int, ...] = key((20, 50), ge=1, distinct=True)  # the homework's network, dense Hessian
    seed: int = key(0, ge=0)  # the weights' key; the vectors' is seed + 1


def deep_rows(depth: int, seed: int = 0) -> list[dict]:
    """DEEP rows at `depth`: single and vmapped HVPs in both GELU forms, central differences, against the witness."""
    import jax
    import jax.numpy as jnp

    from hvp_bench.long_double import mlp_hvp, relative_error
    from secondorder.model import MLP
    from secondorder.products import hvp_fwd_rev
    from secondorder.sizes import layer_sizes_for

    rows = []
    for gelu in ("tanh", "logistic"):
        model = MLP(jax.random.PRNGKey(seed), layer_sizes_for(depth, 16, 16, 1), form="scan", init="fan_in",
                    init_scale=1.55, dtype=jnp.float64, layer={"activation": gelu})
        params, inputs = model.get_params(), model.inputs()
        vectors = jax.random.rademacher(jax.random.PRNGKey(seed + 1), (4, model.num_params), dtype=jnp.float64)
        if gelu == "tanh":  # the witness is the tanh form in long double
            want = mlp_hvp(np.asarray(params), np.asarray(vectors), model.layer_sizes, np.asarray(inputs))
        one = jax.jit(lambda v: hvp_fwd_rev(model.loss, params, v))
        single = np.stack([np.asarray(one(v)) for v in vectors])
        block = np.asarray(jax.jit(jax.vmap(lambda v: hvp_fwd_rev(model.loss, params, v)))(vectors))
        z_max = float(max(np.abs(np.asarray(z)).max() for z in _preactivations(model, params)))
        for route, got in (("single", single), ("vmapped block", block)):
            rows.append({"depth": depth, "gelu": gelu, "route": route, "rel_error_vs_long_double":
                         relative_error(got, want), "max_abs_preactivation": z_max})
        if gelu == "tanh":
            grad = jax.jit(jax.grad(model.loss))
            for h in (1e-6, 1e-8):
                fd = np.asarray((grad(params + h * vectors[0]) - grad(params - h * vectors[0])) / (2 * h))
                rows.append({"depth": depth, "gelu": gelu, "route": f"central differences h={h:g}",
                             "rel_error_vs_long_double": relative_error(fd[None], want[:1]),
                             "max_abs_preactivation": z_max})
    return rows


def _preactivations(model, params) -> list:
    """Every hidden layer's h @ W (the same in both forms up to rounding)."""
    import jax

    first, hidden, _ = model.split(params)
    h, out = model.inputs(), []
    for w in [first, *hidden]:
        z = h @ w
        out.append(z)
        h = jax.nn.gelu(z, approximate=True)
    return out


def dense_rows(depth: int, seed: int = 0) -> list[dict]:
    """DENSE rows at `depth`: the largest entry of jax.hessian in both forms, of a single HVP and of the witness."""
    import jax
    import jax.numpy as jnp

    from hvp_bench.long_double import mlp_hvp
    from secondorder.model import MLP
    from secondorder.products import hvp_fwd_rev
    from secondorder.sizes import layer_sizes_for

    model = MLP(jax.random.PRNGKey(seed), layer_sizes_for(depth, 4, 4, 1), form="scan", dtype=jnp.float64)
    params = model.get_params()
    vectors = jax.random.normal(jax.random.PRNGKey(seed + 1), (2, model.num_params), jnp.float64)
    witness = mlp_hvp(np.asarray(params), np.asarray(vectors), model.layer_sizes, np.asarray(model.inputs()))
    single = np.asarray(jax.jit(lambda v: hvp_fwd_rev(model.loss, params, v))(vectors[0]))
    rows = []
    for gelu in ("tanh", "logistic"):
        hessian = np.asarray(jax.jit(jax.hessian(model.with_layer(activation=gelu).loss))(params))
        rows.append({"depth": depth, "gelu": gelu, "max_abs_hessian": float(np.abs(hessian).max()),
                     "max_abs_single_hvp": float(np.abs(single).max()),
                     "max_abs_long_double_hvp": float(np.abs(witness.astype(np.float64)).max())})
    return rows


class XlaFaultStudy:
    """The study: units `deep/<depth>` (cost growing with depth) and `dense/<depth>`."""

    name = "xla fault"
    x64 = True
    logs = {"deep.csv": DEEP, "dense.csv": DENSE}

    def __init__(self, config: XlaFaultConfig):
        self.config = config

    def units(self) -> list[Unit]:
        return ([Unit(f"deep/{d}", cost=d, label=f"deep network, {d} layers") for d in self.config.depths]
                + [Unit(f"dense/{d}", cost=d, label=f"dense Hessian, {d} layers") for d in self.config.dense_depths])

    def measure(self, unit: Unit, out_dir: Path) -> dict:
        part, depth = unit.key.split("/")
        rows = (deep_rows if part == "deep" else dense_rows)(int(depth), self.config.seed)
        return {f"{part}.csv": rows}

    def derive(self, out_dir: Path) -> None:
        """Nothing beyond the two tables: docs/xla_cpu_tanh_jvp.md quotes them."""


def cli(argv: list[str] | None = None) -> None:
    """The console command `hvp-xla-fault`; exits with its status."""
    study_cli(argv, load=lambda path, overrides: load_config(XlaFaultConfig, path, overrides), make_study=XlaFaultStudy,
              description="What XLA:CPU's vmapped tanh-JVP fault does to this suite's networks: single and vmapped "
                          "HVPs and dense Hessians against a long-double witness, in float64.",
              examples=["hvp-xla-fault --config configs/xla_cpu_tanh_jvp.toml --out runs/xla_cpu_tanh_jvp"])
