#!/usr/bin/env bash
# Preprocessing benchmarks on the real GLUE train+dev rows, printed as markdown tables.
# Tokenizer section: mtdnn's WordPiece tokenizer (bench/tokenizer_bench.cc) against
# Hugging Face's fast BertTokenizer (tests/hf/bench_hf.js), both pinned to one CPU,
# run alternately, best of 3 rounds each.
# Usage: scripts/bench-preprocess.sh [BUILD_DIR]   (default: build; needs
#   mtdnn-bench-tokenizer built there, node and tests/hf/node_modules, the GLUE data in
#   $MTDNN_DATA_DIR or ../shared/data)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
data=${MTDNN_DATA_DIR:-$root/../shared/data}
vocab=$data/vocab/bert-base-uncased-vocab.txt
rounds=3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One CPU for every timed process, so "per core" means per core.
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)

# Field $2 of the JSON object on line(s) of file $1 with the highest tokens_per_s.
best_field() {
  jq -s -r "max_by(.tokens_per_s) | .$2" "$1"
}

extract_pairs() {
  node "$root/tests/hf/parity.js" --extract "$work/pairs.tsv" --splits train,dev --data-dir "$data"
}

bench_tokenizer() {
  local mtdnn_json=$work/tokenizer_mtdnn.json hf_json=$work/tokenizer_hf.json
  : >"$mtdnn_json"
  : >"$hf_json"
  for round in $(seq "$rounds"); do
    echo "tokenizer round $round/$rounds" >&2
    "${pin[@]}" "$build/bin/mtdnn-bench-tokenizer" "$work/pairs.tsv" "$vocab" --repeats 3 >>"$mtdnn_json"
    RAYON_NUM_THREADS=1 "${pin[@]}" node "$root/tests/hf/bench_hf.js" "$work/pairs.tsv" "$vocab" \
      --mode batch --repeats 2 >>"$hf_json"
  done
  local rows tokens hf_tokens mtdnn_tps hf_tps
  rows=$(best_field "$mtdnn_json" rows)
  tokens=$(best_field "$mtdnn_json" tokens)
  hf_tokens=$(best_field "$hf_json" tokens)
  mtdnn_tps=$(best_field "$mtdnn_json" tokens_per_s)
  hf_tps=$(best_field "$hf_json" tokens_per_s)
  if [ "$tokens" != "$hf_tokens" ]; then
    echo "bench-preprocess: token counts differ (mtdnn $tokens, Hugging Face $hf_tokens): run the parity test" >&2
    exit 1
  fi
  echo
  echo "### WordPiece tokenizer, one core (GLUE train+dev: $rows rows, bert-base-uncased, max_len 512)"
  echo
  echo "| tokenizer | tokens | seconds | tokens/s/core |"
  echo "|---|---:|---:|---:|"
  echo "| mtdnn | $tokens | $(best_field "$mtdnn_json" seconds) | $mtdnn_tps |"
  echo "| Hugging Face tokenizers 0.23.2 (encodeBatch, RAYON_NUM_THREADS=1) | $hf_tokens |" \
       "$(best_field "$hf_json" seconds) | $hf_tps |"
  echo
  echo "mtdnn / Hugging Face: $(jq -n -r "$mtdnn_tps / $hf_tps * 10 | round / 10")x"
}

extract_pairs
bench_tokenizer
