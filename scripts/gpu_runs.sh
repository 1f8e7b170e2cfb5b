#!/usr/bin/env bash
# The GPU reference runs as one prepared job (for a lent GPU machine, with a CUDA JAX):
#   EXPKIT_GIT_COMMIT=$(git rev-parse HEAD) bash scripts/gpu_runs.sh OUT_DIR [extra run_hvp.py args]
# A copy of the tree without .git records the commit it is given (meta.json: git_source
# "env"). Writes OUT_DIR/{gpu.txt, hvp_homework_gpu/, hvp_gpu/, hvp_gpu_batched/,
# hvp_gpu_batched_tf32/} (CSV and JSON only; draw the figures afterwards with
# scripts/plot_hvp.py and scripts/report_hvp.py). Every run is true float32
# (matmul_precision = "highest") except hvp_gpu_batched_tf32, the same sweep with JAX's
# default precision (TF32 on an H100), to show what the default costs or saves. Each
# sweep has its own time limit; rows are written as they come, so a cut-off sweep keeps
# its points.
set -uo pipefail
out=${1:?usage: bash scripts/gpu_runs.sh OUT_DIR [run_hvp.py args]}
shift
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
python=${PYTHON:-python3}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >"$out/gpu.txt" 2>&1 || true
"$python" -c 'import jax; print("jax", jax.__version__, jax.devices())' >>"$out/gpu.txt" 2>&1
echo "commit ${EXPKIT_GIT_COMMIT:-unknown}" >>"$out/gpu.txt"
status=0
run() {  # run LIMIT_S NAME CONFIG [args]
    local limit=$1 name=$2 config=$3
    shift 3
    timeout "$limit" "$python" scripts/run_hvp.py --config "$config" --device gpu --set "name=$name" \
        --out "$out/$name" --no-plots "$@" || status=$?
}
run "${HOMEWORK_LIMIT_S:-200}" hvp_homework_gpu configs/hvp_homework.toml "$@"
run "${GPU_LIMIT_S:-150}" hvp_gpu configs/hvp_gpu.toml "$@"
run "${BATCHED_LIMIT_S:-90}" hvp_gpu_batched configs/hvp_gpu_batched.toml "$@"
run "${BATCHED_LIMIT_S:-90}" hvp_gpu_batched_tf32 configs/hvp_gpu_batched.toml --set matmul_precision=default "$@"
exit $status
