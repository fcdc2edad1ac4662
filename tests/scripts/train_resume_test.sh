#!/usr/bin/env bash
# mtdnn-train stop and resume under mpirun, on a tiny model and tiny data (no GLUE needed):
#   1. reference: 2 ranks, uninterrupted;
#   2. the same run, SIGUSR1 to both ranks mid-run: exit status 85 and a committed checkpoint;
#   3. rerun with --resume auto to the end: exit status 0, model/model.safetensors equal to the
#      reference's byte for byte, the same training losses in metrics.jsonl;
#   4. another run with a checkpoint every 10 steps, one rank SIGKILLed at three points (the
#      job must end by itself), resumed each time: the same final model and losses.
# With PYTHON (the project's, with the tensorboard package), TensorBoard's reader checks that
# each resumed run's event files hold exactly its metrics.jsonl, as one run.
#   tests/scripts/train_resume_test.sh BIN_DIR SCRATCH_DIR [PYTHON]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/toy_data.sh"

bin=$(cd "${1:?usage: train_resume_test.sh BIN_DIR SCRATCH_DIR}" && pwd)
scratch=${2:?usage: train_resume_test.sh BIN_DIR SCRATCH_DIR}
python=${3:-}
tensorboard_check() {
  [ -z "$python" ] || "$python" "$(dirname "${BASH_SOURCE[0]}")/tensorboard_check.py" "$scratch/$1" --min-records 100 \
    || fail "TensorBoard event files of $1 differ from its metrics.jsonl"
}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo

rm -rf "$scratch"
toy_vocab
toy_topic
cat >>"$scratch/tasks.yml" <<'YAML'
pair:
  task_type: Classification
  data_format: PremiseAndOneHypothesis
  n_class: 3
  labels: [yes, no, maybe]
  metric_meta: [ACC]
  split_names: [train]
YAML
labels=(yes no maybe)
for i in $(seq 0 29); do
  printf 'p%d\t%s\t%s\t%s\n' "$i" "${labels[$((i % 3))]}" "$(sentence $((i + 3)) $((3 + i % 4)))" "$(sentence $((i + 9)) 3)"
done >"$scratch/in/pair_train.tsv"
toy_preprocess 24
toy_bert_config 16
steps=${MTDNN_RESUME_TEST_STEPS:-3000}
# train NAME [flags...]: mpirun -np 2 mtdnn-train into $scratch/NAME (dropout on: the
# generators must be restored too).
train() {
  local name=$1
  shift
  mpirun -np 2 --oversubscribe --bind-to none "$bin/mtdnn-train" --data "$scratch/data" \
    --task-def "$scratch/tasks.yml" --bert-config "$scratch/bert.json" --max-seq-len 24 --batch-size 4 \
    --epochs 1000 --max-steps "$steps" --optimizer adamw --lr 1e-3 --dropout 0.1 --threads 1 --log-every 5 \
    --eval-every 0 --checkpoint-every "${every:-500}" --keep-checkpoints 2 --out "$scratch/$name" "$@"
}
losses() { grep '"type":"train"' "$scratch/$1/metrics.jsonl" | grep -o '"step":[0-9]*\|"loss":[^,]*\|"lr":[^,]*'; }

note "reference run, $steps steps"
train reference >"$scratch/reference.log" 2>&1 || { cat "$scratch/reference.log"; fail "reference run failed"; }

note "interrupted run"
train interrupted >"$scratch/interrupted.log" 2>&1 &
mpirun_pid=$!
deadline=$((SECONDS + 60))
until grep -q '"step":[0-9]*[05]0,' "$scratch/interrupted/metrics.jsonl" 2>/dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || { kill "$mpirun_pid"; fail "no progress: $(cat "$scratch/interrupted.log")"; }
  sleep 0.05
done
ranks=$(pgrep -f "^$bin/mtdnn-train .*--out $scratch/interrupted" || true)
[ -n "$ranks" ] || { kill "$mpirun_pid"; fail "no mtdnn-train ranks found"; }
# shellcheck disable=SC2086
kill -USR1 $ranks
status=0
wait "$mpirun_pid" || status=$?
[ "$status" -eq 85 ] || { cat "$scratch/interrupted.log"; fail "exit status $status after SIGUSR1, expected 85"; }
latest=$(cat "$scratch/interrupted/checkpoints/latest")
stopped=${latest#ckpt-}
[ -f "$scratch/interrupted/checkpoints/$latest/DONE" ] || fail "no committed checkpoint after the stop"
[ "$stopped" -gt 0 ] && [ "$stopped" -lt "$steps" ] || fail "stopped at step $stopped of $steps: not mid-run"
note "stopped with status 85 at step $stopped, checkpoint $latest"

note "resumed run (--resume auto)"
train interrupted --resume auto >"$scratch/resumed.log" 2>&1 || { cat "$scratch/resumed.log"; fail "resume failed"; }
grep -q "resuming from .*$latest" "$scratch/resumed.log" || fail "did not resume from $latest"
cmp "$scratch/reference/model/model.safetensors" "$scratch/interrupted/model/model.safetensors" \
  || fail "final model after stop and resume differs from the uninterrupted run"
diff <(losses reference) <(losses interrupted) >/dev/null || fail "training records differ after resume"
[ "$(losses reference | wc -l)" -gt 100 ] || fail "too few training records"
tensorboard_check interrupted
note "PASS: stop at step $stopped, resume, final model bit-identical"

# --- 4. SIGKILL: a rank dies at any moment, in a step or in a save ---------------------------
# With a checkpoint every 10 steps a kill often lands while one is being written.
for point in 1 2 3; do
  every=10 train killed >"$scratch/killed-$point.log" 2>&1 &
  mpirun_pid=$!
  target=$((point * steps / 4))
  deadline=$((SECONDS + 120))
  until [ "$(grep -o '"step":[0-9]*' "$scratch/killed/metrics.jsonl" 2>/dev/null | tail -n 1 | cut -d: -f2)" \
          -ge "$target" ] 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || { kill "$mpirun_pid"; fail "no progress: $(cat "$scratch/killed-$point.log")"; }
    sleep 0.05
  done
  victim=$(pgrep -f "^$bin/mtdnn-train .*--out $scratch/killed" | tail -n 1)
  [ -n "$victim" ] || { kill "$mpirun_pid"; fail "no mtdnn-train rank to kill"; }
  kill -9 "$victim"
  # The job must end by itself (mpirun tears down the other rank), not hang.
  for _ in $(seq 600); do kill -0 "$mpirun_pid" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$mpirun_pid" 2>/dev/null; then kill -9 "$mpirun_pid"; fail "the job hung after a rank was killed"; fi
  wait "$mpirun_pid" && fail "the job succeeded although a rank was killed" || true
  note "killed rank $victim at step >= $target; job ended"
done
every=10 train killed --resume auto >"$scratch/killed-resumed.log" 2>&1 \
  || { cat "$scratch/killed-resumed.log"; fail "resume after SIGKILL failed"; }
grep -q "resuming from" "$scratch/killed-resumed.log" || fail "did not resume after SIGKILL"
cmp "$scratch/reference/model/model.safetensors" "$scratch/killed/model/model.safetensors" \
  || fail "final model after SIGKILLs and resumes differs from the uninterrupted run"
diff <(losses reference) <(losses killed) >/dev/null || fail "training records differ after SIGKILLs"
tensorboard_check killed
note "PASS: three SIGKILLs, resumed, final model bit-identical"
