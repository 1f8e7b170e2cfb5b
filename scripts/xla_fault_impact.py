"""What XLA:CPU's vmapped tanh-JVP fault does to this suite's networks (hvp_bench.xla_fault)."""

from hvp_bench.xla_fault import cli

if __name__ == "__main__":
    cli()
