"""The scaling report of a run: report.md and its figures, from result files alone.

    from hvp_bench.report import write_report
    write_report("results/hvp_homework_cpu", compare_dir="results/bench_methods_gpu")

Split by concern: `figures` (matplotlib Figures), `tables` (markdown sections),
`interpretation` (generated sentences), `document` (assembling and writing report.md,
keeping the hand-written analysis between HAND_START and HAND_END).
"""

from hvp_bench.report.document import HAND_END, HAND_START, write_report

__all__ = ["HAND_END", "HAND_START", "write_report"]
