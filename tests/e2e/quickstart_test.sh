#!/usr/bin/env bash
# scripts/quickstart.sh as a user runs it (with the binaries of this build and fewer steps):
# it must preprocess GLUE's small tasks, refine the packaged pretrained encoder on all of them
# with 2 ranks, and print a dev table holding every task, with SST-2 accuracy far above the
# majority class (50.9%) after 150 steps, as only a pretrained encoder gets there; then the
# same with --from-scratch (BERT-tiny, 1000 steps, SST-2 above 60). TensorBoard's event files
# of the first run hold its metrics.jsonl, evaluations included.
# Exits 77 (skipped) when the GLUE data or the vocabulary is absent.
#   tests/e2e/quickstart_test.sh BIN_DIR SOURCE_DIR WORK_DIR [DATA_DIR]
set -euo pipefail
bin=$1 src=$2 work=$3 data=${4:-${MTDNN_DATA_DIR:-$src/../shared/data}}
for f in "$data/glue/SST-2/train.tsv" "$data/vocab/bert-base-uncased-vocab.txt"; do
  [ -f "$f" ] || { echo "skipped: $f not found (set MTDNN_DATA_DIR)"; exit 77; }
done
fail() { echo "FAIL: $*" >&2; exit 1; }
export OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo

# run_quickstart NAME STEPS MIN_SST_ACC [OPTION...]
run_quickstart() {
  local name=$1 steps=$2 min_acc=$3 table acc task
  shift 3
  rm -rf "$work/$name"
  MTDNN_VOCAB=$data/vocab/bert-base-uncased-vocab.txt \
    bash "$src/scripts/quickstart.sh" --bin "$bin" --steps "$steps" --out "$work/$name" "$@" "$data/glue" |
    tee "$work/$name.log"
  table=$(sed -n "/^Dev results after $steps steps/,\$p" "$work/$name.log")
  [ -n "$table" ] || fail "$name: no dev results table"
  for task in cola sst mrpc stsb rte; do
    grep -q "^$task " <<<"$table" || fail "$name: no dev result for $task"
  done
  acc=$(awk '$1 == "sst" && $3 == "ACC" { print $4 }' <<<"$table")
  awk -v a="$acc" -v m="$min_acc" 'BEGIN { exit !(a > m) }' || fail "$name: SST-2 dev accuracy $acc is not above $min_acc"
  echo "quickstart ($name): SST-2 dev accuracy $acc after $steps steps"
}

mkdir -p "$work"
run_quickstart encoder 150 75
# TensorBoard's reader sees the run's metrics.jsonl, evaluations included.
"$src/scripts/venv-python" "$src/tests/scripts/tensorboard_check.py" "$work/encoder/train" ||
  fail "TensorBoard event files differ from metrics.jsonl"
run_quickstart from-scratch 1000 60 --from-scratch
