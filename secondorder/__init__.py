"""secondorder: second derivatives of a scalar JAX function, and what they cost.

    from secondorder import MLP, calculate_hessian, naive_hvp, hvp, hessian_operator, time_method

The library every experiment of the suite builds on:
- model (the task's MLP: unrolled, scan and fori forms, loss of a flat parameter vector),
  layers (one layer's formulations), variants (their names), r_operator (the HVP derived
  by hand);
- methods (the dense Hessian, H @ v and every composition of JAX's AD into an HVP, one
  registry; names in method_names), operator (matrix-free Hessian operators, sharded);
- timing (AOT compile, interleaved rounds, transfer guard, dispatch floor, compiled
  memory), memory (predicted bytes of each method).

Names load on first use, so importing the package (or `secondorder.variants`,
`secondorder.method_names`) starts no JAX.
"""

from expkit.lazy import lazy_names

_EXPORTS = {
    "methods": ("REGISTRY", "calculate_hessian", "get_method", "gradient", "hvp", "hvp_fwd_rev",
                "hvp_linearize", "hvp_rev_fwd", "hvp_rev_rev", "linearize_hvp", "naive_hvp"),
    "method_names": ("FLOOR_METHOD", "METHOD_NAMES", "TASK_METHODS"),
    "model": ("MLP", "health"),
    "sizes": ("layer_sizes_for", "num_params"),
    "operator": ("Operator", "dense_operator", "hessian_operator", "make_loss"),
    "r_operator": ("hvp_by_hand",),
    "timing": ("time_method",),
}
__getattr__, __dir__, __all__ = lazy_names(__name__, _EXPORTS)
