#!/usr/bin/env bash
# --best-metric and --early-stop-patience under mpirun, on tiny data (no GLUE needed):
#   1. a run that learns (its dev rows are training rows), evaluated every 25 steps: best/ holds the evaluation with the
#      highest dev accuracy (the first of equals), as a model folder mtdnn-predict scores the
#      same, with a complete checkpoint mtdnn-ckpt verifies; every evaluation's predictions
#      are kept under predictions/step-<step>/;
#   2. a run that plateaus (learning rate 1e-9), --early-stop-patience 2, --keep-checkpoints 1:
#      it stops by itself at the third evaluation with exit status 0, a final evaluation and
#      a model, and best/ (step 5) outlives retention, which kept only the last checkpoint.
#   tests/scripts/best_checkpoint_test.sh BIN_DIR SCRATCH_DIR
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/toy_data.sh"

bin=$(cd "${1:?usage: best_checkpoint_test.sh BIN_DIR SCRATCH_DIR}" && pwd)
scratch=${2:?usage: best_checkpoint_test.sh BIN_DIR SCRATCH_DIR}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo

rm -rf "$scratch"
toy_vocab
toy_topic
# Dev rows the model can learn (a copy of training rows), so that dev accuracy moves and the
# best evaluation is not simply the first.
head -n 16 "$scratch/in/topic_train.tsv" | sed 's/^t/d/' >"$scratch/in/topic_dev.tsv"
toy_preprocess 16
toy_bert_config 16
train() {
  local name=$1
  shift
  mpirun -np 2 --oversubscribe --bind-to none "$bin/mtdnn-train" --data "$scratch/data" \
    --task-def "$scratch/tasks.yml" --bert-config "$scratch/bert.json" --max-seq-len 16 --batch-size 4 \
    --epochs 1000 --optimizer adamw --threads 1 --log-every 5 --best-metric topic:ACC --out "$scratch/$name" "$@" \
    >"$scratch/$name.log" 2>&1 || { cat "$scratch/$name.log"; fail "$name: mtdnn-train failed"; }
}
# dev_acc RUN: "step acc" per evaluation record of the run's metrics.jsonl.
dev_acc() { grep '"type":"eval"' "$scratch/$1/metrics.jsonl" | sed 's/.*"step":\([0-9]*\).*"ACC":\([0-9.e+-]*\).*/\1 \2/'; }
json_field() { sed -n "s/.*\"$2\": *\\([^,}]*\\).*/\\1/p" "$scratch/$1/best/best.json" | tr -d '"'; }

# --- 1. The best of a learning run -------------------------------------------------------------
train learning --max-steps 300 --lr 3e-3 --dropout 0 --eval-every 25
read -r want_step want_acc < <(dev_acc learning | awk '$2 > best || NR == 1 { best = $2; step = $1 } END { print step, best }')
[ "$(dev_acc learning | cut -d' ' -f2 | sort -u | wc -l)" -ge 2 ] || fail "dev accuracy hardly moved: $(dev_acc learning | tr '\n' ' ')"
[ "$want_step" != "$(dev_acc learning | head -n 1 | cut -d' ' -f1)" ] || fail "the first evaluation was the best: nothing replaced best/"
[ "$(json_field learning step)" = "$want_step" ] || fail "best/ is step $(json_field learning step), the best evaluation is step $want_step ($(dev_acc learning | tr '\n' ' '))"
[ -f "$scratch/learning/best/training.json" ] || fail "best/ is not a model folder"
"$bin/mtdnn-ckpt" verify "$scratch/learning/best/checkpoint" >"$scratch/verify.log" || { cat "$scratch/verify.log"; fail "best/checkpoint does not verify"; }
grep -q "step $want_step" "$scratch/verify.log" || fail "best/checkpoint is not step $want_step: $(cat "$scratch/verify.log")"
"$bin/mtdnn-predict" --model "$scratch/learning/best" --data "$scratch/data" --task topic --split dev \
  --out "$scratch/best-dev.tsv" >"$scratch/predict.json"
got=$(sed 's/.*"ACC":\([0-9.e+-]*\).*/\1/' "$scratch/predict.json")
awk -v a="$got" -v b="$want_acc" 'BEGIN { exit !(a - b < 1e-9 && b - a < 1e-9) }' \
  || fail "mtdnn-predict --model best/ scores ACC $got, the best evaluation had $want_acc"
for step in $(dev_acc learning | cut -d' ' -f1); do
  [ -f "$scratch/learning/predictions/step-$step/topic_dev.tsv" ] || fail "no predictions/step-$step/topic_dev.tsv"
done
note "PASS: best/ is step $want_step (dev ACC $want_acc); mtdnn-predict agrees; predictions kept per evaluation"

# --- 2. Early stopping on a plateau, best/ beyond retention --------------------------------------
train plateau --max-steps 200 --lr 1e-9 --eval-every 5 --early-stop-patience 2 --keep-checkpoints 1
grep -q "early stop" "$scratch/plateau.log" || fail "no early stop: $(tail -5 "$scratch/plateau.log")"
last=$(grep -o '"step":[0-9]*' "$scratch/plateau/metrics.jsonl" | tail -n 1 | cut -d: -f2)
[ "$last" = 15 ] || fail "the plateau run ended at step $last, expected 15 (evaluations at 5, 10, 15; patience 2)"
[ "$(dev_acc plateau | wc -l)" = 4 ] || fail "expected evaluations at 5, 10, 15 and the final one: $(dev_acc plateau | tr '\n' ' ')"
[ -f "$scratch/plateau/model/training.json" ] || fail "no final model after the early stop"
[ "$(json_field plateau step)" = 5 ] || fail "best/ of the plateau is step $(json_field plateau step), expected 5"
ls "$scratch/plateau/checkpoints" | grep -q '^ckpt-5$' && fail "retention kept ckpt-5 (--keep-checkpoints 1)"
"$bin/mtdnn-ckpt" verify "$scratch/plateau/best/checkpoint" >/dev/null || fail "best/checkpoint of the plateau does not verify"
note "PASS: early stop at step 15 with exit status 0; best/ (step 5) outlived retention"
