"""hvp_bench: what a Hessian-vector product costs as the task's MLP deepens, measured.

The experiment on top of the `secondorder` library: a config (config), one point measured
in a worker process (measure), the sweep runner (sweep), reading a run (rundir), the
analytic cost model (cost_model), fits (scaling, variant_study), tables and figures
(bench_tables, peer_tables, plots, report/), PyTorch beside JAX (torch_peer), commands (cli).
"""
