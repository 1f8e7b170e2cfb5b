#!/usr/bin/env bash
# The GPU reference runs as one prepared job (for a lent GPU machine, with a CUDA JAX):
#   bash scripts/gpu_runs.sh OUT_DIR [extra run_hvp.py args, e.g. --set num_runs=3]
# Writes OUT_DIR/{gpu.txt, hvp_homework_gpu/, hvp_gpu/} (CSV and JSON only; draw the
# figures afterwards with scripts/plot_hvp.py and scripts/report_hvp.py). Each sweep has
# its own time limit; rows are written as they come, so a cut-off sweep keeps its points.
set -uo pipefail
out=${1:?usage: bash scripts/gpu_runs.sh OUT_DIR [run_hvp.py args]}
shift
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
python=${PYTHON:-python3}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >"$out/gpu.txt" 2>&1 || true
"$python" -c 'import jax; print("jax", jax.__version__, jax.devices())' >>"$out/gpu.txt" 2>&1
status=0
timeout "${HOMEWORK_LIMIT_S:-240}" "$python" scripts/run_hvp.py --config configs/hvp_homework.toml \
    --device gpu --set name=hvp_homework_gpu --out "$out/hvp_homework_gpu" --no-plots "$@" || status=$?
timeout "${GPU_LIMIT_S:-240}" "$python" scripts/run_hvp.py --config configs/hvp_gpu.toml \
    --out "$out/hvp_gpu" --no-plots "$@" || status=$?
exit $status
