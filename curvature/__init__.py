"""curvature: trace, diagonal, extreme eigenvalues and spectral density of a loss from HVPs,
each checked against the dense Hessian where it fits, and their cost against depth.

    from curvature import hutchpp, extreme_eigenvalues, slq
    from secondorder import hessian_operator

Library choice. matfree (https://pnkraemer.github.io/matfree/, tested with 0.6.3) was
weighed against writing everything here, estimator by estimator:

- Lanczos: matfree's `decomp.tridiag_sym(reortho="full")` does full
  reorthogonalisation (Gram-Schmidt twice against every earlier vector), runs in one
  `fori_loop` under jit, accepts any `v -> Hv` and has exact gradients if ever needed.
  A hand-written version would be the same 30 lines without the tests matfree has;
  taken (curvature/eigen.py), and checked here against known spectra to 1e-10.
- Hutchinson trace and diagonal, XTrace, XDiag: matfree's `stochtrace` estimators
  vectorise the probes into one batched operator call; XTrace's leave-one-out
  downdating is subtle enough not to rewrite. Taken (curvature/trace.py, diagonal.py).
- SLQ: matfree computes tr f(A) by SLQ but does not return the quadrature nodes and
  weights a density needs; they are eigh of its tridiagonal matrix, written here in a
  few lines on top of its Lanczos (curvature/density.py), tested by the quadrature
  rule's exactness for polynomials of degree <= 2k - 1.
- Hutch++ and power iteration are not in matfree: written here (a dozen lines each),
  tested against dense matrices.

One caveat met on the way: matfree's XTrace vmapped over 200 or more random keys ran for
minutes on XLA:CPU where 100 keys took 30 ms; the runner calls it key by key.

Names load on first use, so `import curvature` (or `curvature.config`) imports no JAX.
"""

from expkit.lazy import lazy_names

_EXPORTS = {
    "trace": ("hutchinson", "hutchpp", "xtrace"),
    "diagonal": ("hutchinson_diagonal", "xdiag"),
    "eigen": ("extreme_eigenvalues", "lanczos", "power_iteration", "ritz_history"),
    "density": ("gaussian_density", "slq", "spectral_measure", "wasserstein1"),
    "problem": ("Problem", "build_problem"),
}
__getattr__, __dir__, __all__ = lazy_names(__name__, _EXPORTS)
