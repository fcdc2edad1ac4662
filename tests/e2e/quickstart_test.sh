#!/usr/bin/env bash
# scripts/quickstart.sh as a user runs it (with the binaries of this build and fewer steps):
# it must preprocess GLUE's small tasks, train on all of them with 2 ranks, and print a dev
# table holding every task, with SST-2 accuracy clearly above the majority class (50.9%).
# Exits 77 (skipped) when the GLUE data or the vocabulary is absent.
#   tests/e2e/quickstart_test.sh BIN_DIR SOURCE_DIR WORK_DIR [DATA_DIR]
set -euo pipefail
bin=$1 src=$2 work=$3 data=${4:-${MTDNN_DATA_DIR:-$src/../shared/data}}
for f in "$data/glue/SST-2/train.tsv" "$data/vocab/bert-base-uncased-vocab.txt"; do
  [ -f "$f" ] || { echo "skipped: $f not found (set MTDNN_DATA_DIR)"; exit 77; }
done
fail() { echo "FAIL: $*" >&2; exit 1; }
export OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
rm -rf "$work"
MTDNN_VOCAB=$data/vocab/bert-base-uncased-vocab.txt \
  bash "$src/scripts/quickstart.sh" --bin "$bin" --steps 1000 --out "$work" "$data/glue" | tee "$work.log"

table=$(sed -n '/^Dev results after 1000 steps/,$p' "$work.log")
[ -n "$table" ] || fail "no dev results table"
for task in cola sst mrpc stsb rte; do
  grep -q "^$task " <<<"$table" || fail "no dev result for $task"
done
acc=$(awk '$1 == "sst" && $3 == "ACC" { print $4 }' <<<"$table")
awk -v a="$acc" 'BEGIN { exit !(a > 60) }' || fail "SST-2 dev accuracy $acc is not above 60"
echo "quickstart: SST-2 dev accuracy $acc after 1000 steps"
