#!/usr/bin/env bash
# The GPU reference runs as one prepared job (for a machine with a GPU and a CUDA JAX):
#   EXPKIT_GIT_COMMIT=$(git rev-parse HEAD) bash scripts/gpu_runs.sh OUT_DIR [extra args for every run]
# A copy of the tree without .git records the commit it is given (meta.json: git_source
# "env"). Writes, under OUT_DIR, gpu.txt and one directory per run (CSV, JSON, per-layer
# figure), in order of importance, each under its own time limit; rows are written as
# they come, so a cut-off run keeps its points:
#   hvp_gpu_batched, hvp_gpu_batched_tf32   the width sweep at true fp32
#       (matmul_precision = "highest") and at JAX's default precision (TF32 on an H100):
#       what the default costs or saves (issue #9); at 55 s each, the 2026-11-27 H100
#       run reached widths 16 and 1024 in fp32 (16-1024 in TF32), hence 150 s now
#   bench_methods_gpu       every method at 50, 200 and 1000 layers, task and tuned
#                           formulation (the homework's methods, per-layer costs)
#   bench_gpu_levers        scan unrolled 1, 8, 32 times (issue #10)
#   bench_gpu_command_buffer  the same with while loops in CUDA graphs (issue #10)
#   bench_torch_gpu         PyTorch eager beside JAX on the GPU, the task's sizes (issue
#                           #10; needs torch; torch.compile left out: minutes per compile)
#   bench_torch_wide_gpu    the same at width 256, batch 64, where arithmetic dominates
# DEVICE=cpu runs the same job on a CPU, to try it out with small sizes first.
set -uo pipefail
out=${1:?usage: bash scripts/gpu_runs.sh OUT_DIR [extra args for every run]}
shift
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
python=${PYTHON:-python3}
device=${DEVICE:-gpu}
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    "$python" -c 'import jax; print("jax", jax.__version__, jax.devices())'
    "$python" -c 'import torch; print("torch", torch.__version__, torch.version.cuda)'
    echo "commit ${EXPKIT_GIT_COMMIT:-unknown}"
} >"$out/gpu.txt" 2>&1
status=0
job() {  # job LIMIT_S SCRIPT NAME CONFIG [args]
    local limit=$1 script=$2 name=$3 config=$4
    shift 4
    echo "== $name (limit ${limit} s) $(date +%T)"
    timeout -k 5 "$limit" "$python" "scripts/$script.py" --config "configs/$config.toml" --device "$device" \
        --set "name=$name" --out "$out/$name" "$@" || { status=$?; echo "   exit $status"; }
}
cmdbuf="--xla_gpu_enable_command_buffer=FUSION,CUBLAS,CUBLASLT,CUSTOM_CALL,CUDNN,WHILE,CONDITIONAL"
job "${PRECISION_LIMIT_S:-150}" run_hvp hvp_gpu_batched hvp_gpu_batched --no-plots "$@"
job "${PRECISION_LIMIT_S:-150}" run_hvp hvp_gpu_batched_tf32 hvp_gpu_batched --no-plots \
    --set matmul_precision=default "$@"
job "${METHODS_LIMIT_S:-120}" bench_methods bench_methods_gpu bench_methods --set num_runs=10 --set warmup=2 "$@"
job "${LEVERS_LIMIT_S:-100}" bench_methods bench_gpu_levers bench_gpu_levers "$@"
job "${CMDBUF_LIMIT_S:-60}" bench_methods bench_gpu_command_buffer bench_gpu_levers \
    --set "variants=['scan', 'scan-fused-jvp-remat']" --set "xla_flags=$cmdbuf" "$@"
job "${TORCH_LIMIT_S:-70}" bench_methods bench_torch_gpu bench_torch \
    --set "variants=['scan', 'scan-fused-jvp-remat', 'torch', 'torch-func']" "$@"
job "${WIDE_LIMIT_S:-45}" bench_methods bench_torch_wide_gpu bench_torch_wide \
    --set "variants=['scan', 'torch', 'torch-func']" "$@"
exit $status
