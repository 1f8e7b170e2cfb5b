"""How many HVPs a trustworthy spectral density needs, against exact spectra; see curvature/accuracy_run.py.

    python scripts/run_density_accuracy.py --config configs/density_accuracy.toml [--out DIR] [--set key=value]
"""

from curvature.accuracy_run import cli

if __name__ == "__main__":
    cli()
