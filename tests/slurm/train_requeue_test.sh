#!/usr/bin/env bash
# slurm/train.sbatch on the one-node cluster, the way a cluster user runs it:
#   1. preemption: `scancel --signal=USR1 --batch` mid-run; the job checkpoints, requeues
#      itself (SLURM_RESTART_COUNT=1), resumes and finishes, and its final weights equal an
#      uninterrupted run's bit for bit (same world size, 2 ranks);
#   2. time limit: a job with --time=2 and --signal=B:USR1@45 stops by itself, requeues and
#      completes;
#   3. a rank killed with SIGKILL, restarts after failures off (MAX_RESTARTS=0): the job ends
#      (no hang) and, resubmitted, resumes from the last checkpoint and finishes with the
#      uninterrupted run's final weights;
#   4. a rank killed with SIGKILL, restarts on (the default, 3): the job requeues itself,
#      resumes from the last checkpoint and completes with the uninterrupted run's weights.
#   tests/slurm/train_requeue_test.sh BUILD_DIR [SCRATCH_DIR]
# Exits 77 (skipped) when the GLUE data is absent.
set -euo pipefail

build=$(cd "${1:?usage: train_requeue_test.sh BUILD_DIR [SCRATCH_DIR]}" && pwd)
data=${MTDNN_DATA_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/../shared/data}
if [ ! -f "$data/glue/RTE/train.tsv" ]; then
  echo "SKIP: GLUE data not found at $data (set MTDNN_DATA_DIR)"
  exit 77
fi
scratch=${2:-$build/slurm-train-test}
# shellcheck source=tests/slurm/cluster_lib.sh
source "$(dirname "$0")/cluster_lib.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo

"$build/bin/mtdnn-preprocess" --task-def "$repo/tasks/glue.yml" --input "$data/glue" \
  --vocab "$data/vocab/bert-base-uncased-vocab.txt" --max-seq-len 64 --out "$scratch/data" \
  --tasks rte,mrpc --splits train,dev >/dev/null 2>&1
cat >"$scratch/bert.json" <<'JSON'
{"vocab_size": 30522, "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
 "intermediate_size": 64, "max_position_embeddings": 64}
JSON
# write_config NAME STEPS: an INI file for a run into $scratch/NAME. Epochs are set high so
# that STEPS alone decides the length of the run.
write_config() {
  cat >"$scratch/$1.ini" <<INI
data = $scratch/data
task-def = $repo/tasks/glue.yml
tasks = rte,mrpc
bert-config = $scratch/bert.json
max-seq-len = 64
batch-size = 16
epochs = 1000
max-steps = $2
lr = 1e-3
log-every = 5
checkpoint-every = 25
out = $scratch/$1
INI
}
final_model() { sha256sum "$scratch/$1/model/model.safetensors" | cut -d' ' -f1; }
restarts() { grep -c "restart count" "$1" || true; }

# --- reference: the same training without interruption, 2 ranks ------------------------------
write_config reference 300
mpirun -np 2 --oversubscribe --bind-to none "$build/bin/mtdnn-train" --config "$scratch/reference.ini" \
  >"$scratch/reference.log" 2>&1 || { cat "$scratch/reference.log"; fail "reference run failed"; }
note "reference run done"

# --- 1. preemption via scancel --signal=USR1 --batch ------------------------------------------
write_config preempted 300
job=$(cd "$repo" && slurm sbatch --parsable --ntasks=2 --time=10 --output="$scratch/preempted.out" \
  --export=ALL,CONFIG="$scratch/preempted.ini",MTDNN_BIN="$build/bin" slurm/train.sbatch)
note "submitted training job $job"
deadline=$((SECONDS + 120))
until grep -q '"step":50,' "$scratch/preempted/metrics.jsonl" 2>/dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || fail "job $job made no progress: $(cat "$scratch/preempted.out")"
  sleep 0.5
done
slurm scancel --signal=USR1 --batch "$job"
note "sent USR1 to job $job"
deadline=$((SECONDS + 120))
until [ "$(restarts "$scratch/preempted.out")" -ge 2 ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "job $job was not requeued: $(cat "$scratch/preempted.out")"
  sleep 1
done
state=$(wait_job "$job" 180)
[ "$state" = COMPLETED ] || fail "job $job ended $state: $(cat "$scratch/preempted.out")"
grep -q "restart count 1" "$scratch/preempted.out" || fail "no restart with SLURM_RESTART_COUNT=1"
grep -q "requeueing" "$scratch/preempted.out" || fail "the job did not requeue itself"
[ "$(final_model preempted)" = "$(final_model reference)" ] \
  || fail "final weights after preemption and resume differ from the uninterrupted run"
note "preempted job checkpointed, requeued, resumed and matched the uninterrupted run"

# --- 2. time limit with --signal=B:USR1@45 ----------------------------------------------------
# slurmctld checks time limits every 30 s and sends the warning at the first check that finds
# at most 45 + 30 s left, so with a 2-minute limit each attempt trains 45-75 s. About 100 s of
# training at the fastest speed seen so far (the reference run and the preempted job's
# attempts) needs a requeue or two. (With a limit of 45 + 30 s or less the warning would come
# at the first check of every attempt, and the job would requeue itself without progress
# until MAX_REQUEUES.)
rate=$(cat "$scratch/reference.log" "$scratch/preempted.out" \
  | sed -n 's/.* steps in [0-9.]*s (\([0-9.]*\) steps\/s.*/\1/p' | sort -g | tail -n 1)
timed_steps=$(awk -v r="${rate:-10}" 'BEGIN { s = int(r * 100); print (s < 1000 ? 1000 : s) }')
note "time-limited run: $timed_steps steps (fastest run so far: $rate steps/s)"
write_config timed "$timed_steps"
job=$(cd "$repo" && slurm sbatch --parsable --ntasks=2 --time=2 --signal=B:USR1@45 \
  --output="$scratch/timed.out" \
  --export=ALL,CONFIG="$scratch/timed.ini",MTDNN_BIN="$build/bin" slurm/train.sbatch)
note "submitted time-limited job $job"
deadline=$((SECONDS + 600))
while :; do
  state=$(job_state "$job")
  case "$state" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL) break ;; esac
  [ "$SECONDS" -lt "$deadline" ] || fail "time-limited job $job did not finish: $(cat "$scratch/timed.out")"
  sleep 1
done
[ "$state" = COMPLETED ] || fail "time-limited job $job ended $state: $(cat "$scratch/timed.out")"
grep -q "requeueing" "$scratch/timed.out" || fail "the time-limited job never stopped for a requeue"
note "time-limited job stopped, requeued and completed"

# --- 3. a rank killed with SIGKILL --------------------------------------------------------------
write_config killed 300
submit_killed() {
  (cd "$repo" && slurm sbatch --parsable --ntasks=2 --time=10 --output="$scratch/killed.out" \
    --export=ALL,CONFIG="$scratch/killed.ini",MTDNN_BIN="$build/bin",MAX_RESTARTS=0 slurm/train.sbatch)
}
# kill_rank_after_checkpoint NAME JOB: once run NAME has a checkpoint, SIGKILL one of its ranks.
kill_rank_after_checkpoint() {
  local deadline=$((SECONDS + 120)) victim
  until ls "$scratch/$1/checkpoints"/ckpt-* >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || fail "job $2 wrote no checkpoint: $(cat "$scratch/$1.out")"
    sleep 0.5
  done
  victim=$(pgrep -f "mtdnn-train --config $scratch/$1.ini" | tail -n 1)
  [ -n "$victim" ] || fail "no rank of job $2 to kill"
  kill -9 "$victim"
  note "killed rank process $victim of job $2"
}
job=$(submit_killed)
kill_rank_after_checkpoint killed "$job"
state=$(wait_job "$job" 60)
[ "$state" != COMPLETED ] || fail "job $job completed although a rank was killed"
note "job $job ended $state without hanging"
job=$(submit_killed)
state=$(wait_job "$job" 180)
[ "$state" = COMPLETED ] || fail "resubmitted job $job ended $state: $(cat "$scratch/killed.out")"
grep -q "resuming from" "$scratch/killed.out" || fail "the resubmitted job did not resume from a checkpoint"
[ "$(final_model killed)" = "$(final_model reference)" ] \
  || fail "final weights after a killed rank and a resubmission differ from the uninterrupted run"
note "killed rank without restarts: ended, resubmitted, resumed and matched the uninterrupted run"

# --- 4. a rank killed with SIGKILL, restarts after failures on (default) ------------------------
write_config restarted 300
job=$(cd "$repo" && slurm sbatch --parsable --ntasks=2 --time=10 --output="$scratch/restarted.out" \
  --export=ALL,CONFIG="$scratch/restarted.ini",MTDNN_BIN="$build/bin",RESTART_STATE="$scratch/restarted.restarts" \
  slurm/train.sbatch)
kill_rank_after_checkpoint restarted "$job"
state=$(wait_job "$job" 240)
[ "$state" = COMPLETED ] || fail "job $job ended $state after a killed rank: $(cat "$scratch/restarted.out")"
grep -q "failure restart 1 of 3" "$scratch/restarted.out" || fail "the job did not requeue itself after the failure"
grep -q "resuming from" "$scratch/restarted.out" || fail "the restarted job did not resume from a checkpoint"
[ "$(final_model restarted)" = "$(final_model reference)" ] \
  || fail "final weights after a killed rank and an automatic restart differ from the uninterrupted run"
note "PASS"
