"""The names of the timed methods, JAX-free so that a config is validated without JAX.

`secondorder.methods.REGISTRY` is built from `METHOD_NAMES` in this order (one list, one
source of truth); a sweep also times `FLOOR_METHOD` at every point.
"""

METHOD_NAMES = (
    "hessian_then_hvp",
    "naive_hvp",
    "hvp_rev_rev",
    "hvp_fwd_rev",
    "hvp_rev_fwd",
    "hvp_linearize",
    "hvp_linearized_apply",
    "hvp_by_hand",
    "gradient",
)
FLOOR_METHOD = "dispatch_floor"
"""Timed at every point beside the configured methods: a trivial call on the same arguments."""
TASK_METHODS = ("hessian_then_hvp", "naive_hvp", "hvp_rev_rev")
"""The task's three timings, in its order: (1) Hessian + H@v, (2) H@v given H, (3) autograd HVP."""
