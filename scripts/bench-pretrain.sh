#!/usr/bin/env bash
# Pretraining (stage 1): mtdnn-train's masked-LM + next-sentence steps against the peer set's
# (scripts/lib/bench.sh: bench/ref_mtdnn.py --pretrain and Hugging Face's BertForPreTraining,
# bench/hf_peer.py --pretrain, under PyTorch 2.x, eager and torch.compile; ref_mtdnn.py under
# torch 1.13 where installed), and mtdnn-preprocess's corpus stage.
#
# Training: BERT-mini (L=4, H=256, A=4, I=1024, vocab 30522), batch 32, max length 128,
# AdamW, dropout 0.1. mtdnn-train (1 rank x 2 threads, --tasks wiki of tasks/pretrain.yml)
# trains on the sentence-pair instances mtdnn-preprocess makes from the python-docs corpus
# (../shared/data/corpus), masked at batch time by its own loader. The peers draw sequences of
# 128 tokens (10% shorter) with 15% of the real tokens masked, in both ways of scoring the
# masked LM: --mlm-positions all (the decoder over every position: BertForPreTraining given
# the labels) and --mlm-positions masked (the masked positions gathered first, as NVIDIA's
# BERT and mtdnn do), each at 1 and 2 threads. Runs alternate for a few rounds; the best of
# each counts, and the ratio is over the best peer of either way. Throughput is real (non-pad)
# tokens per second over the steps after the first log window (the peers skip their 3
# warm-up steps). The peers are slower per step, so they run fewer timed steps (--ref-steps)
# than mtdnn-train (--steps). Every row has its peak resident memory.
#
# Corpus stage: mtdnn-preprocess on the python-docs corpus and on 8 copies of it
# concatenated, pinned to one core (the corpus stage is single-threaded): whole-tool seconds
# (read, tokenize, make instances, write and fsync the shards; best of the rounds), the
# corpus's word pieces per second, and the peak resident memory (/usr/bin/time, the largest
# of the rounds), which the corpus window bounds.
#
# usage: scripts/bench-pretrain.sh [--rounds N] [--steps N] [--ref-steps N] [--update-readme]
#                                  [--build DIR]
# Environment: MTDNN_SHARED_DIR (default: ../shared beside the repository),
# MTDNN_BENCH_IDLE_WAIT (seconds to wait for idle cores before each run, default 60).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib/bench.sh
. "$here/scripts/lib/bench.sh"
shared=${MTDNN_SHARED_DIR:-$here/../shared}
build=$here/build rounds=2 steps=60 ref_steps=5 update_readme=0
# shellcheck disable=SC2034  # used is read by bench_args
bench_option() {
  case "$1" in
    --ref-steps) ref_steps=$2 used=2 ;;
  esac
}
bench_args bench-pretrain "$@"

corpus=$shared/data/corpus
vocab=$shared/data/vocab/bert-base-uncased-vocab.txt
bench_prepare bench-pretrain "mtdnn-preprocess mtdnn-train" "$corpus/python-docs.txt" "$vocab"
(( ref_steps >= 1 )) || { echo "bench-pretrain: --ref-steps must be at least 1" >&2; exit 2; }

work=$build/bench-pretrain
rm -rf "$work" && mkdir -p "$work"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/x1" "$tmp/x8"
cp "$corpus/python-docs.txt" "$tmp/x1/"
for _ in 1 2 3 4 5 6 7 8; do cat "$corpus/python-docs.txt"; done >"$tmp/x8/python-docs.txt"
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)

"$build/bin/mtdnn-preprocess" --task-def "$here/tasks/pretrain.yml" --input "$corpus" --vocab "$vocab" \
  --max-seq-len 128 --out "$work/data" --tasks wiki >/dev/null
bench_train_ini bench-pretrain "$here/tasks/pretrain.yml" wiki "threads = 2"

run_mtdnn() {
  local out=$work/train
  rm -rf "$out"
  measured "$build/bin/mtdnn-train" --config "$work/train.ini" --out "$out" >"$work/train.log" 2>&1 ||
    { cat "$work/train.log" >&2; exit 1; }
  echo "$(train_rates "$out/metrics.jsonl") $(field peak_rss_mib "$(cat "$work/train.log")")"
}

# run_corpus COPIES: mtdnn-preprocess on the corpus x COPIES, on one core; prints
# "seconds peak_KiB documents corpus_tokens instances instance_tokens".
run_corpus() {
  local in=$tmp/x$1 out=$tmp/out start end
  rm -rf "$out"
  start=$(date +%s.%N)
  /usr/bin/time -v -o "$tmp/time" "${pin[@]}" "$build/bin/mtdnn-preprocess" --task-def "$here/tasks/pretrain.yml" \
    --input "$in" --vocab "$vocab" --max-seq-len 128 --threads 1 --out "$out" --tasks wiki \
    >"$work/corpus-x$1.log" 2>&1 || { cat "$work/corpus-x$1.log" >&2; exit 1; }
  end=$(date +%s.%N)
  /usr/bin/python3 - "$start" "$end" "$tmp/time" "$out/wiki/manifest.json" <<'PY'
import json, re, sys
start, end, time_file, manifest = sys.argv[1:]
peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(time_file).read()).group(1)
splits = json.load(open(manifest))["splits"]
total = lambda key: sum(s["corpus"][key] for s in splits)
print(f'{float(end) - float(start):.3f} {peak} {total("documents")} {total("corpus_tokens")} '
      f'{total("instances")} {sum(s["tokens"] for s in splits)}')
PY
}

mlm_modes=(masked all)
declare -A best_tok best_line corpus_s corpus_peak corpus_counts
echo "bench-pretrain: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
  "$steps mtdnn-train steps and $ref_steps peer steps per run"
for ((r = 1; r <= rounds; r++)); do
  echo "== round $r/$rounds"
  for copies in 1 8; do
    wait_idle
    line=$(run_corpus "$copies")
    read -r sec peak docs ctok inst itok <<<"$line"
    printf 'mtdnn-preprocess corpus x%s: %s s, %s word pieces (%.0f/s on one core), peak %s MiB\n' \
      "$copies" "$sec" "$ctok" "$(awk -v t="$ctok" -v s="$sec" 'BEGIN { print t / s }')" "$((peak / 1024))"
    if [ -z "${corpus_s[$copies]:-}" ] || gt "${corpus_s[$copies]}" "$sec"; then corpus_s[$copies]=$sec; fi
    if gt "$peak" "${corpus_peak[$copies]:-0}"; then corpus_peak[$copies]=$peak; fi
    corpus_counts[$copies]="$docs $ctok $inst $itok"
  done
  wait_idle
  line=$(run_mtdnn)
  read -r tok loader _ _ rss <<<"$line"
  printf '  mtdnn-train 1 rank x 2 threads: %6s tokens/s (loader wait %s%%), peak %s MiB\n' "$tok" "$loader" "$rss"
  if gt "$tok" "${best_tok[m]:-0}"; then best_tok[m]=$tok best_line[m]="$loader|$rss"; fi
  for mode in "${mlm_modes[@]}"; do
    echo "  peers, --mlm-positions $mode:"
    run_peers "$mode" --pretrain --mlm-positions "$mode" --batch 32 --seq 128 --steps "$ref_steps"
  done
done

read -r best_masked who_masked <<<"$(best_peer masked)"
read -r best_all who_all <<<"$(best_peer all)"
if gt "$best_all" "$best_masked"; then ref_best=$best_all ref_who="$who_all, --mlm-positions all"
else ref_best=$best_masked ref_who="$who_masked, --mlm-positions masked"; fi
report=$(
  echo "| side | configuration | real tokens/s (best of $rounds) | vs best peer | peak resident MiB | loader wait |"
  echo "|---|---|---:|---:|---:|---:|"
  IFS='|' read -r loader rss <<<"${best_line[m]}"
  awk -v t="${best_tok[m]}" -v r="$ref_best" -v l="$loader%" -v m="$rss" \
    'BEGIN { printf "| **mtdnn-train** | 1 rank x 2 threads, --tasks wiki (tasks/pretrain.yml) | %.0f | **%.2fx** | %d | %s |\n", t, t / r, m, l }'
  for mode in "${mlm_modes[@]}"; do
    echo
    if [ "$mode" = all ]; then way="the decoder over every position (BertForPreTraining given labels)"
    else way="the masked positions gathered first (as NVIDIA's BERT and mtdnn)"; fi
    echo "| peer, MLM loss on $way | threads (best) | real tokens/s (best of $rounds) | vs best peer | warm-up s (compilation) | peak resident MiB |"
    echo "|---|---:|---:|---:|---:|---:|"
    peer_rows "$mode" "$ref_best"
  done
  echo
  echo "Best peer: $ref_who."
  echo
  echo "| corpus stage (mtdnn-preprocess, one core) | documents | word pieces | instances | instance tokens | seconds (best of $rounds) | word pieces/s/core | peak memory |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for copies in 1 8; do
    read -r docs ctok inst itok <<<"${corpus_counts[$copies]}"
    awk -v c="$copies" -v bytes="$(stat -c %s "$tmp/x$copies/python-docs.txt")" -v d="$docs" -v t="$ctok" \
      -v i="$inst" -v it="$itok" -v s="${corpus_s[$copies]}" -v p="$((corpus_peak[$copies] / 1024))" \
      'BEGIN { printf "| python-docs x%d (%.1f MiB) | %d | %d | %d | %d | %.2f | %.0f | %d MiB |\n", c, bytes / 1048576, d, t, i, it, s, t / s, p }'
  done
)
echo "== summary (BERT-mini, batch 32, max length 128, masked LM + next sentence; $steps mtdnn-train steps, $ref_steps peer steps)"
echo "$report"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$update_readme" = 1 ]; then
  echo "$report" | readme_block bench:pretrain "Measured by \`scripts/bench-pretrain.sh --update-readme\` on a $(nproc)-core machine ($rounds rounds;
$steps mtdnn-train steps on the python-docs corpus's instances, $ref_steps peer steps per run; loader wait is a share of
the step-loop time; a peer's warm-up is its 3 untimed steps, which hold torch.compile's compilation):"
fi
