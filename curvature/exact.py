"""The exact answer both studies hold their estimates against: a dense matrix's spectrum, trace and diagonal.

The witness is kept apart from what it checks: the matrix is built from products with
the unit vectors (secondorder.dense, or calculate_hessian for the MLP) and solved by
NumPy's LAPACK `eigvalsh`; the estimators see only the matrix-free operator.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from secondorder.trace import hutchinson_variance


def exact_spectrum(matrix) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """({"eigenvalue": ascending (P,), "diagonal": (P,)}, facts) of a dense symmetric matrix.

    Facts: params, trace (and from the eigenvalues), frobenius, nuclear, the extremes and
    the dominant eigenvalue, the spectral range, the exact variance of one Hutchinson
    probe, and the largest asymmetry relative to max |λ|.
    """
    m = np.asarray(matrix, np.float64)
    ev = np.linalg.eigvalsh(m)
    diag = np.diag(m).copy()
    scale = float(np.abs(ev).max())
    facts = {
        "params": int(m.shape[0]), "trace": float(np.trace(m)), "trace_from_eigenvalues": float(ev.sum()),
        "frobenius": float(np.linalg.norm(m)), "nuclear": float(np.abs(ev).sum()),
        "hutchinson_variance": hutchinson_variance(m, diag),
        "lambda_max": float(ev[-1]), "lambda_min": float(ev[0]),
        "dominant": float(ev[np.argmax(np.abs(ev))]), "spectral_range": float(ev[-1] - ev[0]),
        "max_asymmetry": float(np.abs(m - m.T).max() / scale),
    }
    return {"eigenvalue": ev, "diagonal": diag}, facts
