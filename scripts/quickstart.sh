#!/usr/bin/env bash
# The main job end to end on a fresh Debian/Ubuntu machine: installs what it needs,
# builds, and preprocesses GLUE's tasks into shards under runs/quickstart/.
#
#   scripts/quickstart.sh [GLUE_DIR]
#
# GLUE is looked for at the argument, $MTDNN_GLUE_DIR, data/glue, then ../shared/data/glue
# (beside the repository); the uncased BERT vocabulary at $MTDNN_VOCAB, then
# data/vocab/bert-base-uncased-vocab.txt, then vocab/ beside the GLUE folder.
set -euo pipefail
cd "$(dirname "$0")/.."

glue=""
for candidate in "${1:-}" "${MTDNN_GLUE_DIR:-}" data/glue ../shared/data/glue; do
  if [ -n "$candidate" ] && [ -d "$candidate" ]; then glue=$candidate; break; fi
done
if [ -z "$glue" ]; then
  echo "quickstart: no GLUE folder found. Pass it as the first argument (a folder holding CoLA/, SST-2/, ...)" >&2
  echo "or set MTDNN_GLUE_DIR." >&2
  exit 1
fi
vocab=""
for candidate in "${MTDNN_VOCAB:-}" data/vocab/bert-base-uncased-vocab.txt "$glue/../vocab/bert-base-uncased-vocab.txt"; do
  if [ -n "$candidate" ] && [ -f "$candidate" ]; then vocab=$candidate; break; fi
done
if [ -z "$vocab" ]; then
  echo "quickstart: no BERT vocabulary found; set MTDNN_VOCAB to bert-base-uncased's vocab.txt" >&2
  exit 1
fi

scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target mtdnn-preprocess

out=runs/quickstart
mkdir -p "$out"
# Each GLUE task with the splits whose files are present (GLUE's names: folder -> mt-dnn task).
declare -A folders=([cola]=CoLA [sst]=SST-2 [mrpc]=MRPC [stsb]=STS-B [rte]=RTE [wnli]=WNLI [qnli]=QNLI [qqp]=QQP)
summary=""
for task in cola sst mrpc stsb rte wnli qnli qqp; do
  splits=""
  for split in train dev test; do
    [ -f "$glue/${folders[$task]}/$split.tsv" ] && splits="$splits${splits:+,}$split"
  done
  [ -n "$splits" ] || continue
  table=$(build/bin/mtdnn-preprocess --task-def tasks/glue.yml --input "$glue" --vocab "$vocab" --uncased \
    --max-seq-len 512 --shards 2 --out "$out/data" --tasks "$task" --splits "$splits")
  [ -n "$summary" ] || summary=$(echo "$table" | head -n 1)
  summary="$summary
$(echo "$table" | sed '1d;$d')"
done
echo
echo "Preprocessed GLUE into $out/data:"
echo "$summary"
