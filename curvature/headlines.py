"""README's headline numbers of a curvature run, written by code from its summary.json.

    python -m curvature.headlines results/curvature
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def headline_lines(run_dir: str | Path) -> list[str]:
    """Lanczos's top eigenvalues and Hutch++'s trace against the exact dense Hessian."""
    run_dir = Path(run_dir)
    goals = json.loads((run_dir / "summary.json").read_text())["goals"]
    top, gain = goals["top_k_float64"], goals["hutchpp_gain"]
    return [
        f"- Lanczos finds the top eigenvalues to {top['max_rel_error']:.2g} (relative) of the dense "
        f"Hessian's in {top['hvps']} HVPs, to 1e-6 in {top['hvps_to_1e-6']} (`{run_dir.as_posix()}`).",
        f"- At {gain['budget']} HVPs, Hutch++'s trace is {gain['ratio']:.3g}× more accurate than Hutchinson's.",
    ]


if __name__ == "__main__":
    print("\n".join(headline_lines(sys.argv[1])))
