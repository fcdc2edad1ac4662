#!/usr/bin/env bash
# A stalled rank under `mpirun -np 2 mtdnn-train --comm-timeout 3` (tiny model and data):
# mid-run, rank 1 is stopped with SIGSTOP and never continued. Rank 0's wait passes its
# deadline: the job must end, every rank, with exit status 86 within the deadline plus a
# margin, rank 0's message must name the protocol step, the collective and rank 1 as not
# answering, and no rank may be left. The same command with --resume auto then continues
# from the last checkpoint and completes. Prints the measured detection time.
#   tests/scripts/comm_timeout_test.sh BIN_DIR SCRATCH_DIR
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/toy_data.sh"

bin=$(cd "${1:?usage: comm_timeout_test.sh BIN_DIR SCRATCH_DIR}" && pwd)
scratch=${2:?usage: comm_timeout_test.sh BIN_DIR SCRATCH_DIR}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
timeout_s=3
margin_s=20  # start-up of the census, MPI_Abort's teardown of both ranks, a loaded machine

rm -rf "$scratch"
toy_vocab
toy_topic
toy_preprocess 24
toy_bert_config 16
train() {
  mpirun -np 2 --oversubscribe --bind-to none "$bin/mtdnn-train" --data "$scratch/data" \
    --task-def "$scratch/tasks.yml" --bert-config "$scratch/bert.json" --max-seq-len 24 --batch-size 4 \
    --epochs 1000 --max-steps 3000 --optimizer adamw --lr 1e-3 --threads 1 --log-every 10 --eval-every 0 \
    --checkpoint-every 50 --comm-timeout "$timeout_s" --out "$scratch/run" "$@"
}
# The pid of the mtdnn-train process that is rank $1 of this test's job.
rank_pid() {
  local pid
  for pid in $(pgrep -f "mtdnn-train .*--out $scratch/run" || true); do
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1" && { echo "$pid"; return; }
  done
}

note "rank 1 stopped with SIGSTOP mid-run, --comm-timeout $timeout_s"
train --resume never >"$scratch/run.log" 2>&1 &
job=$!
for _ in $(seq 600); do
  grep -q '"step":60,' "$scratch/run/metrics.jsonl" 2>/dev/null && break
  sleep 0.1
done
grep -q '"step":60,' "$scratch/run/metrics.jsonl" || { kill "$job"; cat "$scratch/run.log"; fail "the run did not reach step 60"; }
stalled=$(rank_pid 1)
[ -n "$stalled" ] || { kill "$job"; fail "no process of rank 1"; }
kill -STOP "$stalled"
stopped_at=$(date +%s.%N)
status=0
for _ in $(seq $(( (timeout_s + margin_s) * 10 ))); do
  kill -0 "$job" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$job" 2>/dev/null; then
  kill -KILL "$stalled" 2>/dev/null || true
  kill "$job" 2>/dev/null || true
  cat "$scratch/run.log"
  fail "the job still runs $((timeout_s + margin_s)) s after rank 1 stalled"
fi
wait "$job" || status=$?
ended=$(awk -v a="$stopped_at" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "rank 1 stopped: the job ended $ended s later (deadline $timeout_s s), exit status $status"
[ "$status" = 86 ] || { cat "$scratch/run.log"; fail "exit status $status, not 86"; }
# The control plane's wait ("R4 allreduce") or the gradient thread's ("gradient all-reduce #N").
grep -E "^rank 0: [^:]+: no progress after [0-9.]+ s \(--comm-timeout $timeout_s\); rank 1 did not answer" \
  "$scratch/run.log" || { cat "$scratch/run.log"; fail "no message of rank 0 naming the collective and rank 1"; }
sleep 1
if pgrep -f "mtdnn-train .*--out $scratch/run" >/dev/null; then
  pkill -KILL -f "mtdnn-train .*--out $scratch/run" || true
  fail "a rank was left running"
fi

note "the same command resumes from the last checkpoint"
train --resume auto >"$scratch/resume.log" 2>&1 || { cat "$scratch/resume.log"; fail "the resumed run failed"; }
grep -q 'resuming from .*ckpt-' "$scratch/resume.log" || { cat "$scratch/resume.log"; fail "no resume"; }
echo PASS
