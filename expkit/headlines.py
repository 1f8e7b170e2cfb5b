"""Numbers in prose, written by code: regenerates the headline blocks of Markdown files.

A block is

    <!-- headlines:PACKAGE[.FUNCTION] RUN_DIR -->
    ...lines that FUNCTION(RUN_DIR) returns...
    <!-- /headlines -->

where FUNCTION (default `headline_lines`) lives in `PACKAGE.headlines` (`expkit.driver_runs_lines`
and `expkit.test_tier_lines` are this module's own: the table of the driver's committed runs,
the test tiers' wall time) and reads only the
committed result files under RUN_DIR. tests/test_readme.py fails when a file's text differs
from what the code computes now; this module rewrites them:

    python -m expkit.headlines README.md docs/*.md
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from datetime import datetime
from pathlib import Path

BLOCK = re.compile(r"(<!-- headlines:(\w+)(?:\.(\w+))? (\S+) -->\n)(.*?)(\n?<!-- /headlines -->)", re.S)


HAND_CORRECTED = "provenance corrected by hand after the run"
"""What a page says beside every figure of a run whose meta.json carries a `provenance_note`."""


def hand_corrected(run_dir: str | Path) -> bool:
    """Whether the run's meta.json provenance was corrected by hand (it carries a `provenance_note`)."""
    path = Path(run_dir) / "meta.json"
    return path.is_file() and "provenance_note" in json.loads(path.read_text())


def lines_for(package: str, function: str | None, run_dir: str, root: Path) -> list[str]:
    """What `package.headlines.function` writes for `run_dir` (relative to `root`), marked where the
    run's provenance was corrected by hand."""
    module = importlib.import_module(f"{package}.headlines")
    lines = getattr(module, function or "headline_lines")(root / run_dir)
    if hand_corrected(root / run_dir):
        lines = [*lines, "", f"(`{run_dir}`: {HAND_CORRECTED}; its meta.json's `provenance_note` says how.)"]
    return [line.replace(str(root / run_dir), run_dir) for line in lines]


def blocks(text: str) -> list[tuple[str, str | None, str, str]]:
    """(package, function, run_dir, current text) of every block in `text`."""
    return [(m.group(2), m.group(3), m.group(4), m.group(5)) for m in BLOCK.finditer(text)]


def render(text: str, root: Path) -> str:
    """`text` with every block's lines recomputed from the result files."""
    return BLOCK.sub(lambda m: m.group(1) + "\n".join(lines_for(m.group(2), m.group(3), m.group(4), root))
                     + "\n<!-- /headlines -->", text)


DRIVER_RUNS = {
    "curvature_blocks_cpu": ("`curvature-blocks --config configs/curvature_blocks.toml`",
                             "SLQ and Hutch++ with the operator's blocks vmapped or one vector at a time, 250-1000 layers"),
    "xtrace_bias_cpu": ("`curvature-xtrace-bias --config configs/xtrace_bias.toml`",
                        "XTrace's bias and interval coverage on a matrix of known trace"),
    "density_accuracy_cpu": ("`curvature-density --config configs/density_accuracy.toml`",
                             "how many products a spectral density needs (docs/density_accuracy.md)"),
    "hvp_models_cpu": ("`hvp-models --config configs/hvp_models.toml`",
                       "what an HVP costs on a ResNet, a ViT, a GPT-style decoder and a wide MLP (docs/hvp_models.md)"),
    "hvp_programs_cpu": ("`hvp-programs --config configs/hvp_programs.toml`",
                         "kernels per loop step, flops and bytes per layer of README's per-layer table (docs/speed.md)"),
    "xla_cpu_tanh_jvp": ("`hvp-xla-fault --config configs/xla_cpu_tanh_jvp.toml`",
                         "the XLA:CPU fault's impact: vmapped HVPs and dense Hessians against a long-double witness"),
    "hvp_models_programs_cpu": ("`hvp-models --config configs/hvp_models_programs.toml`",
                                "the same models' compiled programs: transposes, bytes, convolution layouts"),
    "curvature": ("`curvature --config configs/curvature.toml`",
                  "trace, diagonal, top eigenvalues and density of the task's MLP against its dense Hessian (docs/curvature.md)"),
    "curvature_trained": ("`curvature --config configs/curvature_trained.toml`",
                          "Hessian and GGN of a classifier trained on digits, at checkpoints along training "
                          "(docs/curvature_trained.md)"),
    "lr_meta": ("`lr-meta --config configs/lr_meta.toml`",
                "Task 2: ten step sizes tuned by meta-GD, certified, with the β sweep and the quadratic (docs/lr_meta.md)"),
    "lr_meta_horizon": ("`lr-meta --config configs/lr_meta_horizon.toml`",
                        "time and memory of the three hypergradients against the horizon T (docs/lr_meta.md)"),
    "lr_meta_training": ("`lr-meta --config configs/lr_meta_training.toml`",
                         "tuned step-size schedules for logistic regression against baselines (docs/lr_meta.md)"),
}
"""Committed runs of the one study driver (expkit.study): directory under results/ -> (command, what it answers)."""


def driver_runs_lines(results: str | Path) -> list[str]:
    """docs/running.md's table of the committed runs made through the study driver, with their wall time."""
    lines = ["| command | what | committed run, wall time |", "|---|---|---|"]
    for name, (command, what) in DRIVER_RUNS.items():
        meta = json.loads((Path(results) / name / "meta.json").read_text())
        seconds = meta.get("elapsed_s")
        if seconds is None:  # a run from before the study driver: its own start and finish
            seconds = (datetime.fromisoformat(meta["finished"]) - datetime.fromisoformat(meta["started"])).total_seconds()
        took = f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"
        lines.append(f"| {command} | {what} | `results/{name}`, {took}, {meta['environment']['cpu']} "
                     f"({meta['environment']['cpu_count']} cores) |")
    return lines


def test_tier_lines(results: str | Path) -> list[str]:
    """docs/running.md's line on the test tiers' wall time (tests/helpers/time_tiers.py's tiers.json)."""
    import statistics

    made = json.loads((Path(results) / "tiers.json").read_text())
    lines = []
    for tier in dict.fromkeys(run["tier"] for run in made["runs"]):
        walls = sorted(run["wall_s"] for run in made["runs"] if run["tier"] == tier and run["exit"] == 0)
        lines.append(f"`pytest -m {tier}` takes {statistics.median(walls):.0f} s on a {made['host']['cpu_count']}-core "
                     f"{made['host']['cpu']} (median of {len(walls)} runs, {walls[0]:.0f} to {walls[-1]:.0f} s, the "
                     f"whole command; `{Path(results).as_posix()}`, commit {made['git_commit'][:7]}).")
    return lines


def main(paths: list[str]) -> int:
    root = Path.cwd()
    for path in map(Path, paths):
        text = path.read_text()
        new = render(text, root)
        if new != text:
            path.write_text(new)
            print(f"rewrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
