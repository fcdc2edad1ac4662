#!/usr/bin/env bash
# The packaged pretrained encoder end to end, both ways with Hugging Face (issue: a real
# pretrained encoder). From scripts/pretrained-encoder.sh's folder:
#   1. mtdnn-preprocess --encoder, then `mpirun -np 2 mtdnn-train` fine-tunes SST-2 for 150
#      steps; its dev accuracy must be far above what an untrained encoder reaches (>= 80%;
#      the majority class is 50.9%), which shows the pretrained weights were used;
#   2. mtdnn-ckpt export-hf --task sst (from the model folder, and the same bytes from the last
#      checkpoint): transformers loads the folder as it is, and its probabilities on 200 dev
#      rows equal mtdnn-predict's within 1e-4;
#   3. the other way: folders saved by transformers itself (the export re-saved, and a
#      regression model on the encoder with a seeded classifier, tokenizer.json only) given
#      to mtdnn-predict predict what transformers predicts, within 1e-4;
#   4. a task with a SAN head is refused by export, with the reason.
#   sequence_classifier_test.sh BIN_DIR REPO_DIR WORK_DIR DATA_DIR PYTHON
set -euo pipefail
bin=$1 repo=$2 work=$3 data=$4 python=$5
source "$repo/tests/e2e/lib.sh"
glue=$data/glue
e2e_start "$work" "$glue/SST-2/train.tsv" "$glue/SST-2/dev.tsv" "$glue/STS-B/dev.tsv"
cd "$repo"

encoder=$(scripts/pretrained-encoder.sh --out "$work/encoder")
"$bin/mtdnn-preprocess" --task-def tasks/glue-linear.yml --input "$glue" --encoder "$encoder" --max-seq-len 128 \
  --out "$work/data" --tasks sst --splits train,dev >/dev/null
"$bin/mtdnn-preprocess" --task-def tasks/glue-linear.yml --input "$glue" --encoder "$encoder" --max-seq-len 128 \
  --out "$work/data" --tasks stsb --splits dev >/dev/null

# 1. Fine-tuning from the encoder.
mpirun -np 2 --oversubscribe --bind-to none "$bin/mtdnn-train" --data "$work/data" --task-def tasks/glue-linear.yml \
  --tasks sst --init-checkpoint "$encoder" --max-seq-len 128 --batch-size 32 --max-steps 150 --optimizer adamw \
  --lr 1e-4 --log-every 50 --out "$work/train" --resume never >"$work/train.out" 2>"$work/train.err" ||
  { cat "$work/train.err" >&2; fail "mtdnn-train failed"; }
acc=$(awk -F'\t' '$1 == "sst" && $2 == "dev" && $3 == "ACC" { print $4 }' "$work/train.out")
echo "SST-2 dev accuracy after 150 steps from the encoder: $acc"
awk -v a="$acc" 'BEGIN { exit !(a != "" && a >= 80) }' || fail "SST-2 dev accuracy '$acc' < 80: was the encoder loaded?"

# 2. mtdnn's model as Hugging Face's.
"$bin/mtdnn-predict" --model "$work/train/model" --data "$work/data" --task sst --split dev \
  --out "$work/sst.tsv" --scores >/dev/null
"$bin/mtdnn-ckpt" export-hf "$work/train/model" "$work/hf-sst" --task sst --vocab "$encoder/vocab.txt"
# From the run's last checkpoint: the same folder, byte for byte.
"$bin/mtdnn-ckpt" export-hf "$work/train/checkpoints" "$work/hf-sst-ckpt" --task sst --vocab "$encoder/vocab.txt"
for f in model.safetensors config.json vocab.txt tokenizer_config.json special_tokens_map.json; do
  cmp "$work/hf-sst/$f" "$work/hf-sst-ckpt/$f" || fail "$f exported from the checkpoint differs from the model folder's"
done
"$python" tests/hf/hf_predict.py compare --model "$work/hf-sst" --glue "$glue" --task sst \
  --scores "$work/sst.scores.tsv" --rows 200

# 3. Hugging Face's folders given to mtdnn-predict.
"$python" tests/hf/hf_predict.py save --from "$work/hf-sst" --out "$work/hf-sst-saved" 2>/dev/null
"$python" tests/hf/hf_predict.py save --from "$encoder" --out "$work/hf-stsb" --num-labels 1 --seed 7 2>/dev/null
[ ! -f "$work/hf-stsb/vocab.txt" ] || echo "note: transformers wrote vocab.txt; the tokenizer.json path is not exercised"
for pair in sst:hf-sst-saved stsb:hf-stsb; do
  task=${pair%%:*} folder=${pair#*:}
  "$bin/mtdnn-predict" --model "$work/$folder" --data "$work/data" --task "$task" --split dev \
    --out "$work/$folder.tsv" --scores >/dev/null
  "$python" tests/hf/hf_predict.py compare --model "$work/$folder" --glue "$glue" --task "$task" \
    --scores "$work/$folder.scores.tsv" --rows 200
done

# 4. SAN heads have no Hugging Face class: tasks/glue.yml answers MRPC with SAN.
"$bin/mtdnn-preprocess" --task-def tasks/glue.yml --input "$glue" --encoder "$encoder" --max-seq-len 128 \
  --out "$work/data-san" --tasks mrpc --splits train,dev >/dev/null
mpirun -np 1 "$bin/mtdnn-train" --data "$work/data-san" --task-def tasks/glue.yml --tasks mrpc \
  --init-checkpoint "$encoder" --max-seq-len 128 --max-steps 1 --out "$work/train-san" --resume never \
  >/dev/null 2>&1 || fail "one step on MRPC with a SAN head failed"
if "$bin/mtdnn-ckpt" export-hf "$work/train-san/model" "$work/hf-san" --task mrpc --vocab "$encoder/vocab.txt" \
  2>"$work/san.err"; then
  fail "export-hf --task accepted a SAN head"
fi
grep -q "san head, which Hugging Face has no class for" "$work/san.err" || { cat "$work/san.err" >&2; fail "no reason given"; }
[ ! -e "$work/hf-san" ] || fail "a refused export left $work/hf-san behind"
echo "PASS"
