"""hvp_bench: Hessian-vector product benchmarks on the task's MLP."""
