"""Kernels per loop step, flops and bytes per layer of each method's compiled program (hvp_bench.programs)."""

from hvp_bench.programs import cli

if __name__ == "__main__":
    cli()
