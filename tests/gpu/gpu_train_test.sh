#!/usr/bin/env bash
# mtdnn-train on a GPU (ctest gpu.train, label gpu; run by scripts/gpu-check.sh). Skipped
# (exit 77) when mtdnn-train cannot use CUDA. On GLUE's RTE when DATA_DIR has it, else on a
# tiny synthetic task, with a tiny BERT:
#   1. one rank, --device cuda --precision bf16 --backend nccl (the NCCL backend end to end
#      at world size 1: buckets, row-sparse embedding rows): training losses fall and the dev
#      evaluation runs;
#   2. two ranks sharing the GPU over --backend mpi (reductions staged through host memory),
#      fp32, against one rank on the GPU: the same global batches give the same losses
#      within float tolerance;
#   3. a checkpoint written on the GPU resumes on the CPU (--device cpu): the run continues
#      from its step and tracks the GPU run's losses;
#   4. one rank, --precision fp16 with its dynamic loss scale, --backend nccl: it tracks the
#      fp32 run's losses and every record carries the loss scale.
# MTDNN_GPU_TRAIN_DEVICE=cpu runs the same steps on the CPU (--device cpu, mpi for nccl):
# how scripts/gpu-check.sh --cpu-smoke tests this script where there is no GPU;
# MTDNN_GPU_TRAIN_STEPS sets the steps of each run (200).
#   tests/gpu/gpu_train_test.sh BIN_DIR SCRATCH_DIR [DATA_DIR]
set -euo pipefail

bin=$(cd "${1:?usage: gpu_train_test.sh BIN_DIR SCRATCH_DIR [DATA_DIR]}" && pwd)
scratch=${2:?usage: gpu_train_test.sh BIN_DIR SCRATCH_DIR [DATA_DIR]}
here=$(cd "$(dirname "$0")" && pwd)
data=${3:-${MTDNN_DATA_DIR:-$here/../../../shared/data}}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
dev=${MTDNN_GPU_TRAIN_DEVICE:-cuda}
steps=${MTDNN_GPU_TRAIN_STEPS:-200} half=$((${MTDNN_GPU_TRAIN_STEPS:-200} / 2))
every=$((steps >= 40 ? steps / 20 : 2))
nccl=nccl shown=cuda:0
[ "$dev" = cuda ] || nccl=mpi shown=cpu
fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "-- $*"; }

rm -rf "$scratch"
mkdir -p "$scratch/in"
if [ -f "$data/glue/RTE/train.tsv" ] && [ -f "$data/vocab/bert-base-uncased-vocab.txt" ]; then
  note "GLUE RTE from $data"
  "$bin/mtdnn-preprocess" --task-def "$here/../../tasks/glue.yml" --input "$data/glue" \
    --vocab "$data/vocab/bert-base-uncased-vocab.txt" --uncased --max-seq-len 128 --tasks rte --splits train,dev \
    --out "$scratch/data" >"$scratch/preprocess.log" 2>&1 || { cat "$scratch/preprocess.log"; fail "preprocess"; }
  task_def=$here/../../tasks/glue.yml tasks=rte len=128 vocab=30522
else
  note "no GLUE data in $data: a tiny synthetic task"
  words=(the cat sat on mat dog ran a who big red fox saw it and hid in box was not)
  printf '%s\n' '[PAD]' '[UNK]' '[CLS]' '[SEP]' '[MASK]' "${words[@]}" >"$scratch/vocab.txt"
  printf 'topic:\n  task_type: Classification\n  data_format: PremiseOnly\n  n_class: 2\n  labels: [pets, other]\n  metric_meta: [ACC]\n  split_names: [train, dev]\n' >"$scratch/tasks.yml"
  sentence() { local s="" i; for ((i = 0; i < $2; ++i)); do s+="${s:+ }${words[$((($1 * 7 + i * 3) % 20))]}"; done; echo "$s"; }
  for i in $(seq 0 199); do
    printf 't%d\t%s\t%s\n' "$i" "$([ $((i % 3)) -eq 0 ] && echo other || echo pets)" "$(sentence "$i" $((2 + i % 9)))"
  done >"$scratch/in/topic_train.tsv"
  head -n 40 "$scratch/in/topic_train.tsv" >"$scratch/in/topic_dev.tsv"
  "$bin/mtdnn-preprocess" --task-def "$scratch/tasks.yml" --input "$scratch/in" --vocab "$scratch/vocab.txt" \
    --max-seq-len 32 --out "$scratch/data" >"$scratch/preprocess.log" 2>&1 || { cat "$scratch/preprocess.log"; fail "preprocess"; }
  task_def=$scratch/tasks.yml tasks=topic len=32 vocab=25
fi
cat >"$scratch/bert.json" <<JSON
{"vocab_size": $vocab, "hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
 "intermediate_size": 512, "max_position_embeddings": 128}
JSON

# train NAME [flags...]: one rank into $scratch/NAME (add --np N for N ranks).
train() {
  local name=$1 np=1
  shift
  if [ "${1:-}" = --np ]; then np=$2; shift 2; fi
  mpirun -np "$np" --oversubscribe --bind-to none "$bin/mtdnn-train" --data "$scratch/data" --task-def "$task_def" \
    --tasks "$tasks" --bert-config "$scratch/bert.json" --max-seq-len "$len" --batch-size 32 --epochs 100 \
    --max-steps "$steps" --optimizer adamw --lr 5e-4 --dropout 0 --threads 2 --log-every "$every" --eval-every "$half" \
    --eval-batch-size 64 --checkpoint-every "$half" --keep-checkpoints 0 --out "$scratch/$name" "$@" \
    >"$scratch/$name.log" 2>&1 || { cat "$scratch/$name.log"; fail "run $name failed"; }
}
compare() { python3 "$here/../scripts/compare_losses.py" "$scratch/$1/metrics.jsonl" "$scratch/$2/metrics.jsonl" "$3" "$4" "$5"; }

if ! "$bin/mtdnn-train" --data "$scratch/data" --task-def "$task_def" --tasks "$tasks" --bert-config "$scratch/bert.json" \
  --max-seq-len "$len" --out "$scratch/probe" --device "$dev" --dry-run >"$scratch/probe.log" 2>&1; then
  grep -q -- '--device cuda' "$scratch/probe.log" && { echo "skipped: $(grep -- '--device cuda' "$scratch/probe.log")"; exit 77; }
  cat "$scratch/probe.log"
  fail "mtdnn-train --dry-run failed"
fi

note "1. one rank, $dev bf16, --backend $nccl"
train nccl-bf16 --device "$dev" --precision bf16 --backend "$nccl"
grep -q "$shown bf16, backend $nccl" "$scratch/nccl-bf16.log" || fail "the run does not say $shown bf16, backend $nccl"
python3 - "$scratch/nccl-bf16/metrics.jsonl" <<'PY' || fail "bf16 training on the GPU does not learn"
import json, sys
records = [json.loads(line) for line in open(sys.argv[1])]
train = [r["loss"] for r in records if r["type"] == "train"]
evals = [r for r in records if r["type"] == "eval"]
first, last = sum(train[:3]) / 3, sum(train[-3:]) / 3
print(f"training loss {first:.4f} -> {last:.4f}; {len(evals)} dev evaluations: {evals[-1] if evals else None}")
assert last < first, "the loss did not fall"
assert evals, "no dev evaluation"
PY

note "2. two ranks sharing the GPU over --backend mpi, fp32, against one rank"
train gpu-1rank --device "$dev" --backend mpi
train gpu-2ranks --np 2 --device "$dev" --backend mpi
compare gpu-1rank gpu-2ranks 1e-3 0.02 0.005 || fail "2 ranks on the GPU do not give one rank's losses"

note "3. a GPU checkpoint resumed on the CPU"
train gpu-to-cpu --device cpu --resume "$scratch/gpu-1rank/checkpoints/ckpt-$half"
grep -q "resuming from .*ckpt-$half at step $half" "$scratch/gpu-to-cpu.log" || fail "no resume at step $half"
compare gpu-1rank gpu-to-cpu 0.02 0.05 0.02 || fail "the CPU run resumed from the GPU's checkpoint does not track it"

note "4. one rank, $dev fp16 with its loss scale, --backend $nccl, against fp32"
train nccl-fp16 --device "$dev" --precision fp16 --backend "$nccl"
grep -q "$shown fp16, backend $nccl" "$scratch/nccl-fp16.log" || fail "the run does not say $shown fp16, backend $nccl"
compare gpu-1rank nccl-fp16 0.05 0.15 0.03 || fail "fp16 does not track fp32"
python3 - "$scratch/nccl-fp16/metrics.jsonl" <<'PY' || fail "fp16's records lack the loss scale"
import json, sys
train = [json.loads(line) for line in open(sys.argv[1]) if '"train"' in line]
assert all(r["loss_scale"] >= 1 for r in train), train[0]
print(f"fp16 loss scale {train[0]['loss_scale']:g} -> {train[-1]['loss_scale']:g}, "
      f"{train[-1]['skipped_steps']} step(s) skipped")
PY
echo PASS
