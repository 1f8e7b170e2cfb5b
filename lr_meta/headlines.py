"""README's headline numbers of a task run, written by code from its summary.json.

    python -m lr_meta.headlines results/lr_meta
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def headline_lines(run_dir: str | Path) -> list[str]:
    """L before and after meta-GD, and the transfer to fresh starting points."""
    run_dir = Path(run_dir)
    s = json.loads((run_dir / "summary.json").read_text())
    t = s["transfer"]
    return [
        f"- L(α) = f(x₁₀) falls from {s['loss_before']:.3g} to {s['loss_after']:.3g} "
        f"({s['improvement_factor']:.3g}× lower) in {s['steps_done']} meta-steps (`{run_dir.as_posix()}`).",
        f"- On {t['draws']} fresh draws of x₀, L(α*)/L(α₀) = {t['ratio_min']:.3g} every time "
        f"(closed form {t['ratio_closed_form']:.3g}): the gain does not depend on x₀.",
    ]


if __name__ == "__main__":
    print("\n".join(headline_lines(sys.argv[1])))
