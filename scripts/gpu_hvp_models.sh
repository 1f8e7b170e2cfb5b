#!/usr/bin/env bash
# The model study (hvp_models) as one prepared job for a machine with a GPU and a CUDA JAX:
#   EXPKIT_GIT_COMMIT=$(git rev-parse HEAD) bash scripts/gpu_hvp_models.sh OUT_DIR [--set key=value ...]
# Writes OUT_DIR/gpu.txt (the GPU, jax and the commit) and OUT_DIR/hvp_models_gpu (the
# study's files, rows written unit by unit) under a time limit of LIMIT_S seconds (default
# 540); a cut-off run keeps its units and the same command resumes it. A copy of the tree
# without .git records the commit it is given (meta.json: git_source "env"). TF32 is off
# (the config's matmul_precision "highest"); XLA allocates on demand, so the compiled
# memory analysis, not a preallocated pool, says what each method needs.
# CONFIG=configs/hvp_models_smoke.toml runs the same job at toy sizes, on a CPU too (CI does).
set -uo pipefail
out=${1:?usage: bash scripts/gpu_hvp_models.sh OUT_DIR [--set key=value ...]}
shift
config=${CONFIG:-configs/hvp_models_gpu.toml}
python=${PYTHON:-python3}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" XLA_PYTHON_CLIENT_PREALLOCATE=false
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "no nvidia-smi"
    "$python" -c 'import jax; print("jax", jax.__version__, jax.devices())'
    echo "commit ${EXPKIT_GIT_COMMIT:-unknown}"
    echo "config $config"
} >"$out/gpu.txt" 2>&1
timeout -k 5 "${LIMIT_S:-540}" "$python" scripts/run_hvp_models.py --config "$config" --out "$out/hvp_models_gpu" "$@"
status=$?
[ $status -eq 124 ] && echo "cut off after ${LIMIT_S:-540} s: the units written are kept; run again to resume"
exit $status
