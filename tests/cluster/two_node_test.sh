#!/usr/bin/env bash
# mtdnn-train on a two-node cluster made of network namespaces (netns_cluster.sh), a tiny
# model on tiny data, dropout off:
#   1. multi-node training: 2 ranks per node, 4 in all, the traffic between the nodes over
#      TCP on the veth link; every rank prints its node and node-local rank, and the final
#      weights equal a 4-rank run on one host within the world-size tolerance;
#   2. node loss: mid-run every process of node2 is killed; the job ends within the deadline
#      plus a margin with a failure status (neither 0 nor 2: one slurm/run-with-requeue.sh
#      requeues, as slurm.train_requeue shows on a real Slurm cluster), and the same command
#      on the remaining node (2 ranks) resumes from the last checkpoint and completes, its
#      weights within the world-size tolerance of the uninterrupted run;
#   3. a stalled rank: rank 3 (node2) is stopped with SIGSTOP and never continued; the job
#      ends with status 86 within the deadline plus a margin, naming rank 3.
# Prints the measured detection times. Needs root, iproute2 and unshare.
#   tests/cluster/two_node_test.sh BIN_DIR REPO_DIR SCRATCH_DIR
set -euo pipefail
probe=mtdnn-probe-$$
if ! ip netns add "$probe" 2>/dev/null; then
  echo "skipped: cannot make network namespaces here (needs root and iproute2)"
  exit 77
fi
ip netns del "$probe"
bin=$(cd "${1:?usage: two_node_test.sh BIN_DIR REPO_DIR SCRATCH_DIR}" && pwd)
repo=$(cd "${2:?}" && pwd)
scratch=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
. "$repo/tests/scripts/toy_data.sh"
. "$here/netns_cluster.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
timeout_s=5
margin_s=20         # the census, MPI_Abort's teardown across nodes, a loaded machine
tolerance_same=1e-5 # the same world size: the same reductions, over another transport
tolerance_world=1e-3  # another world size after the resume: sums rounded in another order
rm -rf "$scratch"
mkdir -p "$scratch"
scratch=$(cd "$scratch" && pwd)
toy_vocab
toy_topic
toy_preprocess 24
toy_bert_config 16
cluster_up "$scratch/cluster"
args=(--data "$scratch/data" --task-def "$scratch/tasks.yml" --bert-config "$scratch/bert.json" --max-seq-len 24
      --batch-size 8 --epochs 1000 --max-steps 1200 --optimizer adamw --lr 1e-3 --dropout 0 --threads 1
      --log-every 100 --eval-every 0 --checkpoint-every 40 --keep-checkpoints 2 --comm-timeout "$timeout_s")
model() { echo "$scratch/$1/model/model.safetensors"; }
seconds_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
# wait_for_step NAME STEP JOB: until NAME's metrics.jsonl has STEP (the job still running).
wait_for_step() {
  for _ in $(seq 600); do
    grep -q "\"step\":$2," "$scratch/$1/metrics.jsonl" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || { cat "$scratch/$1.log"; fail "$1 ended before step $2"; }
    sleep 0.1
  done
  fail "$1 did not reach step $2"
}
# wait_end JOB: seconds until JOB ends (fails after the deadline plus the margin).
wait_end() {
  for _ in $(seq $(((timeout_s + margin_s) * 10))); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  fail "the job still runs $((timeout_s + margin_s)) s later"
}

note "reference: 4 ranks on one host"
mpirun -np 4 --oversubscribe --bind-to none --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo \
  "$bin/mtdnn-train" "${args[@]}" --out "$scratch/one-host" >"$scratch/one-host.log" 2>&1 \
  || { cat "$scratch/one-host.log"; fail "the one-host run failed"; }

note "1. two nodes, 2 ranks each"
tx_before=$(cluster_node2_tx_bytes)
cluster_mpirun 10.77.0.1:2,10.77.0.2:2 4 "$bin/mtdnn-train" "${args[@]}" --out "$scratch/two-nodes" \
  >"$scratch/two-nodes.log" 2>&1 || { cat "$scratch/two-nodes.log"; fail "the two-node run failed"; }
grep 'node-local rank' "$scratch/two-nodes.log" | sed 's/^mtdnn-train: //' | sort
for expect in "rank 0 of 4 on node1: node-local rank 0 of 2" "rank 1 of 4 on node1: node-local rank 1 of 2" \
              "rank 2 of 4 on node2: node-local rank 0 of 2" "rank 3 of 4 on node2: node-local rank 1 of 2"; do
  grep -q "$expect" "$scratch/two-nodes.log" || fail "no line '$expect'"
done
tx=$(( $(cluster_node2_tx_bytes) - tx_before ))
echo "node2 sent $tx bytes over the link"
[ "$tx" -gt 1000000 ] || fail "node2 sent only $tx bytes over TCP: the gradients did not travel between the nodes"
python3 "$here/max_weight_diff.py" "$(model one-host)" "$(model two-nodes)" "$tolerance_same" \
  || fail "two nodes do not give the one-host weights"

note "2. node2 lost mid-run; the same command resumes on node1 with 2 ranks"
cluster_mpirun 10.77.0.1:2,10.77.0.2:2 4 "$bin/mtdnn-train" "${args[@]}" --out "$scratch/lost" \
  >"$scratch/lost.log" 2>&1 &
job=$!
wait_for_step lost 200 "$job"
lost_at=$(date +%s.%N)
for pid in $(cluster_pids 2); do kill -KILL "$pid" 2>/dev/null || true; done
wait_end "$job"
status=0
wait "$job" || status=$?
echo "node2 killed: the job ended $(seconds_since "$lost_at") s later, exit status $status"
case "$status" in 0|2) cat "$scratch/lost.log"; fail "status $status after a node loss: not a failure to requeue" ;; esac
cluster_mpirun 10.77.0.1:2 2 "$bin/mtdnn-train" "${args[@]}" --out "$scratch/lost" --resume auto \
  >"$scratch/resumed.log" 2>&1 || { cat "$scratch/resumed.log"; fail "the resumed run on node1 failed"; }
grep -o 'resuming from .* at step [0-9]*' "$scratch/resumed.log" || fail "the requeued run did not resume"
grep -q 'written by 4 rank(s), resumed on 2' "$scratch/resumed.log" || fail "the resume was not on 2 ranks"
python3 "$here/max_weight_diff.py" "$(model one-host)" "$(model lost)" "$tolerance_world" \
  || fail "the run resumed on node1 does not end at the uninterrupted run's weights"

note "3. rank 3 (node2) stalled with SIGSTOP"
cluster_mpirun 10.77.0.1:2,10.77.0.2:2 4 "$bin/mtdnn-train" "${args[@]}" --out "$scratch/stalled" \
  >"$scratch/stalled.log" 2>&1 &
job=$!
wait_for_step stalled 200 "$job"
stalled=""
for pid in $(cluster_pids 2); do
  tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=3 && stalled=$pid
done
[ -n "$stalled" ] || fail "no process of rank 3 on node2"
kill -STOP "$stalled"
stalled_at=$(date +%s.%N)
wait_end "$job"
status=0
wait "$job" || status=$?
echo "rank 3 stopped: the job ended $(seconds_since "$stalled_at") s later (deadline $timeout_s s), exit status $status"
[ "$status" = 86 ] || { cat "$scratch/stalled.log"; fail "exit status $status, not 86"; }
grep -E "^rank [0-2]: [^:]+: no progress after [0-9.]+ s \(--comm-timeout $timeout_s\); rank 3 did not answer" \
  "$scratch/stalled.log" || { cat "$scratch/stalled.log"; fail "no message naming rank 3"; }
echo PASS
