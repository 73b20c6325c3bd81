#!/usr/bin/env bash
# The tiny workflow through a real SLURM: a single-node slurmctld + slurmd on localhost (Debian's slurm-wlm,
# authenticated by munge), driven by `--profile profiles/slurm` exactly as on a cluster. Checks that every job
# went through sbatch and completed, that the GPU rules asked for a GPU on the GPU partition, and that the
# outputs exist; then shuts the cluster down. Needs root (apt-get, daemons). KEEP=1 keeps the work directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d /tmp/ldmscale-cluster.XXXXXX)
STARTED=()   # pids of the daemons this script started, stopped by the trap
OWN_CONF=()  # configuration files this script wrote, removed by the trap

say() { echo "[cluster-test] $*"; }
fail() { say "FAIL: $*"; exit 1; }

stop_cluster() {
    local code=$?
    trap - EXIT INT TERM
    scancel --full --quiet --partition=cpu,gpu 2>/dev/null || true
    for pid in "${STARTED[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${STARTED[@]}"; do while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done; done
    if [[ $code -ne 0 && -f $WORK/slurmctld.log ]]; then tail -n 30 "$WORK/slurmctld.log" "$WORK/slurmd.log"; fi
    rm -f "${OWN_CONF[@]}"
    [[ ${KEEP:-0} == 1 ]] && say "kept $WORK" || rm -rf "$WORK"
    exit $code
}
trap stop_cluster EXIT INT TERM

# 1. Software: Debian's SLURM and munge, the SLURM executor plugin in the Python environment.
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurm-wlm and munge"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi
"$PYTHON" -c "import snakemake_executor_plugin_slurm" 2>/dev/null \
    || fail "snakemake-executor-plugin-slurm is missing: pip install -e '.[cluster]'"

# 2. munge, as user munge, unless one already answers.
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge /etc/munge
    [[ -s /etc/munge/munge.key ]] || runuser -u munge -- mungekey --create
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do [[ -s /run/munge/munged.pid ]] && break; sleep 0.1; done
    STARTED+=("$(cat /run/munge/munged.pid)")
    munge -n | unmunge >/dev/null || fail "munged does not answer"
fi

# 3. A one-node cluster on localhost: partitions cpu and gpu (the profile's), one (fake) GPU.
# MinJobAge keeps finished jobs visible to scontrol for the checks at the end.
MEM_MB=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
# The configuration goes where every SLURM command looks by default: the executor's job step drops SLURM_CONF
# from the environment of the srun it starts inside each job.
CONF_DIR=/etc/slurm
[[ -e $CONF_DIR/slurm.conf ]] && fail "$CONF_DIR/slurm.conf exists: this test does not replace a real configuration"
mkdir -p "$WORK/state" "$WORK/spool" "$CONF_DIR"
OWN_CONF=("$CONF_DIR/slurm.conf" "$CONF_DIR/gres.conf")
cat > "$CONF_DIR/slurm.conf" <<EOF
ClusterName=ldmscale-test
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=${SLURMCTLD_PORT:-6817}
SlurmdPort=${SLURMD_PORT:-6818}
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
SlurmctldDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=3600
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=$MEM_MB Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes=localhost Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=localhost MaxTime=INFINITE State=UP
EOF
# A GPU counted by GRES only: /dev/null stands in for the device file, nothing runs on it.
echo "NodeName=localhost Name=gpu File=/dev/null" > "$CONF_DIR/gres.conf"

/usr/sbin/slurmctld -D -i >"$WORK/slurmctld.out" 2>&1 &
STARTED+=($!)
/usr/sbin/slurmd -D -N localhost >"$WORK/slurmd.out" 2>&1 &
STARTED+=($!)
for _ in $(seq 60); do
    [[ $(sinfo -h -n localhost -o %t 2>/dev/null | head -1) == idle ]] && break
    sleep 1
done
[[ $(sinfo -h -n localhost -o %t | head -1) == idle ]] || fail "the node did not come up: $(sinfo 2>&1)"
say "cluster up: $(sinfo -h -o '%P %t %G' | tr '\n' ' ')"

# 4. The tiny workflow through the profile. Accounting is off, so status comes from squeue, not sacct.
RUN=$WORK/run
mkdir -p "$RUN"
cp "$ROOT/tests/data/tiny.yaml" "$RUN/config.yaml"
start=$(date +%s)
(cd "$RUN" && "$PYTHON" -m snakemake -s "$ROOT/Snakefile" --configfile config.yaml \
    --profile "$ROOT/profiles/slurm" --slurm-status-command squeue --slurm-no-account \
    --slurm-init-seconds-before-status-checks 2) >"$WORK/snakemake.log" 2>&1 \
    || { tail -n 60 "$WORK/snakemake.log"; fail "snakemake failed"; }
seconds=$(($(date +%s) - start))

# 5. Outputs, and proof that every job went through sbatch, completed, and got the resources the profile asks for.
for f in results/default/summary.parquet results/default/frontier/best_per_budget.csv \
         results/default/frontier/attr_acc__normalised_cost.png; do  # config.yaml: the experiment "default"
    [[ -s $RUN/$f ]] || fail "missing output $f"
done
mapfile -t ids < <(grep -oP 'submitted with SLURM jobid \K[0-9]+' "$WORK/snakemake.log" || true)
planned=$(grep -oP '^total\s+\K[0-9]+' "$WORK/snakemake.log" | head -1)
[[ ${#ids[@]} -gt 0 && ${#ids[@]} -eq $((planned - 1)) ]] \
    || fail "${#ids[@]} SLURM jobs for $planned planned jobs (all but rule all must be submitted)"
gpu_jobs=0
for id in "${ids[@]}"; do
    grep -q "_slurm_rpc_submit_batch_job: JobId=$id " "$WORK/slurmctld.log" \
        && grep -q "_job_complete: JobId=$id done" "$WORK/slurmctld.log" || fail "job $id: not in the slurmctld log"
    info=$(scontrol show job "$id")
    grep -q "JobState=COMPLETED" <<<"$info" || fail "job $id did not complete: $(grep -o 'JobState=[A-Z]*' <<<"$info")"
    rule=$(grep -oP 'Comment=rule_\K\w+' <<<"$info" | sed 's/_wildcards_.*//')
    if [[ $rule =~ ^(generate|profile_latency|image_features|reference_features)$ ]]; then
        grep -q "Partition=gpu" <<<"$info" && grep -qE "TresPerJob=gres[:/]gpu:1" <<<"$info" || fail "GPU job $id ($rule): $info"
        gpu_jobs=$((gpu_jobs + 1))
    else
        grep -q "Partition=cpu" <<<"$info" || fail "job $id ($rule) is not on partition cpu"
    fi
done
say "PASS: ${#ids[@]} jobs through sbatch ($gpu_jobs with --gpus=1 on partition gpu), all completed, in ${seconds}s"
