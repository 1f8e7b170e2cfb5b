"""Are a sweep point's values right? Each HVP against single products at the same point.

Why: vmapped, XLA:CPU differentiates the task's tanh GELU wrongly on saturated units
(docs/xla_cpu_tanh_jvp.md), so a block of vectors or a dense Hessian (jax.hessian vmaps)
can be far from the single products of the same network while timing normally. A point
whose values disagree is recorded `wrong` (hvp_bench.measure), not timed.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from jax.flatten_util import ravel_pytree

from expkit.worker import report
from hvp_bench.variants import Variant
from secondorder.layers import vmap_safe
from secondorder.methods import METHODS
from secondorder.model import MLP
from secondorder.products import AGREEMENT_RTOL, hvp_fwd_rev



def model_key(variant: Variant) -> str:
    """The model a formulation runs: variants that differ only in their vectors, or in
    whether the parameters are passed flat or as a pytree, share one; PyTorch's variants
    are checked against the task's network in JAX (the scan form)."""
    return "scan" if variant.is_torch else dataclasses.replace(variant, vectors=1, tree=False).name


def flat_output(out, block: bool) -> np.ndarray:
    """A method's output as NumPy in `get_params` order, (P,), or (k, P) for a block of k
    vectors, whatever pytree it came as."""
    if isinstance(out, jax.Array):
        return np.asarray(out)
    return np.asarray(jax.vmap(lambda o: ravel_pytree(o)[0])(out) if block else ravel_pytree(out)[0])


def function_key(variant: Variant) -> str:
    """The function a formulation computes: every form, product, rule and remat of the same
    GELU computes the same network, and the tanh GELU's logistic form is the same GELU."""
    return vmap_safe("tanh" if variant.is_torch else variant.activation)


def _is_single_product(variant: Variant, name: str) -> bool:
    """A product of one vector, not vmapped: the kind the XLA:CPU fault cannot reach."""
    method = METHODS.get(name)
    return not variant.is_torch and variant.vectors == 1 and method is not None and method.kind == "hvp"


def check_values(dtype: str, models: dict[str, MLP], runs_as: dict[tuple[str, str], Variant],
                 outputs: dict[tuple[str, str], np.ndarray], x, inputs,
                 blocks: dict[int, jax.Array]) -> dict[tuple[str, str], tuple[float, str]]:
    """(max relative error, note) of each timed HVP against single products at this point.

    The reference for a function (`function_key`) and a number of vectors is a timed single
    product of that function (forward-over-reverse if timed, else another composition:
    none is vmapped, so none is open to the XLA:CPU fault), or else forward-over-reverse
    compiled for one vector and called once per vector of the block. The method serving
    as the reference is its own (error 0). The error is max |out - ref| / max |ref| per
    vector, the largest over the block; NaN where the reference is not finite (nothing to
    check); inf where it is 0 and the output is not.

    Args:
      dtype: the sweep's dtype (its tolerance: AGREEMENT_RTOL).
      models: model_key -> the MLP; runs_as: (variant, method) -> the formulation it ran;
      outputs: (variant, method) -> its last output, (P,) or (k, P);
      x, inputs: the point and the data; blocks: k -> the vectors, (k, P).
    """
    # Timed single products are references already: no second compile per formulation.
    single = sorted((key for key in outputs if _is_single_product(runs_as[key], key[1])),
                    key=lambda key: key[1] != "hvp_fwd_rev")
    references: dict[tuple[str, int], np.ndarray] = {}
    for key in single:
        references.setdefault((function_key(runs_as[key]), 1), outputs[key])
    checks = {}
    for (variant, name), out in outputs.items():
        if not METHODS[name].needs_vector:
            continue
        formulation = runs_as[(variant, name)]
        key = (function_key(formulation), formulation.vectors)
        if key not in references:
            report((variant, "reference"))
            block = blocks[key[1]] if key[1] > 1 else blocks[1][0]
            references[key] = _single_products(models[model_key(formulation)], x, inputs, block)
        want = references[key]
        error = _max_rel_error(out.reshape(want.shape), want)
        tol = AGREEMENT_RTOL[dtype]
        note = (f"wrong values: max relative error {error:.2g} > {tol:g} against single "
                f"products ({formulation.activation} GELU)") if error > tol else ""
        checks[(variant, name)] = (error, note)
    return checks


def _single_products(model: MLP, x, inputs, block) -> np.ndarray:
    """H v of `model`'s loss for each row of `block` (k, P) or for `block` (P,), one at a time."""
    single = jax.jit(lambda x, v, inputs: hvp_fwd_rev(lambda p: model.loss(p, inputs), x, v))
    rows = block if block.ndim == 2 else block[None]
    return np.stack([np.asarray(single(x, v, inputs)) for v in rows]).reshape(block.shape)


def _max_rel_error(got: np.ndarray, want: np.ndarray) -> float:
    got, want = np.atleast_2d(got).astype(np.float64), np.atleast_2d(want).astype(np.float64)
    if not np.isfinite(want).all():
        return float("nan")
    if not np.isfinite(got).all():
        return float("inf")
    errors = []
    for g, w in zip(got, want):
        scale = np.abs(w).max()
        errors.append(np.abs(g - w).max() / scale if scale > 0 else (0.0 if not g.any() else float("inf")))
    return float(max(errors))
