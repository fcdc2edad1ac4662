#!/bin/bash
# Runs a training launch command (srun ... or mpirun ...) inside a Slurm batch job and
# keeps it going through preemption, time limits and failures:
#   - on STOP_SIGNAL (USR1 by default; sent by `#SBATCH --signal=B:USR1@N` or
#     `scancel --signal=USR1 --batch`) or SIGTERM it forwards SIGUSR1 to the launcher, which
#     passes it to every rank; the ranks agree to stop at the next round boundary, write a
#     checkpoint and exit with status 85. The job is then requeued (`scontrol requeue`), at
#     most MAX_REQUEUES times;
#   - after a failure (status 86: a collective missed --comm-timeout's deadline, a rank
#     stalled or a node was lost; or any other status but 0, 2 and 85: a crash, a killed
#     rank) the job is requeued too, at most MAX_RESTARTS times in all, counted across
#     requeues in RESTART_STATE;
# and when it starts again, mtdnn-train --resume auto continues from the newest verified
# checkpoint. Status 2 (a usage error) is never retried.
#
#   slurm/run-with-requeue.sh COMMAND [ARGS...]        (used by slurm/train*.sbatch)
# Environment: STOP_SIGNAL (USR1; the signal of the template's --signal=B:...),
# MAX_REQUEUES (20), MAX_RESTARTS (3), RESTART_STATE (the file that counts the failures:
# $SLURM_SUBMIT_DIR/.mtdnn-restarts-$SLURM_JOB_ID).
set -uo pipefail

readonly kStoppedForRequeue=85 kCommTimeout=86 kUsageError=2
restart=${SLURM_RESTART_COUNT:-0}
stop_signal=${STOP_SIGNAL:-USR1}
stop_signal=${stop_signal#SIG}
restart_state=${RESTART_STATE:-${SLURM_SUBMIT_DIR:-.}/.mtdnn-restarts-${SLURM_JOB_ID:-local}}
log() { echo "[run-with-requeue $(date -u +%FT%TZ)] job ${SLURM_JOB_ID:-?}: $*"; }

log "start (restart count $restart): $*"
"$@" &
child=$!
stop_reason=""
on_signal() {
  stop_reason=$1
  log "$1 received: asking the ranks to checkpoint and stop"
  kill -USR1 "$child" 2>/dev/null || true
}
trap "on_signal SIG$stop_signal" "$stop_signal"
[ "$stop_signal" = TERM ] || trap 'on_signal SIGTERM' TERM

requeue() {
  # Let Slurm finish tearing down the step first (bounded): a restarted job whose new step
  # meets the old one's PMIx socket fails to launch.
  for _ in $(seq 60); do
    # numbered steps only: the batch and extern steps live as long as this script
    squeue -h -s -j "$SLURM_JOB_ID" -o %i 2>/dev/null | grep -Eq '\.[0-9]+$' || break
    sleep 0.5
  done
  scontrol requeue "$SLURM_JOB_ID"
}

# bash runs traps between commands: `wait` returns early when one arrives, so wait until
# the launcher has really ended.
while :; do
  wait "$child"
  status=$?
  kill -0 "$child" 2>/dev/null || break
done

if [ "$status" -eq 0 ]; then
  log "training finished"
  exit 0
fi
if [ "$status" -eq "$kStoppedForRequeue" ]; then
  if [ "$restart" -ge "${MAX_REQUEUES:-20}" ]; then
    log "stopped with a checkpoint after ${stop_reason:-a stop request}, but the job was already requeued $restart times (MAX_REQUEUES); resubmit to continue"
    exit 1
  fi
  log "stopped with a checkpoint after ${stop_reason:-a stop request}; requeueing (restart $((restart + 1)))"
  requeue
  exit 0
fi
if [ -n "$stop_reason" ] && [ "$status" -gt 128 ] && [ "$restart" -lt "${MAX_REQUEUES:-20}" ]; then
  # The ranks ended on a signal after a stop request: it reached them before they could
  # handle it (while they were starting) or Slurm ended the step. Checkpoints are
  # complete-or-nothing, so the job continues from the last one.
  log "the ranks ended with status $status after $stop_reason, before writing a checkpoint; requeueing to continue from the last one (restart $((restart + 1)))"
  requeue
  exit 0
fi
if [ "$status" -ne "$kUsageError" ]; then
  failures=$(cat "$restart_state" 2>/dev/null || echo 0)
  case "$status" in
    "$kCommTimeout") what="a collective missed its deadline (--comm-timeout): a rank stalled or was cut off" ;;
    *) what="training failed with exit status $status" ;;
  esac
  if [ "$failures" -lt "${MAX_RESTARTS:-3}" ]; then
    echo $((failures + 1)) >"$restart_state"
    log "$what; requeueing to resume from the last checkpoint (failure restart $((failures + 1)) of ${MAX_RESTARTS:-3})"
    requeue
    exit 0
  fi
  log "$what; not requeued: the job already restarted $failures time(s) after failures (MAX_RESTARTS ${MAX_RESTARTS:-3}; $restart_state counts them)"
  exit "$status"
fi
log "training failed with exit status $status (a usage error); not requeued"
exit "$status"
