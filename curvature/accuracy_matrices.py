"""The matrices of the density-accuracy study, each as a dense float64 array, and where it came from.

- `digits_<checkpoint>_<hessian|ggn>`: the trained digits classifier's Hessian or
  Gauss-Newton matrix at a checkpoint of a committed trained-network run
  (results/curvature_trained: its config from meta.json, its weights from
  checkpoints.csv), built from products with unit vectors as that study built it.
- `deep_mlp`: the Hessian of the first curvature study's deep MLP (results/curvature:
  its config, at its study depth): mostly exact zeros, a hard case for the bulk.
- `spiked_wishart`: Papyan (2020, Fig. 15a) as curvlinops reproduces it:
  diag(5, 4, 3, 0, ...) + Z Zᵀ / n, Z an n x n standard normal matrix.
- `pareto`: Papyan (2020, Fig. 15b) likewise: Z Zᵀ / (2n), Z n x 2n with i.i.d.
  entries from NumPy's Pareto (Lomax) distribution with a = 1: a spectrum over many
  decades.

Weights and data come from the committed runs, so the matrices are the ones whose exact
spectra those runs hold; the study checks its own eigenvalues against them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from expkit.config import ConfigError, config_from_dict, without_retired

SYNTHETIC = ("spiked_wishart", "pareto")
NAMED = ("deep_mlp", *SYNTHETIC)  # besides digits_<checkpoint>_<matrix>


def checkpoint_matrices(trained_run: str | Path) -> list[str]:
    """The digits matrix names a trained run offers: digits_<checkpoint>_<matrix>."""
    config = run_config(trained_run, "trained")
    return [f"digits_{c}_{m}" for c in config.checkpoint_names for m in config.matrices]


def build(name: str, *, trained_run: str | Path, task_run: str | Path, spiked_dim: int, pareto_dim: int,
          synthetic_seed: int) -> tuple[np.ndarray, dict[str, Any]]:
    """(the dense symmetric matrix (P, P) in float64, facts about its source) of matrix `name`."""
    if name == "spiked_wishart":
        rng = np.random.default_rng(synthetic_seed)
        z = rng.standard_normal((spiked_dim, spiked_dim))
        matrix = z @ z.T / spiked_dim
        matrix[np.arange(3), np.arange(3)] += [5.0, 4.0, 3.0]
        return matrix, {"source": f"Papyan (2020) Fig. 15a, n = {spiked_dim}, seed {synthetic_seed}"}
    if name == "pareto":
        rng = np.random.default_rng(synthetic_seed)
        z = rng.pareto(1.0, (pareto_dim, 2 * pareto_dim))
        return z @ z.T / (2 * pareto_dim), {"source": f"Papyan (2020) Fig. 15b, n = {pareto_dim}, seed {synthetic_seed}"}
    if name == "deep_mlp":
        return _deep(task_run)
    if name.startswith("digits_"):
        return _digits(trained_run, name)
    raise ConfigError(f"unknown matrix {name!r}")


def reference_spectrum(name: str, *, trained_run: str | Path, task_run: str | Path) -> np.ndarray | None:
    """The exact eigenvalues the source run committed for `name` (None for a synthetic matrix)."""
    if name.startswith("digits_"):
        checkpoint, matrix = name.removeprefix("digits_").rsplit("_", 1)
        path = Path(trained_run) / f"spectrum_{checkpoint}_{matrix}.csv"
        return pd.read_csv(path)["eigenvalue"].to_numpy() if path.is_file() else None
    if name == "deep_mlp":
        path = Path(task_run) / "exact.csv"
        return pd.read_csv(path)["eigenvalue"].to_numpy() if path.is_file() else None
    return None


def run_config(run: str | Path, study: str):
    """The config of the curvature run in `run` (its meta.json), of `study` "trained" or "task"."""
    from curvature.config import CurvatureConfig
    from curvature.trained_config import TrainedConfig

    cls = {"trained": TrainedConfig, "task": CurvatureConfig}[study]
    path = Path(run) / "meta.json"
    try:
        raw = json.loads(path.read_text())["config"]
    except (OSError, ValueError, KeyError) as e:
        raise ConfigError(f"{path}: not a curvature run's meta.json ({type(e).__name__})") from None
    if raw.get("study", "task") != study:
        raise ConfigError(f"{run} is a {raw.get('study', 'task')!r} curvature run, not a {study!r} one")
    return config_from_dict(cls, without_retired(cls, raw))


def _digits(trained_run: str | Path, name: str) -> tuple[np.ndarray, dict[str, Any]]:
    import jax.numpy as jnp

    from curvature.digits import load_split
    from curvature.trained_study import Setup

    config = run_config(trained_run, "trained")
    if name not in checkpoint_matrices(trained_run):
        raise ConfigError(f"{trained_run} has no matrix {name!r}; it has {', '.join(checkpoint_matrices(trained_run))}")
    checkpoint, matrix = name.removeprefix("digits_").rsplit("_", 1)
    params = pd.read_csv(Path(trained_run) / "checkpoints.csv")[checkpoint].to_numpy()
    setup = Setup(config, load_split(config.train_images, config.test_images, config.seed))
    dense = setup.dense(matrix, jnp.asarray(params, jnp.float64))
    return (dense + dense.T) / 2, {"source": f"{Path(trained_run).name}: {matrix} at checkpoint {checkpoint}"}


def _deep(task_run: str | Path) -> tuple[np.ndarray, dict[str, Any]]:
    from curvature.problem import build_problem

    config = run_config(task_run, "task")
    problem = build_problem(config, config.study_depth, "float64")
    dense = np.asarray(problem.compile_dense_hessian(config.hessian_block)(), np.float64)
    return (dense + dense.T) / 2, {"source": f"{Path(task_run).name}: Hessian at depth {config.study_depth}"}
