#!/usr/bin/env bash
# End to end on real GLUE: preprocess SST-2, RTE and MRPC, train a tiny BERT from scratch
# (L=2, H=64) with `mpirun -np 2 mtdnn-train` for a bounded number of steps, and check that
#   - SST-2 dev accuracy beats the majority class (50.9%) clearly (> 60%),
#   - metrics.jsonl holds training and evaluation records, predictions/ the GLUE files,
#   - mtdnn-predict on the saved model reproduces predictions/sst_dev.tsv byte for byte.
# Exits 77 (skipped) when the GLUE data or the vocabulary is absent.
#   tests/e2e/train_glue_test.sh BIN_DIR SOURCE_DIR WORK_DIR [DATA_DIR]
set -euo pipefail
bin=$1 src=$2 work=$3 data=${4:-${MTDNN_DATA_DIR:-$src/../shared/data}}
glue=$data/glue vocab=$data/vocab/bert-base-uncased-vocab.txt
# shellcheck source=tests/e2e/lib.sh
. "$src/tests/e2e/lib.sh"
e2e_start "$work" "$glue/SST-2/train.tsv" "$glue/RTE/train.tsv" "$glue/MRPC/train.tsv" "$vocab"

"$bin/mtdnn-preprocess" --task-def "$src/tasks/glue.yml" --input "$glue" --vocab "$vocab" --uncased \
  --max-seq-len 128 --shards 2 --out "$work/data" --tasks sst,rte,mrpc --splits train,dev

cat > "$work/tiny-bert.json" <<'JSON'
{"vocab_size": 30522, "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
 "intermediate_size": 256, "max_position_embeddings": 128}
JSON
cat > "$work/train.ini" <<INI
data = $work/data
task-def = $src/tasks/glue.yml
tasks = sst,rte,mrpc
bert-config = $work/tiny-bert.json
max-seq-len = 128
batch-size = 32
max-steps = 1000
lr = 2e-3
warmup = 0.1
bucket-window = 16
log-every = 100
eval-batch-size = 128
out = $work/out
INI

"$bin/mtdnn-train" --config "$work/train.ini" --dry-run > "$work/dry-run.txt"
grep -q '"total-steps": 1000' "$work/dry-run.txt" || fail "dry run: no total steps"
grep -q '^sst ' "$work/dry-run.txt" || fail "dry run: no per-task batches"

start=$(date +%s)
mpirun -np 2 --oversubscribe --bind-to none "$bin/mtdnn-train" --config "$work/train.ini" > "$work/train.out" \
  2> >(tee "$work/train.err" >&2)
echo "training took $(( $(date +%s) - start )) s"
cat "$work/train.out" | tail -n 8

out=$work/out
[ -f "$out/config.json" ] && [ -f "$out/metrics.jsonl" ] || fail "config.json or metrics.jsonl missing"
for f in model.safetensors config.json task_def.yml training.json; do
  [ -f "$out/model/$f" ] || fail "model/$f missing"
done
grep -q '"type":"train"' "$out/metrics.jsonl" || fail "no training records"
# The CPU runtime of the training ranks (worker/cpu_runtime.h), subnormals flushed included.
grep -q 'CPU runtime: .*heap kept.*subnormals flushed to zero' "$work/train.err" || fail "CPU runtime not configured"
acc=$(python3 - "$out/metrics.jsonl" <<'PY'
import json, sys
acc = None
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["type"] == "eval" and r["task"] == "sst" and r["split"] == "dev":
        acc = r["ACC"]
    if r["type"] == "train":
        for k in ("step", "epoch", "task", "loss", "lr", "examples", "real_tokens", "elapsed_s"):
            assert k in r, f"{k} missing in {r}"
print(acc)
PY
)
echo "SST-2 dev accuracy: $acc"
python3 -c "import sys; sys.exit(0 if float('$acc') > 60.0 else 1)" || fail "SST-2 dev accuracy $acc is not above 60 (majority 50.9)"
[ "$(head -n 1 "$out/predictions/sst_dev.tsv")" = "index	prediction" ] || fail "sst_dev.tsv has no GLUE header"
[ "$(wc -l < "$out/predictions/sst_dev.tsv")" -eq 873 ] || fail "sst_dev.tsv should have 872 predictions"

"$bin/mtdnn-predict" --model "$out/model" --data "$work/data" --task sst --split dev --out "$work/sst_dev.tsv" \
  > "$work/predict.json"
cmp "$work/sst_dev.tsv" "$out/predictions/sst_dev.tsv" || fail "mtdnn-predict differs from the training run's predictions"
echo "mtdnn-predict: $(cat "$work/predict.json")"
echo "PASS"
