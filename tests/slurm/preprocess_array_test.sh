#!/usr/bin/env bash
# slurm/preprocess.sbatch as a real job array on the one-node cluster: three GLUE tasks
# (one with a split list) preprocessed by three array tasks into one output folder; every
# task's manifest must be complete and an out-of-range array index must fail clearly. Then a
# MaskLM task (the python-docs corpus) as an array task of its own.
#   tests/slurm/preprocess_array_test.sh BUILD_DIR [SCRATCH_DIR]
# Exits 77 (skipped) when the GLUE data is absent.
set -euo pipefail

build=$(cd "${1:?usage: preprocess_array_test.sh BUILD_DIR [SCRATCH_DIR]}" && pwd)
data=${MTDNN_DATA_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/../shared/data}
if [ ! -d "$data/glue" ]; then
  echo "SKIP: GLUE data not found at $data (set MTDNN_DATA_DIR)"
  exit 77
fi
scratch=${2:-$build/slurm-preprocess-test}
# shellcheck source=tests/slurm/cluster_lib.sh
source "$(dirname "$0")/cluster_lib.sh"

out=$scratch/shards
job=$(cd "$repo" && slurm sbatch --parsable --array=0-2 --output="$scratch/pre-%A_%a.out" \
  --export=ALL,TASKS="cola rte qnli:dev,test",INPUT="$data/glue",VOCAB="$data/vocab/bert-base-uncased-vocab.txt",OUT="$out",SHARDS=2,MTDNN_BIN="$build/bin" \
  slurm/preprocess.sbatch)
note "submitted preprocess array job $job"
for i in 0 1 2; do
  state=$(wait_job "${job}_$i" 120)
  [ "$state" = COMPLETED ] || fail "array task ${job}_$i ended $state: $(cat "$scratch/pre-${job}_$i.out")"
done
for task in cola rte qnli; do
  [ -f "$out/$task/manifest.json" ] || fail "no manifest for $task"
done
grep -q '"split": "train"' "$out/qnli/manifest.json" && fail "qnli has a train split though only dev,test were asked"
grep -q '"split": "dev"' "$out/qnli/manifest.json" || fail "qnli lacks its dev split"
note "three array tasks wrote complete task folders"

if [ -f "$data/corpus/python-docs.txt" ]; then
  printf 'wiki:\n  task_type: MaskLM\n  data_format: MLM\n  n_class: 2\n' >"$scratch/pretrain.yml"
  job=$(cd "$repo" && slurm sbatch --parsable --array=0 --output="$scratch/mlm-%A_%a.out" \
    --export=ALL,TASKS="wiki",TASK_DEF="$scratch/pretrain.yml",INPUT="$data/corpus",VOCAB="$data/vocab/bert-base-uncased-vocab.txt",OUT="$scratch/pretrain",MAX_SEQ_LEN=128,SHARDS=4,DUPE_FACTOR=2,MTDNN_BIN="$build/bin" \
    slurm/preprocess.sbatch)
  state=$(wait_job "${job}_0" 120)
  [ "$state" = COMPLETED ] || fail "MaskLM array task ${job}_0 ended $state: $(cat "$scratch/mlm-${job}_0.out")"
  for f in manifest.json vocab.txt train-00003-of-00004.h5; do
    [ -f "$scratch/pretrain/wiki/$f" ] || fail "MaskLM task folder lacks $f"
  done
  grep -q '"dupe_factor": 2' "$scratch/pretrain/wiki/manifest.json" || fail "the manifest does not record --dupe-factor 2"
  grep -q "^wiki *train *1[0-9][0-9][0-9] " "$scratch/mlm-${job}_0.out" || fail "no corpus summary: $(cat "$scratch/mlm-${job}_0.out")"
  note "a MaskLM array task wrote its corpus shards"
fi

job=$(cd "$repo" && slurm sbatch --parsable --array=3 --output="$scratch/bad-%A_%a.out" \
  --export=ALL,TASKS="cola rte qnli",OUT="$out",MTDNN_BIN="$build/bin" slurm/preprocess.sbatch)
state=$(wait_job "${job}_3" 60)
[ "$state" = FAILED ] || fail "out-of-range array index ended $state, expected FAILED"
grep -q "submit with --array=0-2" "$scratch/bad-${job}_3.out" || fail "no hint in $(cat "$scratch/bad-${job}_3.out")"
note "PASS"
