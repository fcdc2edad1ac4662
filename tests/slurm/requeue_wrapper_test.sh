#!/usr/bin/env bash
# slurm/run-with-requeue.sh's decisions without a cluster: `scontrol` and `squeue` are
# stand-ins on PATH that record the requeues. Checks that
#   1. a failure (status 86, a missed --comm-timeout deadline; or a crash, status 1) is
#      requeued at most MAX_RESTARTS times, counted across "requeues" in RESTART_STATE, and
#      the attempt after the last one exits with the failure's status;
#   2. a usage error (status 2) is never requeued;
#   3. STOP_SIGNAL=USR2: the wrapper takes USR2 (not USR1) as the stop request, forwards
#      SIGUSR1 to the command, and requeues after its checkpointed stop (status 85).
#   tests/slurm/requeue_wrapper_test.sh REPO_DIR SCRATCH_DIR
set -euo pipefail
repo=$(cd "${1:?usage: requeue_wrapper_test.sh REPO_DIR SCRATCH_DIR}" && pwd)
scratch=${2:?usage: requeue_wrapper_test.sh REPO_DIR SCRATCH_DIR}
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$scratch" && mkdir -p "$scratch/bin"
printf '#!/bin/sh\necho "$*" >>"%s/requeues"\n' "$scratch" >"$scratch/bin/scontrol"
printf '#!/bin/sh\nexit 0\n' >"$scratch/bin/squeue"
chmod +x "$scratch/bin/scontrol" "$scratch/bin/squeue"
export PATH="$scratch/bin:$PATH" SLURM_JOB_ID=4242 RESTART_STATE="$scratch/restarts" MAX_RESTARTS=3
wrapper=$repo/slurm/run-with-requeue.sh
requeues() { cat "$scratch/requeues" 2>/dev/null | wc -l; }

# 1. Failures: three restarts, then the status itself.
for attempt in 1 2 3; do
  status=0
  SLURM_RESTART_COUNT=$((attempt - 1)) bash "$wrapper" bash -c 'exit 86' >"$scratch/attempt$attempt.log" 2>&1 || status=$?
  [ "$status" = 0 ] || { cat "$scratch/attempt$attempt.log"; fail "attempt $attempt: status $status, not 0 (requeued)"; }
  grep -q "missed its deadline.*failure restart $attempt of 3" "$scratch/attempt$attempt.log" \
    || { cat "$scratch/attempt$attempt.log"; fail "attempt $attempt: no requeue after status 86"; }
done
[ "$(requeues)" = 3 ] || fail "$(requeues) requeues after 3 failures"
status=0
bash "$wrapper" bash -c 'exit 1' >"$scratch/attempt4.log" 2>&1 || status=$?
[ "$status" = 1 ] || { cat "$scratch/attempt4.log"; fail "the fourth failure exited $status, not 1"; }
grep -q "not requeued: the job already restarted 3 time(s)" "$scratch/attempt4.log" || fail "no message at the bound"
[ "$(requeues)" = 3 ] || fail "requeued beyond MAX_RESTARTS"

# 2. A usage error is not retried.
rm -f "$scratch/restarts" "$scratch/requeues"
status=0
bash "$wrapper" bash -c 'exit 2' >"$scratch/usage.log" 2>&1 || status=$?
[ "$status" = 2 ] && [ "$(requeues)" = 0 ] || { cat "$scratch/usage.log"; fail "a usage error was requeued"; }

# 3. STOP_SIGNAL=USR2: USR1 reaches the command, which stops "with a checkpoint" (85).
cat >"$scratch/trainer.sh" <<'SH'
trap 'echo got USR1; exit 85' USR1
trap 'echo got USR2; exit 99' USR2
touch "$1/started"
for _ in $(seq 300); do sleep 0.1; done
exit 3
SH
STOP_SIGNAL=USR2 bash "$wrapper" bash "$scratch/trainer.sh" "$scratch" >"$scratch/signal.log" 2>&1 &
wrapped=$!
for _ in $(seq 100); do [ -f "$scratch/started" ] && break; sleep 0.1; done
kill -USR2 "$wrapped"
status=0
wait "$wrapped" || status=$?
[ "$status" = 0 ] || { cat "$scratch/signal.log"; fail "STOP_SIGNAL=USR2: status $status"; }
grep -q "SIGUSR2 received" "$scratch/signal.log" && grep -q "got USR1" "$scratch/signal.log" \
  && grep -q "stopped with a checkpoint after SIGUSR2; requeueing" "$scratch/signal.log" \
  || { cat "$scratch/signal.log"; fail "STOP_SIGNAL=USR2 was not forwarded as USR1 and requeued"; }
[ "$(requeues)" = 1 ] || fail "no requeue after the checkpointed stop"
echo PASS
