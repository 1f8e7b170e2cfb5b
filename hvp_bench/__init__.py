"""hvp_bench: Hessian-vector products on the task's MLP, timed honestly.

    from hvp_bench import MLP, calculate_hessian, naive_hvp, hvp

The names below load on first use, so `import hvp_bench.config` (validating a config)
imports neither JAX nor matplotlib.
"""

from expkit.lazy import lazy_names

_EXPORTS = {
    "methods": ("REGISTRY", "TASK_METHODS", "calculate_hessian", "get_method", "gradient", "hvp",
                "hvp_fwd_rev", "hvp_linearize", "hvp_rev_fwd", "hvp_rev_rev", "linearize_hvp", "naive_hvp"),
    "model": ("MLP", "health", "layer_sizes_for"),
    "timing": ("time_method",),
}
__getattr__, __dir__, __all__ = lazy_names(__name__, _EXPORTS)
