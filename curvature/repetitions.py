"""Independent repetitions of one estimator: the rows both studies log for the trace and the diagonal.

Each repetition draws its probes from its own key, so a resumed run repeats exactly what
the uninterrupted one would have drawn. The studies keep the columns of their files.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np


def trace_repetitions(run: Callable[[Any], tuple], keys: Iterable, exact: float) -> list[dict[str, Any]]:
    """One row per key: run(key) -> (estimate, standard error), against the exact trace."""
    rows = []
    for rep, key in enumerate(keys):
        start = time.perf_counter()
        value, sem = (float(a) for a in run(key))
        rows.append({"rep": rep, "estimate": value, "own_sem": sem, "exact": exact,
                     "rel_error": abs(value - exact) / abs(exact), "seconds": round(time.perf_counter() - start, 3)})
    return rows


def diag_repetitions(run: Callable[[Any], Any], keys: Iterable, exact: np.ndarray) -> list[dict[str, Any]]:
    """One row per key: run(key) -> the estimated diagonal (P,), its relative 2-norm error and largest entry error."""
    rows = []
    for rep, key in enumerate(keys):
        start = time.perf_counter()
        est = np.asarray(run(key), np.float64)
        rows.append({"rep": rep, "rel_error": float(np.linalg.norm(est - exact) / np.linalg.norm(exact)),
                     "max_abs_error": float(np.abs(est - exact).max()),
                     "seconds": round(time.perf_counter() - start, 3)})
    return rows


def with_columns(rows: Iterable[dict[str, Any]], columns: Sequence[str], **fixed: Any) -> list[dict[str, Any]]:
    """Each row with the `fixed` fields added, cut to a file's `columns`."""
    return [{c: {**fixed, **row}[c] for c in columns} for row in rows]
