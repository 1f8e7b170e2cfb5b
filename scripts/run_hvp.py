"""Runs an hvp_bench sweep and draws its figures.

    python scripts/run_hvp.py --config configs/hvp_homework.toml [--out DIR] [--set key=value] [--device cpu|gpu]

Re-running the same command resumes: finished points are skipped.
"""

from hvp_bench.cli import config_parser, run_cli
from hvp_bench.config import HVPConfig, load_config


def main() -> int:
    parser = config_parser("Time Hessian-vector products on MLPs of growing depth.")
    parser.add_argument("--device", choices=["auto", "cpu", "gpu"], help="overrides the config's device")
    parser.add_argument("--no-plots", action="store_true", help="skip drawing figures at the end")
    args = parser.parse_args()
    overrides = args.overrides + ([f"device={args.device}"] if args.device else [])
    config = load_config(HVPConfig, args.config, overrides)

    from hvp_bench.plots import plot_run
    from hvp_bench.sweep import format_summary, run_sweep

    out_dir = run_sweep(config, args.out or f"runs/{config.name}")
    print(format_summary(out_dir))
    if not args.no_plots:
        for path in plot_run(out_dir):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    run_cli(main)
