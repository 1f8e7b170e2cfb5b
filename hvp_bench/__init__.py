"""hvp_bench: Hessian-vector products on the task's MLP, timed honestly.

    from hvp_bench import MLP, calculate_hessian, naive_hvp, hvp
"""

from hvp_bench.methods import (
    REGISTRY,
    TASK_METHODS,
    calculate_hessian,
    get_method,
    gradient,
    hvp,
    hvp_fwd_rev,
    hvp_linearize,
    hvp_rev_fwd,
    hvp_rev_rev,
    linearize_hvp,
    naive_hvp,
)
from hvp_bench.model import MLP, health, layer_sizes_for

__all__ = [
    "MLP", "REGISTRY", "TASK_METHODS", "calculate_hessian", "get_method", "gradient", "health",
    "hvp", "hvp_fwd_rev", "hvp_linearize", "hvp_rev_fwd", "hvp_rev_rev", "layer_sizes_for",
    "linearize_hvp", "naive_hvp",
]
