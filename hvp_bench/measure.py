"""The measuring side of a sweep: what the worker process runs at one (depth, width).

At one shape every (variant, method) still to do is built, checked against the memory
budget, compiled and warmed up; then all of them, and the dispatch floor, are timed
together, run by run (secondorder.timing.time_interleaved). The rows come back to the
parent (hvp_bench.sweep), which writes them. Nothing here writes files. PyTorch variants
(hvp_bench.torch_peer) are built from the same flat parameters and timed in the same
interleaved rounds as any JAX ones passed with them (the sweep passes each framework's
points to a process of its own: hvp_bench.sweep says why).

Every (variant, method) is then checked against single products (`check_values`): a
point whose values disagree is recorded `wrong`, with its error in `max_rel_error`. Where
products are vmapped (a block of vectors, a dense Hessian), the library runs the tanh GELU
in its logistic form (`secondorder.timing.vmaps`, `MLP.vmap_safe`; runs.csv's `gelu` says
which form each point ran): vmapped, XLA:CPU differentiates the tanh form wrongly on
saturated units (docs/xla_cpu_tanh_jvp.md).

`init_worker` runs first in the worker process: it pins the JAX platform and the matmul
precision before JAX starts a backend, so a "cpu" sweep on a GPU host times the CPU.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from expkit.provenance import environment_info
from expkit.worker import one_line, report
from hvp_bench import torch_peer
from hvp_bench.config import HVPConfig
from hvp_bench.values import check_values, flat_output, model_key
from hvp_bench.variants import Variant, parse_variant
from hvp_bench import memory
from secondorder.layers import vmap_safe
from secondorder.methods import METHODS, get_method
from secondorder.model import MLP
from secondorder.sizes import layer_sizes_for
from secondorder.products import AGREEMENT_RTOL
from secondorder.timing import OverBudget, prepare_call, time_interleaved, vmaps

PLATFORMS = {"cpu": "cpu", "gpu": "cuda"}
_GPU_BACKENDS = ("gpu", "cuda", "rocm")


def init_worker(device: str, matmul_precision: str, xla_flags: str = "", preallocate: bool = True) -> None:
    """Pins the JAX platform (for "cpu"/"gpu"), the default matmul precision and XLA flags.

    preallocate=False stops JAX from taking 75% of a GPU's memory at start: the PyTorch
    worker's JAX only builds the parameters, and with two preallocating processes on one
    GPU, PyTorch found none left (every torch point of the first H100 run: out of memory).
    """
    if xla_flags:  # read when the backend starts, which has not happened yet
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {xla_flags}".strip()
    if not preallocate:
        os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
    if device in PLATFORMS:
        # The environment variable for anything JAX reads at import; the config update
        # in case JAX was imported already (it applies until a backend starts).
        os.environ["JAX_PLATFORMS"] = PLATFORMS[device]
        jax.config.update("jax_platforms", PLATFORMS[device])
    jax.config.update("jax_default_matmul_precision", matmul_precision)


def check_backend(device: str, backend: str) -> None:
    """Raises RuntimeError unless JAX's `backend` is the one `device` asks for."""
    wanted = {"cpu": ("cpu",), "gpu": _GPU_BACKENDS}.get(device)
    if wanted is not None and backend not in wanted:
        raise RuntimeError(f"device {device!r} asked for, but JAX's backend is {backend!r}")


def preflight(device: str, with_torch: bool = False) -> dict[str, Any]:
    """Starts the JAX backend (and torch, if asked) and describes them; raises if JAX's
    backend is not the one asked for."""
    info = environment_info()
    if with_torch:
        info.update(torch_peer.torch_info())
    check_backend(device, info["backend"])
    info["jax_platforms"] = str(jax.config.jax_platforms or "")
    info["xla_flags"] = os.environ.get("XLA_FLAGS", "")
    info["memory_budget_auto_bytes"] = memory.default_budget_bytes(jax.devices()[0])
    return info


def _bytes(tree) -> int:
    return sum(int(leaf.nbytes) for leaf in jax.tree_util.tree_leaves(tree))


def run_as(variant: Variant, method: str) -> Variant:
    """The formulation `method` runs in: the one the library picks where products are
    vmapped (a block of vectors, a dense Hessian: `MLP.vmap_safe`), else the variant's."""
    if variant.is_torch or not vmaps(METHODS[method], variant.vectors > 1):
        return variant
    return dataclasses.replace(variant, activation=vmap_safe(variant.activation))


def measure_shape(config: HVPConfig, depth: int, width: int, todo: list[tuple[str, str]],
                  budget_bytes: int, repeat: int = 0) -> list[dict[str, Any]]:
    """Measures every (variant, method) in `todo` at one (depth, width), interleaved.

    Args:
      config: the sweep's config (sizes, dtype, runs, order, seed, precision).
      depth, width: the shape.
      todo: (variant, method) pairs, the dispatch floor among them.
      budget_bytes: memory budget; a method needing more (with the states the others
        keep alive) is recorded as skipped.
      repeat: which repeat of the study this is: every repeat times the same network and
        vectors, in its own order of calls.
    Returns:
      runs.csv rows: num_runs per timed pair (status ok, or wrong where its values disagree
      with single products), one per skipped or failed pair.
    """
    with jax.enable_x64(config.dtype == "float64"):
        return _measure_shape(config, depth, width, todo, budget_bytes, repeat)


def _measure_shape(config: HVPConfig, depth: int, width: int, todo: list[tuple[str, str]],
                   budget_bytes: int, repeat: int) -> list[dict[str, Any]]:
    backend = jax.devices()[0].platform
    check_backend(config.device, jax.default_backend())
    dtype = jnp.dtype(config.dtype)
    sizes = layer_sizes_for(depth, width, config.input_size, config.output_size)
    variants = {name: parse_variant(name) for name in dict.fromkeys(v for v, _ in todo)}
    runs_as = {(v, m): run_as(variants[v], m) for v, m in todo}

    # The weights are drawn once; every formulation is the same network written differently.
    base_model = MLP(jax.random.PRNGKey(config.seed), sizes, init=config.init, init_scale=config.init_scale,
                     dtype=dtype, batch=config.batch)
    models = {}
    for variant in [*variants.values(), *runs_as.values()]:
        if not variant.is_torch and model_key(variant) not in models:
            models[model_key(variant)] = base_model.twin(**variant.model_kwargs())
    if any(variant.is_torch for variant in variants.values()):  # their reference: the task's network
        models.setdefault("scan", base_model.twin(form="scan"))
    x = base_model.get_params()  # the same flat vector in every variant (PyTorch's copy it)
    inputs = base_model.inputs()
    # The vectors: one (P,), or a block (k, P) whose first row is that same vector.
    blocks = {k: jax.random.normal(jax.random.PRNGKey(config.seed + 1), (k, *x.shape), dtype)
              for k in {variant.vectors for variant in variants.values()}}
    common = {"depth": depth, "width": width, "params": int(x.size), "batch": config.batch,
              "dtype": config.dtype, "backend": backend, "budget_bytes": budget_bytes}

    rows, calls, info, resident = [], {}, {}, 0
    peer = _torch_model(config, sizes, x, backend, variants.values())
    for variant, name in todo:
        report((variant, name))
        vectors = variants[variant].vectors
        v = blocks[vectors] if vectors > 1 else blocks[vectors][0]
        base = {**common, "variant": variant, "method": name, "gelu": runs_as[(variant, name)].activation,
                "predicted_bytes": memory.predicted_bytes(
            name, int(x.size), depth, width, config.batch, dtype.itemsize, config.hessian_block, vectors)}
        held = f" with {resident / 1e9:.2f} GB of other methods' states held" if resident else ""

        def not_run(status: str, note: str, compiled_bytes: int = 0) -> None:
            rows.append({**base, "run_index": 0, "status": status, "compiled_bytes": compiled_bytes, "note": note})

        if reason := memory.over_budget(base["predicted_bytes"] + resident, budget_bytes):
            not_run("skipped", f"predicted {reason}{held}")
            continue
        if variants[variant].is_torch:
            if built := _torch_item(config, variants[variant], name, peer, v, base, not_run):
                calls[(variant, name)], info[(variant, name)] = built
            continue
        model = models[model_key(variants[variant])]
        point, vector = (model.weight_tree(x), _as_tree(model, v)) if variants[variant].tree else (x, v)
        try:
            with jax.default_matmul_precision(config.matmul_precision):
                # The library runs the vmap-safe form where it vmaps (runs_as records it).
                call = prepare_call(get_method(name, config.hessian_block), model.loss, point, vector,
                                    inputs=inputs, warmup=config.warmup,
                                    budget=lambda size: memory.over_budget(size + resident, budget_bytes))
        except OverBudget as e:
            stage = "compiled prepare" if e.stage == "prepare" else "compiled"
            not_run("skipped", f"{stage} {e.reason}{held}", e.compiled_bytes)
            continue
        except Exception as e:  # device OOM, XLA errors: recorded, the others go on
            not_run("failed", one_line(e))
            continue
        calls[(variant, name)] = (call.fn, call.args)
        # compile_s counts every compile the method needs (naive_hvp: building H, then H @ v).
        info[(variant, name)] = {**base, "compile_s": call.compile_s, "prepare_s": call.prepare_s,
                                 "compiled_bytes": call.compiled_bytes}
        resident += _bytes(call.state)

    if not calls:
        return rows
    torch_timed = any(variants[variant].is_torch for variant, _ in calls)
    compiled_graphs = torch_peer.compile_count() if torch_timed else 0
    times, positions, outputs = time_interleaved(
        calls, config.num_runs, warmup=0, order=config.order,
        # Repeat 0 draws the order a single-repeat run always drew: older runs stay reproducible.
        seed=[config.seed, depth, width] + ([repeat] if repeat else []), on_call=report)
    if torch_timed and torch_peer.compile_count() != compiled_graphs:
        raise RuntimeError(f"torch.compile recompiled inside the timed loop at depth {depth}, width {width}")
    outputs = {(variant, name): torch_peer.as_numpy(out) if variants[variant].is_torch else
               flat_output(out, variants[variant].vectors > 1 and METHODS[name].needs_vector)
               for (variant, name), out in outputs.items()}
    checks = check_values(config.dtype, models, runs_as, outputs, x, inputs, blocks)
    for key in calls:
        out = outputs[key]
        health = {"finite": bool(np.isfinite(out).all()), "nonzero": bool((out != 0).any())}
        error, note = checks.get(key, (np.nan, ""))
        status = "wrong" if error > AGREEMENT_RTOL[config.dtype] else "ok"
        rows += [{**info[key], **health, "run_index": i, "order": int(p), "status": status, "time_s": t,
                  "max_rel_error": error, "note": note} for i, (t, p) in enumerate(zip(times[key], positions[key]))]
    return rows


def _as_tree(model: MLP, v):
    """A vector (P,) or a block (k, P) as `model.weight_tree` lays the weights out."""
    return jax.vmap(model.weight_tree)(v) if v.ndim == 2 else model.weight_tree(v)


def _torch_model(config: HVPConfig, sizes: list[int], x, backend: str, variants) -> Any:
    """The PyTorch model with the JAX model's weights; None when no variant is PyTorch's;
    the exception if it cannot be built (its points are then recorded failed)."""
    if not any(variant.is_torch for variant in variants):
        return None
    try:
        if any(variant.torch_mode == "compile" for variant in variants if variant.is_torch):
            torch_peer.reset_compiled()  # each shape compiles afresh
        return torch_peer.TorchMLP(sizes, x, config.batch, torch_peer.torch_device(backend))
    except Exception as e:  # e.g. JAX on a GPU beside a CPU-only torch
        return e


def _torch_item(config: HVPConfig, variant, name: str, peer, v, base: dict, not_run) -> tuple | None:
    """(zero-argument call, its row fields) for a PyTorch (variant, method), warmed up; or
    None after recording it skipped (no equivalent) or failed (e.g. torch.compile cannot).

    compile_s is the first warm-up call for torch-compile (it compiles then), 0 for eager.
    """
    try:
        torch_peer.check_method(name)
    except torch_peer.NoEquivalent as e:
        not_run("skipped", str(e))
        return None
    try:
        if isinstance(peer, Exception):
            raise peer
        call = torch_peer.timed_call(peer, variant, name, v)
        start = time.perf_counter()
        call()  # at least once, so that torch.compile never compiles inside the timed loop
        first_s = time.perf_counter() - start
        for _ in range(config.warmup - 1):
            call()
    except Exception as e:  # torch.compile's unsupported cases, OOM: recorded, the others go on
        not_run("failed", one_line(e))
        return None
    compile_s = first_s if variant.torch_mode == "compile" else 0.0
    return (call, ()), {**base, "compile_s": compile_s, "prepare_s": 0.0, "compiled_bytes": 0}
