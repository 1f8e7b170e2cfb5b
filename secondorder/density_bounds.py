"""How far SLQ can be from the spectrum: the a-priori bound of Chen, Trogdon & Ubaru, and an a-posteriori one.

    >>> round(a_priori_t(steps=160, probes=10, size=5962), 4)
    0.0752

A-priori (T. Chen, T. Trogdon, S. Ubaru, "Analysis of stochastic Lanczos quadrature for
spectrum approximation", ICML 2021, arXiv:2105.06595, abstract and Theorem 1): for an
n x n symmetric A, SLQ with ⌈12 t⁻¹ + ½⌉ Lanczos steps on each of
⌈4 (n + 2)⁻¹ t⁻² ln(2n η⁻¹)⌉ probes drawn uniformly from the unit sphere is within W1
t (λmax − λmin) of the spectral measure with probability at least 1 − η. Read backwards,
a budget of k steps and n_v probes guarantees t = max(12 / (k − ½), sqrt(4 ln(2n/η) /
((n + 2) n_v))). The theorem is for sphere probes; the library draws Rademacher probes,
whose weights (vᵀu)²/n have variance 2(1 − Σ u_i⁴)/n² against the sphere's ≈ 2/n², never
more (a heuristic reason, not a proof, that the bound carries over).

A-posteriori, computable from the run: each probe's Gauss rule (nodes θ_j, weights ω_j)
brackets the CDF Ψ of the probe's own weighted measure by the Chebyshev-Markov-Stieltjes
inequalities, Σ_{i<j} ω_i ≤ Ψ(θ_j − 0) ≤ Ψ(θ_j + 0) ≤ Σ_{i≤j} ω_i (e.g. Karlin & Studden,
"Tchebycheff systems", 1966, Ch. III). Between consecutive nodes the rule's CDF is then
within max(ω_j, ω_{j+1}) of Ψ, so

    W1(Ψ, rule) ≤ ω_1 (θ_1 − λmin) + Σ_j max(ω_j, ω_{j+1}) (θ_{j+1} − θ_j) + ω_k (λmax − θ_k).

W1 is convex, so the average over probes bounds the quadrature part of SLQ's error; the
sampling part (the probes' weighted measures against the spectrum) is taken from the
a-priori bound's probe term. This is the structure of the paper's a-posteriori bound
(its Section 4), written out here; it is not claimed to be the paper's exact formula.
"""

from __future__ import annotations

import math

import numpy as np


def steps_term(steps: int) -> float:
    """The t that `steps` Lanczos steps guarantee: 12 / (k − ½)."""
    return 12.0 / (steps - 0.5)


def probes_term(probes: int, size: int, eta: float = 0.05) -> float:
    """The t that `probes` probes guarantee for an n x n matrix: sqrt(4 ln(2n/η) / ((n + 2) n_v))."""
    return math.sqrt(4.0 * math.log(2.0 * size / eta) / ((size + 2) * probes))


def a_priori_t(steps: int, probes: int, size: int, eta: float = 0.05) -> float:
    """W1 ≤ t (λmax − λmin) with probability ≥ 1 − η at this budget (Chen, Trogdon, Ubaru 2021)."""
    return max(steps_term(steps), probes_term(probes, size, eta))


def a_priori_budget(t: float, size: int, eta: float = 0.05) -> tuple[int, int]:
    """(Lanczos steps, probes) the theorem asks for to guarantee W1 ≤ t (λmax − λmin)."""
    return math.ceil(12.0 / t + 0.5), math.ceil(4.0 * math.log(2.0 * size / eta) / ((size + 2) * t * t))


def quadrature_w1_bound(nodes: np.ndarray, weights: np.ndarray, lower: float, upper: float) -> float:
    """W1 between a probe's weighted spectral measure and its Gauss rule, bounded from the rule alone.

    Args:
      nodes, weights: (k,) one probe's Gauss rule (weights summing to 1).
      lower, upper: an interval that holds the spectrum.
    """
    order = np.argsort(nodes)
    theta, omega = np.asarray(nodes, np.float64)[order], np.asarray(weights, np.float64)[order]
    inner = np.sum(np.maximum(omega[:-1], omega[1:]) * np.diff(theta))
    return float(omega[0] * max(theta[0] - lower, 0.0) + inner + omega[-1] * max(upper - theta[-1], 0.0))


def a_posteriori_w1(nodes: np.ndarray, weights: np.ndarray, lower: float, upper: float, size: int,
                    eta: float = 0.05) -> float:
    """A bound on plain SLQ's W1 from its per-probe rules: the mean quadrature bound plus the probe term.

    Args:
      nodes, weights: (probes, k) each probe's Gauss rule (each row of weights sums to 1).
      lower, upper: an interval that holds the spectrum; size: n.
    """
    quadrature = np.mean([quadrature_w1_bound(n, w, lower, upper) for n, w in zip(nodes, weights)])
    return float(quadrature + probes_term(len(nodes), size, eta) * (upper - lower))
