#!/bin/bash
# Runs a training launch command (srun ... or mpirun ...) inside a Slurm batch job and
# handles preemption and time limits: on SIGUSR1 (from `#SBATCH --signal=B:USR1@N` or
# `scancel --signal=USR1 --batch`) or SIGTERM it forwards SIGUSR1 to the launcher, which
# passes it to every rank; the ranks agree to stop at the next round boundary, write a
# checkpoint and exit with status 85. The job is then requeued (`scontrol requeue`) and,
# when it starts again, mtdnn-train --resume auto continues from that checkpoint.
#
#   slurm/run-with-requeue.sh COMMAND [ARGS...]        (used by slurm/train*.sbatch)
# Environment: MAX_REQUEUES (default 20): stop requeueing after that many restarts.
set -uo pipefail

readonly kStoppedForRequeue=85
restart=${SLURM_RESTART_COUNT:-0}
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
trap 'on_signal SIGUSR1' USR1
trap 'on_signal SIGTERM' TERM

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
log "training failed with exit status $status${stop_reason:+ after $stop_reason}; not requeued (resubmit to resume from the last checkpoint)"
exit "$status"
