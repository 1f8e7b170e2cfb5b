"""Writes a run's scaling report: python scripts/report_hvp.py RUN_DIR [--compare OTHER_RUN_DIR]

Reads RUN_DIR/runs.csv and meta.json; writes RUN_DIR/report.md and report_*.png (fits
of time and memory against depth, HVP/gradient ratios, width fits, the comparison).
"""

from hvp_bench.cli import report

if __name__ == "__main__":
    report()
