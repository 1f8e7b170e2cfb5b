"""Times SLQ and Hutch++ with the Hessian operator's blocks vmapped or one vector at a time; see curvature/blocks.py.

    python scripts/bench_curvature_blocks.py --config configs/curvature_blocks.toml [--out DIR] [--set key=value]

Writes times.csv (every timed call), summary.csv (median and range per depth, route and
setup; `over_vmap`: the median over the vmapped setup's) and meta.json.
"""

from curvature.blocks import cli

if __name__ == "__main__":
    cli()
