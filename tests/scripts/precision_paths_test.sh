#!/usr/bin/env bash
# mtdnn-train's device and precision seam on the CPU, on a tiny model and tiny data (no GLUE
# needed), one process per run:
#   1. fp32 (the fused CPU kernels), --precision bf16 and --precision fp16 (LibTorch's CPU
#      autocast over the operator path; fp16 with its dynamic loss scale) train the same run
#      with dropout 0; bf16's and fp16's logged training losses track fp32's: each within
#      TOL_STEP_ABS + TOL_STEP_REL x fp32's loss, their mean within TOL_MEAN of fp32's mean
#      (the rounding grows over the steps as the runs' weights drift apart; measured: bf16's
#      means within 0.3%, one step within 7.4%); fp16's records carry the loss scale, which
#      grows from --loss-scale-init;
#   2. a checkpoint of the fp32 run resumes in bf16 and one of the bf16 run resumes in fp32:
#      each continues from the checkpoint's step and tracks the fp32 losses as above;
#   3. the checkpoints of all paths hold the same tensors (names, dtypes, shapes) and the
#      same model description: the state format does not depend on the path; fp16's
#      meta.json adds the loss scaler's state, and an fp32 checkpoint resumes in fp16;
#   4. --device cuda fails with a message on a build or machine without CUDA.
#   tests/scripts/precision_paths_test.sh BIN_DIR SCRATCH_DIR
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/toy_data.sh"

bin=$(cd "${1:?usage: precision_paths_test.sh BIN_DIR SCRATCH_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
scratch=${2:?usage: precision_paths_test.sh BIN_DIR SCRATCH_DIR}
TOL_STEP_ABS=${TOL_STEP_ABS:-0.05} TOL_STEP_REL=${TOL_STEP_REL:-0.15} TOL_MEAN=${TOL_MEAN:-0.03}

rm -rf "$scratch"
toy_vocab
toy_topic
cat >>"$scratch/tasks.yml" <<'YAML'
sim:
  task_type: Regression
  data_format: PremiseAndOneHypothesis
  n_class: 1
  metric_meta: [Pearson]
  split_names: [train]
YAML
for i in $(seq 0 29); do
  printf 's%d\t%s\t%s\t%s\n' "$i" "$((i % 5)).$((i % 3))" "$(sentence $((i + 3)) $((3 + i % 4)))" "$(sentence $((i + 9)) 3)"
done >"$scratch/in/sim_train.tsv"
toy_preprocess 24
toy_bert_config 32
steps=300
# train NAME [flags...]: one process into $scratch/NAME.
train() {
  local name=$1
  shift
  "$bin/mtdnn-train" --data "$scratch/data" --task-def "$scratch/tasks.yml" --bert-config "$scratch/bert.json" \
    --max-seq-len 24 --batch-size 4 --epochs 1000 --max-steps "$steps" --optimizer adamw --lr 1e-3 --dropout 0 \
    --threads 1 --log-every 10 --eval-every 0 --checkpoint-every 100 --keep-checkpoints 0 --device cpu \
    --out "$scratch/$name" "$@" >"$scratch/$name.log" 2>&1 || { cat "$scratch/$name.log"; fail "run $name failed"; }
}
# compare REFERENCE RUN: RUN's training losses against REFERENCE's at the same steps.
compare() {
  python3 "$here/compare_losses.py" "$scratch/$1/metrics.jsonl" "$scratch/$2/metrics.jsonl" "$TOL_STEP_ABS" \
    "$TOL_STEP_REL" "$TOL_MEAN"
}

note "fp32 (fused CPU kernels), bf16 and fp16 (CPU autocast, operator path), $steps steps"
train fp32
train bf16 --precision bf16
grep -q 'cpu fp32' "$scratch/fp32.log" || fail "the fp32 run does not say cpu fp32"
grep -q 'cpu bf16' "$scratch/bf16.log" || fail "the bf16 run does not say cpu bf16"
compare fp32 bf16 || fail "bf16 does not track fp32"
train fp16 --precision fp16 --loss-scale-init 1024 --loss-scale-window 50
grep -q 'cpu fp16' "$scratch/fp16.log" || fail "the fp16 run does not say cpu fp16"
grep -q 'scale 1024 (0 skipped)' "$scratch/fp16.log" || fail "the fp16 run logs no loss scale"
compare fp32 fp16 || fail "fp16 does not track fp32"
python3 - "$scratch/fp16/metrics.jsonl" <<'PY' || fail "fp16's loss scale did not grow as the rule says"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if '"train"' in l]
scales = [r["loss_scale"] for r in recs]
assert scales[0] == 1024 and max(scales) > 1024, scales
print(f"fp16 loss scale {scales[0]:g} -> {scales[-1]:g}, {recs[-1]['skipped_steps']} step(s) skipped")
PY

note "fp32 checkpoint resumed in bf16, bf16 checkpoint resumed in fp32"
train fp32-to-bf16 --precision bf16 --resume "$scratch/fp32/checkpoints/ckpt-100"
grep -q 'resuming from .*ckpt-100 at step 100' "$scratch/fp32-to-bf16.log" || fail "no resume at step 100"
compare fp32 fp32-to-bf16 || fail "bf16 resumed from fp32 does not track fp32"
train bf16-to-fp32 --resume "$scratch/bf16/checkpoints/ckpt-200"
grep -q 'resuming from .*ckpt-200 at step 200' "$scratch/bf16-to-fp32.log" || fail "no resume at step 200"
compare fp32 bf16-to-fp32 || fail "fp32 resumed from bf16 does not track fp32"

train fp32-to-fp16 --precision fp16 --loss-scale-init 1024 --loss-scale-window 50 \
  --resume "$scratch/fp32/checkpoints/ckpt-100"
grep -q 'written without fp16 loss scaling; the loss scale starts at 1024' "$scratch/fp32-to-fp16.log" \
  || fail "fp16 resumed from fp32 does not say where its loss scale starts"
compare fp32 fp32-to-fp16 || fail "fp16 resumed from fp32 does not track fp32"

note "the same state format on every path"
python3 - "$scratch"/{fp32,bf16,fp16}/checkpoints/ckpt-200 <<'PY' || fail "the checkpoints differ in format"
import json, struct, sys
def table(folder):
    with open(folder + "/state.safetensors", "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    meta = json.load(open(folder + "/meta.json"))
    return {k: (v["dtype"], v["shape"]) for k, v in header.items()}, meta.get("meta", meta)
(a, meta_a), (b, meta_b), (c, meta_c) = (table(f) for f in sys.argv[1:4])
for other in (b, c):
    assert a == other, f"tensors differ: {sorted(set(a.items()) ^ set(other.items()))[:5]}"
assert all(v[0] in ("F32", "I64", "U8") for v in a.values()), "a tensor that is not F32, I64 or U8"
assert meta_a["model"] == meta_b["model"] == meta_c["model"], "the model descriptions differ"
assert "loss_scaler" not in meta_a and "loss_scaler" not in meta_b, "a loss scaler without fp16"
scaler = meta_c["loss_scaler"]
assert scaler["scale"] >= 1 and 0 <= scaler["clean_steps"] < 50, scaler
print(f"{len(a)} tensors, the same names, dtypes and shapes; fp16's loss scaler {scaler}")
PY

note "--device cuda without CUDA"
if ! "$bin/mtdnn-train" --data "$scratch/data" --task-def "$scratch/tasks.yml" --bert-config "$scratch/bert.json" \
  --max-seq-len 24 --out "$scratch/cuda" --device cuda --dry-run >"$scratch/cuda.log" 2>&1; then
  grep -q -- '--device cuda' "$scratch/cuda.log" || { cat "$scratch/cuda.log"; fail "no message naming --device cuda"; }
else
  echo "(this machine has a GPU: --device cuda resolved)"
fi
echo PASS
