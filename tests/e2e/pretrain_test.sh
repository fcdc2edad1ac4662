#!/usr/bin/env bash
# MT-DNN's three stages end to end on real text, the commands of docs/pretraining.md:
#   1. mtdnn-preprocess of the docs corpus (../shared/data/corpus) for tasks/pretrain.yml;
#      `mpirun -np 2 mtdnn-train` of a tiny BERT with --optimizer lamb; the held-out MLM
#      accuracy must rise well above the unigram baseline (twice the share of the dev
#      split's most frequent non-special token, what always predicting it would score);
#   2. the model folder is a Hugging Face BertForPreTraining (safetensors names read with
#      the standard library), and `mtdnn-ckpt export-hf` of the last checkpoint writes the
#      same tensors;
#   3. stage 2 starts from it with --init-checkpoint on GLUE's RTE (the encoder loads, the
#      MLM/NSP heads stay behind), and a continued pretraining run takes its heads along.
# Exits 77 (skipped) when the corpus or the vocabulary is absent.
#   tests/e2e/pretrain_test.sh BIN_DIR SOURCE_DIR WORK_DIR [DATA_DIR]
set -euo pipefail
bin=$1 src=$2 work=$3 data=${4:-${MTDNN_DATA_DIR:-$src/../shared/data}}
corpus=$data/corpus vocab=$data/vocab/bert-base-uncased-vocab.txt glue=$data/glue
# shellcheck source=tests/e2e/lib.sh
. "$src/tests/e2e/lib.sh"
e2e_start "$work" "$corpus/python-docs.txt" "$vocab" "$glue/RTE/train.tsv"
py=/usr/bin/python3

# More held-out documents than the default 1% so that the accuracy is measured on ~8,000 masked tokens.
sed 's/^  dev_fraction: .*/  dev_fraction: 0.05/' "$src/tasks/pretrain.yml" > "$work/pretrain.yml"
"$bin/mtdnn-preprocess" --task-def "$work/pretrain.yml" --input "$corpus" --vocab "$vocab" --uncased \
  --max-seq-len 64 --shards 2 --out "$work/data" | tee "$work/preprocess.out"
grep -q '^wiki  *train' "$work/preprocess.out" || fail "no corpus summary"
[ -f "$work/data/wiki/vocab.txt" ] || fail "the vocabulary was not copied beside the shards"

cat > "$work/tiny-bert.json" <<'JSON'
{"vocab_size": 30522, "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
 "intermediate_size": 256, "max_position_embeddings": 64}
JSON
start=$(date +%s)
mpirun -np 2 --oversubscribe --bind-to none "$bin/mtdnn-train" --task-def "$work/pretrain.yml" --tasks wiki \
  --bert-config "$work/tiny-bert.json" --data "$work/data" --max-seq-len 64 --optimizer lamb --lr 1e-2 \
  --batch-size 64 --max-steps 600 --epochs 100 --warmup 0.05 --log-every 100 --eval-every 300 \
  --out "$work/stage1" > "$work/stage1.out"
echo "stage 1 took $(( $(date +%s) - start )) s"
tail -n 6 "$work/stage1.out"

# The held-out MLM accuracy against the unigram baseline, both from the files.
$py - "$work/data/wiki" "$work/stage1/metrics.jsonl" <<'PY' || fail "MLM accuracy"
import collections, glob, json, sys
import h5py
folder, metrics = sys.argv[1:]
special = set()
for i, tok in enumerate(open(folder + "/vocab.txt", encoding="utf-8").read().split("\n")):
    if tok.startswith("[") and tok.endswith("]"):
        special.add(i)
counts = collections.Counter()
for f in sorted(glob.glob(folder + "/dev-*.h5")):
    with h5py.File(f, "r") as h:
        counts.update(int(t) for t in h["token_ids"][:] if int(t) not in special)
baseline = 100.0 * counts.most_common(1)[0][1] / sum(counts.values())
evals = [r for r in map(json.loads, open(metrics)) if r.get("type") == "eval" and r.get("task") == "wiki"]
acc = [r["MLM-ACC"] for r in evals]
print(f"unigram baseline {baseline:.2f}; dev MLM-ACC by evaluation: {acc}; "
      f"NSP-ACC {evals[-1]['NSP-ACC']:.2f}; MLM-PPL {evals[-1]['MLM-PPL']:.1f}")
assert len(acc) >= 2 and all(k in evals[-1] for k in ("MLM-loss", "MLM-PPL", "NSP-ACC"))
assert acc[-1] > 2 * baseline, f"MLM-ACC {acc[-1]} is not well above the unigram baseline {baseline:.2f}"
PY
[ ! -e "$work/stage1/predictions/wiki_dev.tsv" ] || fail "a MaskLM task writes no submission file"

# The model folder and export-hf: Hugging Face's BertForPreTraining names.
"$bin/mtdnn-ckpt" export-hf "$work/stage1/checkpoints" "$work/export" > /dev/null
for f in "$work/stage1/model/model.safetensors" "$work/export/model.safetensors"; do
  $py - "$f" <<'PY' || fail "$f: not BertForPreTraining"
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    names = set(json.loads(f.read(n))) - {"__metadata__"}
want = {"bert.embeddings.word_embeddings.weight", "bert.encoder.layer.1.output.dense.weight",
        "bert.pooler.dense.weight", "cls.predictions.bias", "cls.predictions.transform.dense.weight",
        "cls.predictions.transform.LayerNorm.weight", "cls.seq_relationship.weight", "cls.seq_relationship.bias"}
assert want <= names, sorted(want - names)
assert not any(n.startswith("heads.") for n in names), [n for n in names if n.startswith("heads.")]
print(sys.argv[1].rsplit("/", 2)[-2], len(names), "tensors, BertForPreTraining names")
PY
done

# Stage 2 from the pretrained encoder (a few steps of RTE), and continued pretraining with its heads.
"$bin/mtdnn-preprocess" --task-def "$src/tasks/glue.yml" --input "$glue" --vocab "$vocab" --uncased \
  --max-seq-len 64 --shards 1 --out "$work/data" --tasks rte --splits train,dev > /dev/null
"$bin/mtdnn-train" --init-checkpoint "$work/stage1/model" --task-def "$src/tasks/glue.yml" --tasks rte \
  --data "$work/data" --max-seq-len 64 --batch-size 32 --max-steps 5 --log-every 5 --out "$work/stage2" \
  > "$work/stage2.out" 2>&1 || { cat "$work/stage2.out"; fail "stage 2 did not start from the pretrained encoder"; }
grep -q 'rte' "$work/stage2/metrics.jsonl" || fail "stage 2 wrote no records"
"$bin/mtdnn-train" --init-checkpoint "$work/export" --task-def "$work/pretrain.yml" --tasks wiki \
  --data "$work/data" --max-seq-len 64 --batch-size 32 --max-steps 2 --log-every 1 --out "$work/continued" \
  > "$work/continued.out" 2>&1 || { cat "$work/continued.out"; fail "continued pretraining"; }
grep -q 'heads from .*: wiki.mlm, wiki.nsp; fresh heads: none' "$work/continued.out" ||
  { cat "$work/continued.out"; fail "the pretraining heads did not come along"; }
echo "pretraining end to end: ok"
