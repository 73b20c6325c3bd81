#!/usr/bin/env bash
# The prepared GPU check (docs/gpu.md): one command that fills the GPU tables on a bare device machine.
#
#   workflow/benchmarks/gpu/check.sh [OUT]               # on the device: wheels from .whl/, results into OUT or $OUT
#   workflow/benchmarks/gpu/check.sh --rehearse [OUT]    # every step at toy sizes on CPU (make gpu-rehearse)
#
# It installs the carried wheels into a fresh target directory, then runs each step under its own time budget and
# writes, into OUT: check.log (every step's output), steps.tsv (step, exit status, seconds, budget), env.json,
# pytest.xml, latency.json, overhead.json and tiny-run.tar.gz (the tiny workflow's cost records, scores and logs).
# A step that fails or runs out of time is recorded and the next one runs; the exit status is 1 if any step failed.
# PYTHON (default python3) is the interpreter that holds torch; WHEELS (default .whl) the carried wheels.
set -uo pipefail
cd "$(dirname "$0")/../../.."
ROOT=$PWD
REHEARSE=0
if [[ "${1:-}" == "--rehearse" ]]; then REHEARSE=1; shift; fi
RESULTS=${1:-${OUT:-gpu-check}}
PYTHON=${PYTHON:-python3}
WHEELS=${WHEELS:-.whl}
mkdir -p "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)
LOG=$RESULTS/check.log
STEPS=$RESULTS/steps.tsv
printf 'step\tstatus\tseconds\tbudget_s\n' >"$STEPS"
: >"$LOG"
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
FAILED=0

step() {  # step NAME BUDGET_SECONDS COMMAND...: run it under `timeout`, its output into check.log
    local name=$1 budget=$2 start status
    shift 2
    echo "=== $name (budget ${budget} s): ${*:1:12}" | tee -a "$LOG"
    start=$(date +%s)
    timeout -k 10 "$budget" "$@" >>"$LOG" 2>&1
    status=$?
    printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$(($(date +%s) - start))" "$budget" >>"$STEPS"
    echo "=== $name: exit $status after $(($(date +%s) - start)) s" | tee -a "$LOG"
    [[ $status == 0 ]] || FAILED=1
}

if [[ $REHEARSE == 1 ]]; then
    # toy sizes on CPU: every step and code path once, in about two minutes
    DEVICE=cpu
    # float32: bf16 convolutions on a CPU without AVX-512 BF16 (an AVX2-only EPYC) take seconds each
    FAMILY=(--device cpu --dtype float32 --resolution 64 --widths 32 --batches 1,2 --variant-width 32 --variant-batch 2
        --warmup 1 --repeats 2 --budget 120)
    OVERHEAD=(sd-c64 --device cpu --dtype float32 --resolution 64 --images 4 --batch 2 --steps 2 --guidance 3 --repeats 1)
    BUDGETS=(60 30 120 240 120 300)
    export LDMSCALE_GPU_SLOTS=0  # one fake slot: the GPU slot code runs as it would on one GPU
    # torch.compile becomes a no-op: the compile switches' code paths run, but Inductor on 2 CPU cores would take
    # minutes; the real compilation is the device's (and tests/test_cost_gpu.py's) to check
    export TORCHDYNAMO_DISABLE=1
else
    # the paper's family in bf16 at 512 px (batch 1 and 16); overhead as docs/gpu.md states it
    DEVICE=cuda
    FAMILY=(--device cuda --dtype bfloat16 --resolution 512 --batches 1,16 --budget 140)
    OVERHEAD=(sd-c320 --device cuda --dtype bfloat16 --images 32 --batch 16 --steps 25 --guidance 7.5 --repeats 3)
    BUDGETS=(30 15 90 170 60 100)  # 465 s in all
fi

step install "${BUDGETS[0]}" "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target "$SCRATCH/site" "$WHEELS"/*.whl
export PYTHONPATH=$SCRATCH/site:$ROOT/workflow PATH=$SCRATCH/site/bin:$PATH PYTHONUNBUFFERED=1
export LDMSCALE_GPU_LOCK_DIR=$SCRATCH/gpu-locks

step env "${BUDGETS[1]}" "$PYTHON" workflow/benchmarks/gpu/environment.py "$RESULTS/env.json"

step pytest "${BUDGETS[2]}" "$PYTHON" -m pytest tests/test_cost_gpu.py -p no:cacheprovider -o addopts=-ra \
    --junitxml "$RESULTS/pytest.xml" --basetemp "$SCRATCH/pytest"

step family "${BUDGETS[3]}" "$PYTHON" workflow/benchmarks/gpu/family.py --output "$RESULTS/latency.json" "${FAMILY[@]}"

step overhead "${BUDGETS[4]}" "$PYTHON" workflow/benchmarks/overhead.py "${OVERHEAD[@]}" \
    --output "$RESULTS/overhead.json"

# The tiny workflow under one GPU slot, to every output that needs neither polars nor altair (they do not travel).
TINY=$SCRATCH/tiny
mkdir -p "$TINY"
"$PYTHON" - "$DEVICE" "$REHEARSE" >"$TINY/gpu.yaml" <<'EOF'
import sys, yaml
config = yaml.safe_load(open("tests/data/tiny.yaml"))
config["runtime"] = {"device": sys.argv[1]}
if sys.argv[2] == "1":  # the rehearsal: one model and one guidance scale, 21 jobs rather than 40
    config["models"], config["guidance"] = config["models"][:1], config["guidance"][-1:]
print(yaml.safe_dump(config, sort_keys=False))
EOF
step snakemake "${BUDGETS[5]}" "$PYTHON" -m snakemake -s "$ROOT/Snakefile" --directory "$TINY" \
    --configfile "$TINY/gpu.yaml" --cores all --resources gpu=1 --scheduler greedy \
    --until score profile_latency count_flops
tar -czf "$RESULTS/tiny-run.tar.gz" -C "$TINY" --exclude='*.png' --exclude='*.safetensors' results 2>>"$LOG"

cat "$STEPS"
exit $FAILED
