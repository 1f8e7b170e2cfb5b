"""What XLA:CPU's vmapped tanh-JVP fault does to this suite's network, against a long-double witness.

    PYTHONPATH=. python docs/xla_cpu_tanh_jvp_impact.py --out results/xla_cpu_tanh_jvp

The curvature study's network (width 16, input 16, fan-in init x 1.55, float64, scan) at
64-1000 layers, in the task's tanh GELU and in its logistic form. For 4 Rademacher vectors:
single forward-over-reverse HVPs (jit, one vector per call) and a jit(vmap) block of them,
each against the numpy long-double R-operator of tests/helpers/long_double.py (no
secondorder code); central differences of the gradient at two steps against the same
witness; and the dense Hessian (jax.hessian) of the task's network where float64 kills
every unit (width 4, N(0, 1) init), in both forms. Writes deep.csv, dense.csv, meta.json.
"""

import argparse
import os
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from expkit.provenance import environment_info  # noqa: E402
from expkit.results import now_iso, write_csv_atomic, write_json_atomic  # noqa: E402
from secondorder.products import hvp_fwd_rev  # noqa: E402
from secondorder.model import MLP  # noqa: E402
from secondorder.sizes import layer_sizes_for  # noqa: E402
from tests.helpers.long_double import mlp_hvp, relative_error  # noqa: E402


def deep_rows(depth: int) -> list[dict]:
    rows = []
    for gelu in ("tanh", "logistic"):
        model = MLP(jax.random.PRNGKey(0), layer_sizes_for(depth, 16, 16, 1), form="scan", init="fan_in",
                    init_scale=1.55, dtype=jnp.float64, layer={"activation": gelu})
        params, inputs = model.get_params(), model.inputs()
        vectors = jax.random.rademacher(jax.random.PRNGKey(1), (4, model.num_params), dtype=jnp.float64)
        if gelu == "tanh":  # the witness is the tanh form in long double
            want = mlp_hvp(np.asarray(params), np.asarray(vectors), model.layer_sizes, np.asarray(inputs))
        one = jax.jit(lambda v: hvp_fwd_rev(model.loss, params, v))
        single = np.stack([np.asarray(one(v)) for v in vectors])
        block = np.asarray(jax.jit(jax.vmap(lambda v: hvp_fwd_rev(model.loss, params, v)))(vectors))
        z_max = float(jnp.abs(jnp.concatenate([p.ravel() for p in _preactivations(model, params)])).max())
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


def _preactivations(model: MLP, params) -> list:
    """Every hidden layer's h @ W (the same in both forms up to rounding)."""
    first, hidden, _ = model.split(params)
    h, out = model.inputs(), []
    for w in [first, *hidden]:
        z = h @ w
        out.append(z)
        h = jax.nn.gelu(z, approximate=True)
    return out


def dense_rows() -> list[dict]:
    rows = []
    for depth in (20, 50):
        model = MLP(jax.random.PRNGKey(0), layer_sizes_for(depth, 4, 4, 1), form="scan", dtype=jnp.float64)
        params = model.get_params()
        vectors = jax.random.normal(jax.random.PRNGKey(1), (2, model.num_params), jnp.float64)
        witness = mlp_hvp(np.asarray(params), np.asarray(vectors), model.layer_sizes, np.asarray(model.inputs()))
        single = np.asarray(jax.jit(lambda v: hvp_fwd_rev(model.loss, params, v))(vectors[0]))
        for gelu in ("tanh", "logistic"):
            f = model.with_layer(activation=gelu).loss
            hessian = np.asarray(jax.jit(jax.hessian(f))(params))
            rows.append({"depth": depth, "gelu": gelu, "max_abs_hessian": float(np.abs(hessian).max()),
                         "max_abs_single_hvp": float(np.abs(single).max()),
                         "max_abs_long_double_hvp": float(np.abs(witness.astype(np.float64)).max())})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--depths", type=int, nargs="+", default=[64, 250, 500, 1000])
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"started": now_iso(), "args": vars(args), "environment": environment_info(),
            "load_average_at_start": os.getloadavg()}
    with jax.enable_x64(True):
        deep = pd.DataFrame([row for depth in args.depths for row in deep_rows(depth)])
        dense = pd.DataFrame(dense_rows())
    write_csv_atomic(out / "deep.csv", deep)
    write_csv_atomic(out / "dense.csv", dense)
    meta.update(finished=now_iso(), load_average_at_end=os.getloadavg())
    write_json_atomic(out / "meta.json", meta)
    print(deep.to_string(index=False))
    print(dense.to_string(index=False))


if __name__ == "__main__":
    main()
