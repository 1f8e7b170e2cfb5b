"""The command behind scripts/run_lr_meta.py (`lr-meta`): every lr_meta study through the one driver.

The config's `study` picks the Study: "task" (lr_meta.task_study: meta-GD on ½‖x‖², its
certificate, the β sweep, the quadratic study), "horizon" or "training" (lr_meta.studies).
The config is loaded and validated, and an existing run directory checked for a matching
config, before anything is created; expkit.study.run_study owns the rest (resuming, the
lock, x64, meta.json, the exit status: 0, 2 for bad input, 3 when a run diverged or its
goals failed after writing everything, 4 when a file could not be written).
"""

from __future__ import annotations

from pathlib import Path

from expkit.cli import EXIT_FAILURES, config_parser, dry_run, run_cli
from expkit.lifecycle import RunRecord
from lr_meta.config import load

# Exit status of a run that diverged (bad input is 2, via run_cli).
EXIT_DIVERGED = EXIT_FAILURES


def make_study(config):
    """The Study of a validated config, by its `study` key."""
    from lr_meta.studies import HorizonStudy, TrainingStudy
    from lr_meta.task_study import TaskStudy

    return {"task": TaskStudy, "horizon": HorizonStudy, "training": TrainingStudy}[config.study](config)


def main(argv: list[str] | None = None) -> int:
    """Parses the command line and runs; returns the exit status (0, or 3 if diverged)."""
    from expkit.study import run_and_report

    parser = config_parser(
        "Tune the T step sizes of gradient descent on ½‖x‖² by meta gradient descent, "
        "certify the result, and compare schedules on ill-conditioned quadratics; with "
        "study = \"horizon\" or \"training\" in the config, time the three hypergradients "
        "against T or tune schedules for logistic regression.",
        ["lr-meta --config configs/lr_meta.toml --out runs/lr_meta",
         "lr-meta --config configs/lr_meta_smoke.toml --set beta=0.01 --set meta_steps=500",
         "lr-meta --config configs/lr_meta_horizon.toml --out runs/lr_meta_horizon",
         "lr-meta --config configs/lr_meta_training.toml --out runs/lr_meta_training"],
    )
    args = parser.parse_args(argv)
    config = load(args.config, args.overrides)
    out = Path(args.out) if args.out else Path("runs") / config.name
    RunRecord.open(out, config)  # another config's directory: refused before --dry-run says yes
    if args.dry_run:
        return dry_run(config, out)
    return run_and_report(make_study(config), config, out, redraw=args.redraw)


def cli(argv: list[str] | None = None) -> None:
    """`main` with one-line errors and exit statuses (scripts/run_lr_meta.py)."""
    run_cli(lambda: main(argv))
