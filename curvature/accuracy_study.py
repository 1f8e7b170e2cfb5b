"""The density-accuracy study as a Study (expkit.study): its units, and how one is measured.

Units, per matrix: `exact/<matrix>` (the dense matrix's eigenvalues, NumPy's LAPACK
`eigvalsh` in float64, checked against the source run's committed spectrum), then
`estimate/<matrix>/<dtype>/<seed>` (every estimator on that matrix rounded to dtype,
one run of the largest budget, read at every smaller one). The estimators are the
library's (secondorder.density, secondorder.kpm) and see only the operator
v -> M v of the dense matrix; every error is measured against the float64 spectrum.

Random keys derive from the config's seed, the matrix's position and the seed index, so
both precisions see the same probes, and a resumed run the same as an uninterrupted one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from curvature.accuracy_config import AccuracyConfig
from expkit.study import Unit
from secondorder.wasserstein import ks_distance, wasserstein1

MATRIX_COLUMNS = ["matrix", "size", "lambda_min", "lambda_max", "spectral_range", "trace", "trace_of_matrix",
                  "reference_max_diff", "point_mass_w1", "gaussian_w1", "negative_fraction", "source"]
ERROR_COLUMNS = ["matrix", "dtype", "estimator", "seed", "probes", "group", "steps", "hvps", "w1", "ks",
                 "top_error", "negative_mass_error", "quadrature_bound"]
# Relative cost of a unit, for the progress bar (about 30 ms a unit on 2 cores): an estimate
# is 3 runs of P^2 x probes x steps flops (/1e9) and 3 compiles, the exact spectrum about
# 12 P^3 (the products that build it and eigvalsh).
_FLOAT32_SPEEDUP = 2.5
_COMPILE = 170.0


class AccuracyStudy:
    """How far SLQ, deflated SLQ and KPM densities are from the exact spectrum, per budget."""

    name = "density accuracy"
    x64 = True
    logs = {"matrices.csv": MATRIX_COLUMNS, "errors.csv": ERROR_COLUMNS}

    def __init__(self, config: AccuracyConfig):
        self.config = config
        self._dense: tuple[str, np.ndarray] | None = None
        self._compiled: dict | None = None

    def units(self) -> list[Unit]:
        c = self.config
        sizes = {m: self._size(m) for m in c.matrices}
        per_probe_step = max(c.probes) * max(c.steps) * len(c.estimators)
        units = []
        for m in c.matrices:  # a matrix's estimates right after its exact unit: its dense matrix is built once
            units.append(Unit(f"exact/{m}", 12 * sizes[m] ** 3 / 1e9, f"{m}: exact spectrum"))
            units += [Unit(f"estimate/{m}/{d}/{s}",
                           _COMPILE + sizes[m] ** 2 * per_probe_step / 1e9 / (_FLOAT32_SPEEDUP if d == "float32" else 1.0),
                           f"{m}: {d}, seed {s}")
                      for d in c.dtypes for s in range(c.seeds)]
        return units

    def measure(self, unit: Unit, out_dir: Path) -> dict[str, Any]:
        kind, matrix, *rest = unit.key.split("/")
        if kind == "exact":
            return self._exact(matrix)
        spectrum = pd.read_csv(out_dir / f"spectrum_{matrix}.csv")["eigenvalue"].to_numpy()
        return {"errors.csv": self._estimate(matrix, rest[0], int(rest[1]), spectrum)}

    def derive(self, out_dir: Path) -> None:
        from curvature.accuracy_plots import draw
        from curvature.accuracy_summary import summarise

        summarise(self.config, out_dir)
        draw(self.config, out_dir)

    # --- the units -------------------------------------------------------------------

    def _size(self, matrix: str) -> int:
        c = self.config
        if matrix == "spiked_wishart":
            return c.spiked_dim
        if matrix == "pareto":
            return c.pareto_dim
        from curvature.accuracy_matrices import run_config

        if matrix == "deep_mlp":
            return run_config(c.task_run, "task").study_params
        return run_config(c.trained_run, "trained").params

    def _matrix(self, matrix: str) -> tuple[np.ndarray, dict[str, Any]]:
        from curvature.accuracy_matrices import build

        c = self.config
        dense, facts = build(matrix, trained_run=c.trained_run, task_run=c.task_run, spiked_dim=c.spiked_dim,
                             pareto_dim=c.pareto_dim, synthetic_seed=c.synthetic_seed)
        self._dense = (matrix, dense)
        return dense, facts

    def _exact(self, matrix: str) -> dict[str, Any]:
        from curvature.accuracy_matrices import reference_spectrum
        from secondorder.wasserstein import gaussian_w1, point_mass_w1

        c = self.config
        dense, facts = self._matrix(matrix)
        ev = np.linalg.eigvalsh(dense)
        reference = reference_spectrum(matrix, trained_run=c.trained_run, task_run=c.task_run)
        spread = ev[-1] - ev[0]
        row = {"matrix": matrix, "size": len(ev), "lambda_min": ev[0], "lambda_max": ev[-1], "spectral_range": spread,
               "trace": ev.sum(), "trace_of_matrix": np.trace(dense),
               "reference_max_diff": np.abs(np.sort(reference) - ev).max() if reference is not None else np.nan,
               "point_mass_w1": point_mass_w1(ev), "gaussian_w1": gaussian_w1(ev, ev.mean(), ev.std()),
               "negative_fraction": np.mean(ev < -c.negative_tol * spread), "source": facts["source"]}
        return {f"spectrum_{matrix}.csv": pd.DataFrame({"index": range(len(ev)), "eigenvalue": ev}),
                "matrices.csv": [row]}

    def _estimate(self, matrix: str, dtype: str, seed: int, spectrum: np.ndarray) -> list[dict[str, Any]]:
        import jax
        import jax.numpy as jnp

        from curvature.routes import study_key
        from secondorder import density, kpm
        from secondorder.operators import dense_operator

        c = self.config
        if self._dense is None or self._dense[0] != matrix:
            self._matrix(matrix)
        a = jnp.asarray(self._dense[1], dtype)
        op = dense_operator(a)
        key = study_key(c.seed, c.matrices.index(matrix), seed)
        probe_key, start_key = jax.random.split(key)
        vectors = jax.random.rademacher(probe_key, (max(c.probes), op.size), dtype=op.dtype)
        v0 = jax.random.normal(start_key, (op.size,), op.dtype)
        steps = [s for s in sorted(c.steps) if s <= op.size - c.deflate]
        routes = self._routes()
        rows = []
        for estimator in c.estimators:
            if estimator == "kpm":
                bounds = routes["bounds"](a, v0)
                moments = np.asarray(routes["moments"](a, vectors, *bounds, num_matvecs=max(steps)))
                for s in steps:
                    for n, g, sub in _subsets(c, np.arange(max(c.probes))):
                        measure = kpm.kpm_measure(moments[sub], bounds, 2 * s, c.kpm_grid)
                        rows.append(self._row(matrix, dtype, estimator, seed, n, g, s, n * s + c.kpm_bound_steps,
                                              measure.nodes, measure.weights, spectrum))
                continue
            if estimator == "slq":
                history, extra = routes["slq"](a, vectors, steps=tuple(steps)), 0
            else:
                tol = c.deflate_tol if dtype == "float64" else c.deflate_tol_float32
                history = routes["deflated_slq"](a, vectors, v0, steps=tuple(steps), tol=tol)
                extra = c.deflate_lanczos_steps
            for s, measure in zip(steps, history):
                measure = density.SpectralDensity(*(np.asarray(t) for t in measure))
                for n, g, sub in _subsets(c, np.arange(max(c.probes))):
                    part = measure.probe_range(int(sub[0]), int(sub[-1]) + 1)
                    bound = _quadrature_bound(part, spectrum) if estimator == "slq" else np.nan
                    rows.append(self._row(matrix, dtype, estimator, seed, n, g, s, n * s + extra, part.nodes,
                                          part.weights, spectrum, bound))
        return rows

    def _routes(self) -> dict:
        """The estimators on a dense matrix, jitted once: compiled once per matrix shape and dtype, not per unit."""
        if self._compiled is None:
            import jax

            from secondorder import density, kpm
            from secondorder.operators import dense_operator

            c = self.config
            self._compiled = {
                "bounds": jax.jit(lambda a, v0: kpm.spectrum_bounds(dense_operator(a), v0, c.kpm_bound_steps)),
                "moments": jax.jit(lambda a, v, lower, upper, num_matvecs: kpm.chebyshev_moments(
                    dense_operator(a), v, num_matvecs, (lower, upper)), static_argnames="num_matvecs"),
                "slq": jax.jit(lambda a, v, steps: density.slq_history(dense_operator(a), v, steps, c.probe_batch),
                               static_argnames="steps"),
                "deflated_slq": jax.jit(lambda a, v, v0, steps, tol: density.deflated_slq_history(
                    dense_operator(a), v, v0, steps, c.deflate, c.deflate_lanczos_steps, tol, c.probe_batch),
                    static_argnames=("steps", "tol")),
            }
        return self._compiled

    def _row(self, matrix, dtype, estimator, seed, n, group, steps, hvps, nodes, weights, spectrum, bound=np.nan):
        c = self.config
        return {"matrix": matrix, "dtype": dtype, "estimator": estimator, "seed": seed, "probes": n, "group": group,
                "steps": steps, "hvps": hvps, **errors(np.asarray(nodes, np.float64), np.asarray(weights, np.float64),
                                                       spectrum, c.top_k, c.negative_tol),
                "quadrature_bound": bound}


def _subsets(config: AccuracyConfig, probes: np.ndarray):
    """(probe count, group, the probes' indices) of every replicate read from one seed's probes."""
    for n, groups in config.groups.items():
        for g in range(groups):
            yield n, g, probes[g * n:(g + 1) * n]


def _quadrature_bound(part, spectrum: np.ndarray) -> float:
    """The mean over probes of the bound on each Gauss rule's W1 to its probe's measure, / range."""
    from secondorder.density_bounds import quadrature_w1_bound

    probe = np.asarray(part.probe)
    ids = np.unique(probe)
    nodes = np.stack([np.asarray(part.nodes)[probe == i] for i in ids])
    weights = np.stack([np.asarray(part.weights)[probe == i] for i in ids])
    weights = weights / weights.sum(axis=1, keepdims=True)
    lower, upper = float(spectrum[0]), float(spectrum[-1])
    return float(np.mean([quadrature_w1_bound(n, w, lower, upper) for n, w in zip(nodes, weights)]) / (upper - lower))


def errors(nodes: np.ndarray, weights: np.ndarray, spectrum: np.ndarray, top_k: int, negative_tol: float) -> dict:
    """How far the measure (nodes, weights) is from the exact spectrum (ascending), relative to its range.

    w1 and ks: W1 / (λmax − λmin) and the Kolmogorov-Smirnov distance. top_error: the
    largest |q_j − λ_j| / range over the top k, q_j the measure's quantile at
    1 − (j − ½)/P (where the density puts eigenvalue j). negative_mass_error: the
    measure's mass below −tol x range less the exact fraction there.
    """
    p, spread = len(spectrum), spectrum[-1] - spectrum[0]
    uniform = np.full(p, 1.0 / p)
    order = np.argsort(nodes)
    cdf = np.cumsum(weights[order]) / weights.sum()
    levels = 1 - (np.arange(1, top_k + 1) - 0.5) / p
    quantiles = nodes[order][np.minimum(np.searchsorted(cdf, levels), len(cdf) - 1)]
    below = -negative_tol * spread
    return {"w1": wasserstein1(nodes, weights, spectrum, uniform) / spread,
            "ks": ks_distance(nodes, weights, spectrum, uniform),
            "top_error": float(np.abs(quantiles - spectrum[::-1][:top_k]).max() / spread),
            "negative_mass_error": float(weights[nodes < below].sum() / weights.sum() - np.mean(spectrum < below))}
