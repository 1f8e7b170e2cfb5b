"""lr_meta's numbers in README and docs/lr_meta.md, written by code from a task run's files.

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


def _digits(value: float) -> str:
    """Three significant digits, never an exponent for values from 1e-3 to 1e4 (9.38, 0.00472, 3787, 1)."""
    if abs(value - round(value)) < 1e-9 and abs(value) >= 1:
        return f"{value:.0f}"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:#.3g}"


def quadratic_lines(run_dir: str | Path) -> list[str]:
    """docs/lr_meta.md's table of 10-step schedules on the quadratic (quadratic_table.csv), worst loss first;
    the best f(x_10) and the best worst case in bold."""
    run_dir = Path(run_dir)
    import pandas as pd

    table = pd.read_csv(run_dir / "quadratic_table.csv").sort_values("loss", ascending=False)
    config = json.loads((run_dir / "meta.json").read_text())["config"]
    names = {"initial (task's start)": f"initial α0 ~ U[0, {config['alpha_init_high']:g}]",
             "constant 2/(mu+L)": "constant 2/(μ+L)", "Chebyshev": "Chebyshev (1/nodes of [μ, L])",
             "constant 1/L": "constant 1/L", "CG (1/Ritz values)": "CG / 1/Ritz values (optimal for this x0)"}
    lines = ["| schedule | f(x_10) | / optimum | worst case max_λ P(λ)² |", "|---|---|---|---|"]
    for row in table.itertuples():
        steps = f"{config['quad_meta_steps']:,}".replace(",", " ")
        name = names.get(row.schedule) or f"learned (meta-GD, β = {config['quad_beta']:g}, {steps} steps)"
        loss, worst = _digits(row.loss), _digits(row.worst_case_factor)
        loss = f"**{loss}**" if row.loss == table["loss"].min() else loss
        worst = f"**{worst}**" if row.worst_case_factor == table["worst_case_factor"].min() else worst
        lines.append(f"| {name} | {loss} | {_digits(row.ratio_to_optimal)} | {worst} |")
    return lines


def _two(value: float, digits: int = 2) -> str:
    """`digits` significant digits: 0.68, 8.7; an exponent outside [0.1, 1e4): 1.9e-2, 4.9e4."""
    if 0.1 <= abs(value) < 1e4:
        return f"{value:#.{digits}g}".rstrip(".")
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def beta_lines(run_dir: str | Path) -> list[str]:
    """docs/lr_meta.md's table of the β sweep (beta_sweep.csv, float64): L after the first meta-step, the
    final L and the distance to {α_k = 1}, three significant digits; the βs that diverged in one column."""
    import pandas as pd

    sweep = pd.read_csv(Path(run_dir) / "beta_sweep.csv").query("dtype == 'float64'").sort_values("beta")
    ok, diverged = sweep[sweep["status"] == "ok"], sweep[sweep["status"] != "ok"]
    def beta(b: float) -> str:  # 5e-4, 1.5e-2: as short as the config writes it
        mantissa, exponent = f"{b:.1e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"

    head = [beta(b) for b in ok["beta"]]
    rows = {"L after meta-step 1": [_two(v, 3) for v in ok["loss_after_step_1"]],
            "final L": [_two(v, 3) for v in ok["loss"]],
            "distance to {α_k = 1}": [_two(v, 3) for v in ok["distance_to_minimiser_set"]]}
    if len(diverged):
        head.append(f"{beta(diverged['beta'].iloc[0])} … {beta(diverged['beta'].iloc[-1])}")
        first = diverged["loss_after_step_1"]
        rows["L after meta-step 1"].append(f"{_two(first.iloc[0], 3)} … {_two(first.iloc[-1], 3)}")
        rows["final L"].append("diverged")
        rows["distance to {α_k = 1}"].append("")
    lines = ["| β | " + " | ".join(head) + " |", "|---|" + "---|" * len(head)]
    return lines + [f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows.items()]


def norm_lines(run_dir: str | Path) -> list[str]:
    """docs/lr_meta.md's table of ‖∂L/∂θ‖ by horizon T and step multiple m (norms.csv), with the mean loss
    reached at the longest horizon (four significant digits where it is the optimum's, f*)."""
    import pandas as pd

    run_dir = Path(run_dir)
    norms = pd.read_csv(run_dir / "norms.csv")
    optimum = json.loads((run_dir / "summary.json").read_text())["train_optimum_mean"]
    grid = norms.pivot_table(index="horizon", columns="multiple", values="grad_norm")
    multiples = list(grid.columns)
    lines = ["| T | " + " | ".join([f"m = {multiples[0]:g}", *(f"{m:g}" for m in multiples[1:])]) + " |",
             "|---|" + "---|" * len(multiples)]
    lines += [f"| {t} | " + " | ".join(_two(v) for v in row) + " |" for t, row in grid.iterrows()]
    last = norms[norms["horizon"] == norms["horizon"].max()].set_index("multiple")["train_loss"]
    cells = [f"{v:.4f} (= f*)" if i == 0 and abs(v / optimum - 1) < 1e-3 else
             f"{v:.4f}" if abs(v / optimum - 1) < 1e-3 else f"{v:#.3g}" for i, v in enumerate(last[multiples])]
    lines.append(f"| f(w_{int(norms['horizon'].max())}), all draws' mean | " + " | ".join(cells) + " |")
    return lines


if __name__ == "__main__":
    print("\n".join(headline_lines(sys.argv[1])))
