"""Times SLQ and Hutch++ with the Hessian operator's blocks vmapped or one vector at a time.

    python scripts/bench_curvature_blocks.py --out results/curvature_blocks_cpu [--depths 250 500 1000] [--runs 3]

Writes times.csv (every timed call), summary.csv (median and range per depth, route and
setup; `over_vmap`: the median over the vmapped setup's) and meta.json (arguments,
environment with the git commit, load average before and after). curvature/blocks.py says
what is compared.
"""

from curvature.blocks import cli

if __name__ == "__main__":
    cli()
