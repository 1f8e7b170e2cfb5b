"""Writes a run's scaling report: python scripts/report_hvp.py RUN_DIR [--compare OTHER_RUN_DIR]

Reads RUN_DIR/runs.csv and meta.json; writes RUN_DIR/report.md and report_*.png (fits
of time and memory against depth, HVP/gradient ratios, width fits, the comparison).
"""

from hvp_bench.cli import run_cli


def main() -> int:
    import argparse

    from hvp_bench.cli import _OneLineParser

    parser = _OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", help="a directory written by scripts/run_hvp.py")
    parser.add_argument("--compare", metavar="OTHER_RUN_DIR", help="another run to compare with (e.g. GPU vs CPU)")
    parser.add_argument("--boot", type=int, default=2000, help="bootstrap resamples for the slope CIs")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    args = parser.parse_args()

    from hvp_bench.report import write_report

    for path in write_report(args.run_dir, args.compare, n_boot=args.boot, seed=args.seed):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    run_cli(main)
