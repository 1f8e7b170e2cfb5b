#!/usr/bin/env bash
# Every committed hvp_bench CPU reference run, in order, as one job:
#   bash scripts/reference_runs_cpu.sh OUT_ROOT [extra args for every run, e.g. --set num_runs=3]
# Run it from a clean commit on an otherwise idle machine (timings!). Writes
# OUT_ROOT/{hvp_homework_cpu, bench_methods_cpu, hvp_unrolled_vs_scan_cpu, bench_unroll_cpu,
# bench_levers_cpu, bench_widths_cpu, bench_batched_cpu, bench_xla_flags_cpu/*,
# bench_per_layer_cpu, bench_per_layer_deep_cpu} with their figures and tables; about an
# hour on a 2-core CPU. Each run resumes if re-run. The last two are README's per-layer
# table under the protocol (3 repeats each, set in their configs).
set -euo pipefail
out=${1:?usage: bash scripts/reference_runs_cpu.sh OUT_ROOT [args for every run]}
shift
run() { python scripts/run_hvp.py --config "configs/$1.toml" --out "$out/$2" "${@:3}"; }
bench() { python scripts/bench_methods.py --config "configs/$1.toml" --out "$out/$2" "${@:3}"; }
report() { python scripts/report_hvp.py "$out/$1"; }
run hvp_compositions hvp_homework_cpu "$@" && report hvp_homework_cpu
bench bench_methods bench_methods_cpu "$@"
run hvp_unrolled_vs_scan hvp_unrolled_vs_scan_cpu "$@" && report hvp_unrolled_vs_scan_cpu
bench bench_unroll bench_unroll_cpu "$@"
bench bench_levers bench_levers_cpu "$@"
run bench_widths bench_widths_cpu "$@"
bench bench_batched bench_batched_cpu "$@"
bench bench_xla_flags bench_xla_flags_cpu/none "$@"
for flag in xla_cpu_enable_concurrency_optimized_scheduler=true xla_cpu_use_xnnpack=true \
            xla_cpu_use_fusion_emitters=false; do
    name=${flag%%=*}
    bench bench_xla_flags "bench_xla_flags_cpu/$name" --set "name=$name" --set "xla_flags=--$flag" "$@"
done
bench bench_per_layer bench_per_layer_cpu "$@"
bench bench_per_layer_deep bench_per_layer_deep_cpu "$@"
