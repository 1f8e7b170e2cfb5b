"""Is matfree's XTrace unbiased, and does its own interval cover? Many repetitions on a matrix of known trace.

    curvature-xtrace-bias --config configs/xtrace_bias.toml --out runs/xtrace_bias

Why: in the trained-network study's first run, one XTrace interval (of 12) missed the
exact trace by 4.1 standard errors. Here a symmetric `size` x `size` matrix with a
decaying spectrum (5 outliers, then a power-law tail, like a trained network's GGN) gets
`repetitions` independent XTrace estimates of `samples` Gaussian samples each (twice as
many products), with and without matfree's resphering, in float64. Each repetition's key
is the i-th of `jax.random.split(PRNGKey(seed), repetitions)`, so a resumed run draws
what an uninterrupted one would. A study of the one driver (expkit.study): units are
chunks of repetitions; xtrace_bias.csv holds every estimate, summary.json the mean − truth
in standard errors of the mean, the spread, and matfree's own standard error.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from expkit.config import Config, key, load_config
from expkit.results import write_json_atomic
from expkit.study import Unit, study_cli

COLUMNS = ["resphering", "rep", "estimate", "own_sem"]


@dataclasses.dataclass(frozen=True)
class XTraceBiasConfig(Config):
    name: str = key("xtrace_bias", name=True)
    size: int = key(1000, ge=10)        # the matrix's dimension
    matrix_seed: int = key(0, ge=0)     # its random rotation
    repetitions: int = key(1500, ge=2)  # independent estimates per setting
    samples: int = key(25, ge=2)        # Gaussian samples per estimate (products: twice as many)
    seed: int = key(1, ge=0)            # the estimates' keys
    chunk: int = key(250, ge=1)         # repetitions per unit of work (what a kill can lose)


def eigenvalues(n: int) -> np.ndarray:
    """5 outliers, then the tail 3 k^-1.2: (n,)."""
    return np.concatenate([[40.0, 25.0, 15.0, 8.0, 5.0], 3.0 / np.arange(1, n - 4) ** 1.2])


def known_matrix(n: int, seed: int) -> tuple[np.ndarray, float]:
    """(A (n, n), its trace): a random rotation of `eigenvalues(n)`."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(n, n)))
    lam = eigenvalues(n)
    return (q * lam) @ q.T, float(lam.sum())


class XTraceBias:
    """The study: units `<resphering|plain>/<first repetition>`, each a chunk of estimates."""

    name = "xtrace bias"
    x64 = True
    logs = {"xtrace_bias.csv": COLUMNS}

    def __init__(self, config: XTraceBiasConfig):
        self.config = config
        self._matrix = None
        self._estimate: dict = {}

    def units(self) -> list[Unit]:
        c = self.config
        return [Unit(f"{'resphering' if r else 'plain'}/{start}", label=f"{'resphering' if r else 'plain'}, "
                     f"repetitions {start}-{min(start + c.chunk, c.repetitions) - 1}")
                for r in (True, False) for start in range(0, c.repetitions, c.chunk)]

    def measure(self, unit: Unit, out_dir: Path) -> dict:
        import jax
        import jax.numpy as jnp

        from secondorder.operators import dense_operator
        from secondorder.trace import xtrace

        c = self.config
        setting, start = unit.key.split("/")
        resphering, start = setting == "resphering", int(start)
        if self._matrix is None:
            self._matrix = jnp.asarray(known_matrix(c.size, c.matrix_seed)[0])
        if resphering not in self._estimate:  # jitted once per setting, not per chunk
            self._estimate[resphering] = jax.jit(lambda a, k: xtrace(dense_operator(a), k, 2 * c.samples, resphering))
        estimate = self._estimate[resphering]
        keys = jax.random.split(jax.random.PRNGKey(c.seed), c.repetitions)
        rows = []
        for i in range(start, min(start + c.chunk, c.repetitions)):
            e, s = (float(x) for x in estimate(self._matrix, keys[i]))
            rows.append({"resphering": resphering, "rep": i, "estimate": e, "own_sem": s})
        return {"xtrace_bias.csv": rows}

    def derive(self, out_dir: Path) -> None:
        write_json_atomic(out_dir / "summary.json", summarise(self.config, pd.read_csv(out_dir / "xtrace_bias.csv")))


def summarise(config: XTraceBiasConfig, rows: pd.DataFrame) -> dict:
    """The exact trace, and per setting: the mean, its distance from the truth in standard errors of the
    mean, the estimates' spread and matfree's mean standard error."""
    trace = float(eigenvalues(config.size).sum())
    summary = {"exact_trace": trace, "repetitions": config.repetitions, "samples": config.samples}
    for resphering, name in ((True, "resphering"), (False, "plain")):
        got = rows[rows["resphering"] == resphering]
        sem = got["estimate"].std(ddof=1) / np.sqrt(len(got))
        summary[name] = {"mean": float(got["estimate"].mean()), "bias_in_sems": float((got["estimate"].mean() - trace) / sem),
                         "sd": float(got["estimate"].std(ddof=1)), "own_sem_mean": float(got["own_sem"].mean())}
    return summary


def cli(argv: list[str] | None = None) -> None:
    """The console command (scripts/run_xtrace_bias.py); exits with its status."""
    study_cli(argv, load=lambda path, overrides: load_config(XTraceBiasConfig, path, overrides), make_study=XTraceBias,
              description="Is matfree's XTrace unbiased, and does its own standard error cover? Many repetitions "
                          "on a matrix of known trace, with and without resphering.",
              examples=["curvature-xtrace-bias --config configs/xtrace_bias.toml --out runs/xtrace_bias"])
