"""secondorder: second derivatives of any JAX model, what they cost, and curvature from them.

    from secondorder import hvp, hvp_fwd_rev, hessian_operator, top_eigenvalues, trace_estimate

Parameters and vectors are any pytree of arrays (a dict of weights, a flax or equinox
model's parameters, or one flat vector); every function returns the structure it was given.

- products (the dense Hessian, H @ v and every composition of JAX's AD into an HVP, on
  pytrees), methods (each timed method as one object), timing (AOT compile, interleaved
  rounds, transfer guard, compiled memory; a per-call hook), compiled (flops, bytes and
  kernels of a compiled program: a cost without noise);
- operators (the Hessian and the Gauss-Newton matrix of a loss as matrix-free operators,
  with the data batch optionally sharded over devices), dense (the matrix from products),
  lanczos (top eigenvalues, Ritz pairs, power iteration), trace (Hutchinson, Hutch++,
  XTrace, with an interval), diagonal, density (SLQ and deflated SLQ), kpm (the kernel
  polynomial method), density_bounds (how far SLQ can be, a priori and a posteriori),
  wasserstein (W1 and KS between spectra, and trivial baselines);
- the homework's MLP: model, init (the task's weight draw), layers (one layer's
  formulations), sizes, r_operator (its HVP derived by hand).

Names load on first use (PEP 562), so importing the package, `secondorder.methods` or
`secondorder.sizes` starts no JAX. This package imports nothing else of the suite.
"""

from secondorder.lazy import lazy_names

_EXPORTS = {
    "products": ("calculate_hessian", "gradient", "hvp", "hvp_fwd_rev", "hvp_linearize", "hvp_rev_fwd",
                 "hvp_rev_rev", "linearize_hvp", "naive_hvp"),
    "methods": ("METHODS", "FLOOR_METHOD", "METHOD_NAMES", "TASK_METHODS", "Method", "get_method"),
    "model": ("MLP", "health"),
    "sizes": ("layer_sizes_for", "num_params"),
    "r_operator": ("hvp_by_hand",),
    "timing": ("time_method", "time_interleaved", "prepare_call"),
    "compiled": ("compiled_cost", "kernel_count"),
    "operators": ("Operator", "data_mesh", "dense_operator", "ggn_operator", "ggn_product", "hessian_operator",
                  "shard_batch"),
    "dense": ("dense_matrix",),
    "lanczos": ("power_iteration", "ritz_pairs", "top_eigenvalues"),
    "trace": ("TraceEstimate", "trace_estimate"),
    "diagonal": ("diagonal_estimate",),
    "density": ("SpectralDensity", "spectral_density", "spectral_density_history"),
    "kpm": ("kpm_density",),
    "density_bounds": ("a_posteriori_w1", "a_priori_budget", "a_priori_t"),
    "wasserstein": ("gaussian_w1", "ks_distance", "point_mass_w1", "wasserstein1"),
}
__getattr__, __dir__, __all__ = lazy_names(__name__, _EXPORTS)
