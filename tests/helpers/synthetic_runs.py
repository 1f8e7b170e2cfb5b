"""Synthetic run tables with planted exponents, for the scaling and report tests."""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from hvp_bench.config import FLOOR_METHOD
from hvp_bench.cost_model import predicted_terms
from hvp_bench.rundir import COLUMNS

TINY_RUN = Path(__file__).resolve().parents[1] / "data" / "tiny_run"
DEPTHS = np.linspace(50, 1000, 15, dtype=int)


def synthetic_groups(k: float, sigma: float = 0.1, runs: int = 10, seed: int = 0) -> dict[float, np.ndarray]:
    """t = 1e-6 n^k times lognormal noise, `runs` timed runs at each of the task's depths."""
    rng = np.random.default_rng(seed)
    return {float(n): 1e-6 * n**k * rng.lognormal(0.0, sigma, runs) for n in DEPTHS}


def synthetic_rows(depth_widths, exponents: dict, width_exponents: dict, runs: int = 5,
                   sigma: float = 0.05, scale: float = 1.0, seed: int = 0) -> list[dict]:
    """runs.csv rows with time = scale * 1e-6 * depth^k * (width/4)^kw * noise per method."""
    rng = np.random.default_rng(seed)
    rows = []
    for depth, width in depth_widths:
        for method, k in exponents.items():
            t = scale * 1e-6 * depth**k * (width / 4) ** width_exponents[method] * rng.lognormal(0, sigma, runs)
            params = depth * width * width
            memory = predicted_terms(method, depth, width)["memory"] if method != FLOOR_METHOD else 0
            for i in range(runs):
                rows.append({
                    "depth": depth, "width": width, "method": method, "run_index": i, "status": "ok",
                    "time_s": t[i], "compile_s": 0.5, "prepare_s": 0.0, "params": params, "batch": 1,
                    "dtype": "float32", "variant": "scan", "finite": True, "nonzero": True, "note": "",
                    "predicted_bytes": memory, "compiled_bytes": 2 * memory,
                })
    return rows


def write_run(run_dir: Path, rows: list[dict], depths, widths=(), width_depth=100, name="synthetic", device="cpu"):
    run_dir.mkdir(parents=True)
    extra = [c for c in dict.fromkeys(k for row in rows for k in row) if c not in COLUMNS]  # e.g. repeat
    pd.DataFrame(rows, columns=COLUMNS + extra).to_csv(run_dir / "runs.csv", index=False)
    meta = json.loads((TINY_RUN / "meta.json").read_text())
    meta["config"].update(name=name, depths=[int(d) for d in depths], widths=list(widths), width_depth=width_depth)
    meta["environment"]["device"] = device
    (run_dir / "meta.json").write_text(json.dumps(meta))
    return run_dir


def drifting_repeats(seed: int, repeats: int = 8, depths=np.linspace(50, 1000, 8), runs: int = 5,
                     drift: float = 0.3, noise: float = 0.05, kink: float = 1.0, slope: float = 2e-7,
                     floor: float = 1e-4) -> dict[int, dict[float, np.ndarray]]:
    """repeat -> depth -> (runs,) times of a study repeated in independent processes.

    t = floor + f_r * slope * (n, bent by `kink` above the middle depth) * lognormal(noise):
    each repeat's slope is multiplied by its own drift factor f_r, lognormal with mean 1
    (so the true slope, the mean over repeats, is `slope`). kink = 1: a straight line;
    kink = 0.2: above the middle depth a layer costs a fifth of one below it.
    """
    rng = np.random.default_rng(seed)
    factors = rng.lognormal(-drift**2 / 2, drift, repeats)
    mid = depths[len(depths) // 2]
    layers = np.minimum(depths, mid) + kink * np.maximum(depths - mid, 0)
    times = (floor + factors[:, None] * slope * layers)[:, :, None] * rng.lognormal(0, noise, (repeats, len(depths), runs))
    return {r: {float(n): times[r, j] for j, n in enumerate(depths)} for r in range(repeats)}


def repeated_rows(depths, per_layer: dict[str, float], repeats: int = 6, runs: int = 5, drift: float = 0.3,
                  noise: float = 0.02, floor: float = 1e-4, kink: float = 1.0, dead_from: int | None = None,
                  variant: str = "scan", seed: int = 0) -> list[dict]:
    """runs.csv rows of a depth sweep at width 4 repeated in `repeats` processes (a repeat column).

    t = floor + f_r * per_layer[method] * layers(n) * lognormal(noise), layers bent by
    `kink` above the middle depth (as in drifting_repeats); f_r (lognormal, mean 1) is
    shared by every method of repeat r, as a machine's state is. From depth `dead_from`
    on, every result is dead (nonzero False), as at width 4 with the task's init.
    """
    rng = np.random.default_rng(seed)
    depths = np.asarray(depths)
    mid = depths[len(depths) // 2]
    layers = np.minimum(depths, mid) + kink * np.maximum(depths - mid, 0)
    rows = []
    for r, f in enumerate(rng.lognormal(-drift**2 / 2, drift, repeats)):
        for depth, n in zip(depths, layers):
            for method, cost in per_layer.items():
                t = (floor + f * cost * n) * rng.lognormal(0, noise, runs)
                rows += [{"depth": int(depth), "width": 4, "variant": variant, "method": method, "run_index": i,
                          "status": "ok", "time_s": t[i], "compile_s": 0.5, "params": 16 * int(depth), "batch": 1,
                          "dtype": "float32", "finite": True, "nonzero": dead_from is None or depth < dead_from,
                          "note": "", "repeat": r} for i in range(runs)]
    return rows


PAIRED_DEPTHS = (50, 100, 200, 400)


def paired_rounds(per_layer: dict[tuple[str, str], float], repeats: int = 3, rounds: int = 20, noise: float = 0.0,
                  drift: float = 0.0, seed: int = 0, depths=PAIRED_DEPTHS) -> pd.DataFrame:
    """runs.csv rows: time = 1e-4 + per_layer * depth, times a factor per round shared by every method of the
    round (`drift`) and a factor of each call's own (`noise`)."""
    rng = np.random.default_rng(seed)
    rows = []
    for repeat in range(repeats):
        for depth in depths:
            shared = np.exp(drift * rng.normal(size=rounds))
            for (variant, method), cost in per_layer.items():
                own = np.exp(noise * rng.normal(size=rounds))
                rows += [{"depth": depth, "width": 4, "variant": variant, "method": method, "run_index": i,
                          "status": "ok", "time_s": (1e-4 + cost * depth) * shared[i] * own[i], "repeat": repeat}
                         for i in range(rounds)]
    return pd.DataFrame(rows)
