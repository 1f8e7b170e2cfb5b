"""Dense symmetric test matrices with known spectra, for the curvature tests (NumPy, float64)."""

import numpy as np


def with_spectrum(eigenvalues, seed: int = 0) -> np.ndarray:
    """Q diag(eigenvalues) Qᵀ with Q a random orthogonal matrix: (n, n), exactly symmetric."""
    eigenvalues = np.asarray(eigenvalues, np.float64)
    n = len(eigenvalues)
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(n, n)))
    q = q * np.sign(np.diag(r))
    a = (q * eigenvalues) @ q.T
    return (a + a.T) / 2


def low_rank(n: int, rank: int, seed: int = 0) -> np.ndarray:
    """An indefinite (n, n) matrix of the given rank, eigenvalues ±(1..rank)."""
    values = np.zeros(n)
    values[:rank] = np.arange(1, rank + 1) * (-1.0) ** np.arange(rank)
    return with_spectrum(values, seed)


def separated(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Five well-separated eigenvalues at each end, the bulk uniform in [-5, 5]; dominant -12."""
    bulk = np.linspace(-5.0, 5.0, n - 10)
    values = np.concatenate([[-12.0, -9.5, -9.0, -8.5, -8.0], bulk, [6.0, 7.0, 8.0, 9.0, 10.0]])
    return with_spectrum(values, seed), np.sort(values)
