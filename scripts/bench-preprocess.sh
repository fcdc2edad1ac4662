#!/usr/bin/env bash
# Preprocessing benchmarks on the real GLUE train+dev rows, printed as markdown tables.
# Tokenizer section: mtdnn's WordPiece tokenizer (bench/tokenizer_bench.cc) against
# Hugging Face's fast BertTokenizer (tests/hf/bench_hf.py: the Python `tokenizers` package,
# encode_batch with RAYON_NUM_THREADS=1), both pinned to one CPU, run alternately, best of 3
# rounds each.
# Whole-tool section: mtdnn-preprocess on the same rows and on SST-2's train file repeated
# 8 times, with 1 and 2 threads (best of 3), and its peak memory at 1x and 8x (memory must
# stay flat as the corpus grows).
# Usage: scripts/bench-preprocess.sh [--update-readme] [BUILD_DIR]   (default: build; needs
#   mtdnn-bench-tokenizer and mtdnn-preprocess built there, a Python with `tokenizers`:
#   $MTDNN_PYTHON, else scripts/venv-python (the project's environment), and the GLUE data
#   in $MTDNN_DATA_DIR or ../shared/data). --update-readme also writes the tables into
#   README.md's bench:preprocess block.
set -euo pipefail

update_readme=0
if [ "${1:-}" = "--update-readme" ]; then update_readme=1; shift; fi

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
data=${MTDNN_DATA_DIR:-$root/../shared/data}
vocab=$data/vocab/bert-base-uncased-vocab.txt
rounds=3
# The Python of tests/hf/ (parity.py --extract, bench_hf.py).
python=${MTDNN_PYTHON:-$root/scripts/venv-python}
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
  "$python" "$root/tests/hf/parity.py" --extract "$work/pairs.tsv" --splits train,dev --data-dir "$data"
}

bench_tokenizer() {
  local mtdnn_json=$work/tokenizer_mtdnn.json hf_json=$work/tokenizer_hf.json
  : >"$mtdnn_json"
  : >"$hf_json"
  for round in $(seq "$rounds"); do
    echo "tokenizer round $round/$rounds" >&2
    "${pin[@]}" "$build/bin/mtdnn-bench-tokenizer" "$work/pairs.tsv" "$vocab" --repeats 3 >>"$mtdnn_json"
    RAYON_NUM_THREADS=1 "${pin[@]}" "$python" "$root/tests/hf/bench_hf.py" "$work/pairs.tsv" "$vocab" \
      --mode batch --repeats 2 >>"$hf_json"
  done
  local rows tokens hf_tokens mtdnn_tps hf_tps hf_version
  rows=$(best_field "$mtdnn_json" rows)
  tokens=$(best_field "$mtdnn_json" tokens)
  hf_tokens=$(best_field "$hf_json" tokens)
  mtdnn_tps=$(best_field "$mtdnn_json" tokens_per_s)
  hf_tps=$(best_field "$hf_json" tokens_per_s)
  hf_version=$(best_field "$hf_json" impl)
  hf_version=${hf_version#hf-tokenizers-}
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
  echo "| Hugging Face tokenizers $hf_version (Python, encode_batch, RAYON_NUM_THREADS=1) | $hf_tokens |" \
       "$(best_field "$hf_json" seconds) | $hf_tps |"
  echo
  echo "mtdnn / Hugging Face: $(jq -n -r "$mtdnn_tps / $hf_tps * 10 | round / 10")x"
}

# Runs mtdnn-preprocess on GLUE's train+dev files; prints "seconds tokens" of the run.
run_tool() {
  local threads=$1 out=$work/tool-$1
  rm -rf "$out"
  local start end
  start=$(date +%s.%N)
  "$build/bin/mtdnn-preprocess" --task-def "$root/tasks/glue.yml" --input "$data/glue" --vocab "$vocab" \
    --threads "$threads" --shards 2 --out "$out" --tasks cola,sst,mrpc,stsb,rte,wnli --splits train,dev \
    >"$out.log" 2>&1
  "$build/bin/mtdnn-preprocess" --task-def "$root/tasks/glue.yml" --input "$data/glue" --vocab "$vocab" \
    --threads "$threads" --shards 2 --out "$out" --tasks qnli --splits dev >>"$out.log" 2>&1
  end=$(date +%s.%N)
  local tokens
  tokens=$(jq -s '[.[].splits[].tokens] | add' "$out"/*/manifest.json)
  echo "$(echo "$end - $start" | bc -l) $tokens"
}

# SST-2's train rows repeated $1 times, as mt-dnn canonical TSV in $work/sst-$1.
make_sst_copies() {
  local copies=$1 in=$work/sst-$1
  mkdir -p "$in"
  for _ in $(seq "$copies"); do
    awk -F'\t' 'NR > 1 { print $2 "\t" $1 }' "$data/glue/SST-2/train.tsv"
  done | awk -F'\t' '{ print NR "\t" $1 "\t" $2 }' >"$in/sst_train.tsv"
}

# Runs mtdnn-preprocess on $work/sst-$1 with $2 threads; prints "seconds peak_KiB".
run_sst() {
  local in=$work/sst-$1
  rm -rf "$in/out"
  /usr/bin/time -f '%e %M' -o "$in/time" "$build/bin/mtdnn-preprocess" --task-def "$root/tasks/glue.yml" \
    --input "$in" --vocab "$vocab" --threads "$2" --out "$in/out" --tasks sst --splits train >/dev/null 2>&1
  cat "$in/time"
}

min_of() { printf '%s\n' "$@" | sort -g | head -n 1; }

bench_tool() {
  local glue1=() glue2=() big1=() big2=() tokens="" seconds peak
  make_sst_copies 1
  make_sst_copies 8
  local big_rows big_tokens
  big_rows=$(wc -l <"$work/sst-8/sst_train.tsv")
  for round in $(seq "$rounds"); do
    echo "tool round $round/$rounds" >&2
    read -r seconds tokens < <(run_tool 1); glue1+=("$seconds")
    read -r seconds tokens < <(run_tool 2); glue2+=("$seconds")
    read -r seconds peak < <(run_sst 8 1); big1+=("$seconds")
    read -r seconds peak < <(run_sst 8 2); big2+=("$seconds")
  done
  big_tokens=$(jq '[.splits[].tokens] | add' "$work/sst-8/out/sst/manifest.json")
  local peak1 peak8
  read -r _ peak1 < <(run_sst 1 2)
  read -r _ peak8 < <(run_sst 8 2)
  local g1 g2 b1 b2
  g1=$(min_of "${glue1[@]}"); g2=$(min_of "${glue2[@]}")
  b1=$(min_of "${big1[@]}"); b2=$(min_of "${big2[@]}")
  echo
  echo "### mtdnn-preprocess, whole tool (read, tokenize, write HDF5 shards, fsync), best of $rounds"
  echo
  echo "| input | rows | tokens | threads | seconds | tokens/s |"
  echo "|---|---:|---:|---:|---:|---:|"
  local glue_rows
  glue_rows=$(jq -s '[.[].splits[].rows] | add' "$work"/tool-2/*/manifest.json)
  awk -v r="$glue_rows" -v t="$tokens" -v s="$g1" 'BEGIN { printf "| GLUE train+dev (7 tasks) | %d | %d | 1 | %.2f | %.0f |\n", r, t, s, t / s }'
  awk -v r="$glue_rows" -v t="$tokens" -v s="$g2" 'BEGIN { printf "| GLUE train+dev (7 tasks) | %d | %d | 2 | %.2f | %.0f |\n", r, t, s, t / s }'
  awk -v r="$big_rows" -v t="$big_tokens" -v s="$b1" 'BEGIN { printf "| SST-2 train x8 | %d | %d | 1 | %.2f | %.0f |\n", r, t, s, t / s }'
  awk -v r="$big_rows" -v t="$big_tokens" -v s="$b2" 'BEGIN { printf "| SST-2 train x8 | %d | %d | 2 | %.2f | %.0f |\n", r, t, s, t / s }'
  echo
  awk -v a="$b1" -v b="$b2" 'BEGIN { printf "Speed-up from 1 to 2 threads on SST-2 x8: %.2fx. ", a / b }'
  echo "Peak memory: SST-2 train x1 $((peak1 / 1024)) MiB, x8 $((peak8 / 1024)) MiB."
}

extract_pairs
report=$( { bench_tokenizer; bench_tool; } )
echo "$report"
if [ "$update_readme" = 1 ]; then
  { echo "Measured by \`scripts/bench-preprocess.sh --update-readme\` on a 2-core machine:"; echo "$report"; } |
    "$root/scripts/readme-block.py" bench:preprocess
fi
