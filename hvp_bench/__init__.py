"""hvp_bench: Hessian-vector products on the task's MLP, timed honestly.

    from hvp_bench import MLP, calculate_hessian, naive_hvp, hvp

The names below load on first use, so `import hvp_bench.config` (validating a config)
imports neither JAX nor matplotlib.
"""

import importlib

_EXPORTS = {
    "methods": ("REGISTRY", "TASK_METHODS", "calculate_hessian", "get_method", "gradient", "hvp",
                "hvp_fwd_rev", "hvp_linearize", "hvp_rev_fwd", "hvp_rev_rev", "linearize_hvp", "naive_hvp"),
    "model": ("MLP", "health", "layer_sizes_for"),
    "timing": ("time_method",),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"hvp_bench.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'hvp_bench' has no attribute {name!r}")


def __dir__():
    return __all__
