#!/usr/bin/env bash
# Training-step throughput of the C++ model against the peer set (scripts/lib/bench.sh:
# bench/ref_mtdnn.py and Hugging Face's BERT under PyTorch 2.x, eager and torch.compile, and
# ref_mtdnn.py under torch 1.13 where installed) on the same workload: BERT-mini, batch 32, a
# classification head, dropout 0.1, AdamW + clipping. Runs alternate (C++ at 2 threads, then
# every peer at 1 and 2 threads) for a few rounds; the best run of each counts. Every row gets
# its peak resident memory and its model-FLOPs utilisation against the GEMM peak the C++
# binary measures in the same run (the same model FLOPs per token for every side).
#
# usage: scripts/bench-model.sh [--rounds N] [--steps N] [--seq N] [--glue] [--build DIR] [--update-readme]
#   --update-readme  also write the summary into README.md's bench:model block
#   --glue   real GLUE batch shapes (../shared/bench/lengths) instead of fixed length --seq
# Environment: MTDNN_SHARED_DIR (default: ../shared beside the repository),
# MTDNN_BENCH_IDLE_WAIT (seconds to wait for idle cores before each run, default 60).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib/bench.sh
. "$here/scripts/lib/bench.sh"
shared=${MTDNN_SHARED_DIR:-$here/../shared}
build=$here/build rounds=2 steps=20 update_readme=0
seq=128 glue=0
bench_option() {
  case "$1" in
    --seq) seq=$2; used=2 ;;
    --glue) glue=1; used=1 ;;
  esac
}
bench_args bench-model "$@"

bench=$build/bin/mtdnn-bench-model-torch
if [ ! -x "$bench" ]; then
  echo "bench-model: building $bench"
  cmake -S "$here" -B "$build" -G Ninja >/dev/null
  cmake --build "$build" -j2 --target mtdnn-bench-model-torch
fi

workload=(--batch 32 --steps "$steps" --seq "$seq")
if [ "$glue" = 1 ]; then
  [ -d "$shared/bench/lengths" ] || { echo "bench-model: $shared/bench/lengths not found (set MTDNN_SHARED_DIR)" >&2; exit 1; }
  workload+=(--lengths "$shared/bench/lengths")
fi

echo "bench-model: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
best_cpp=0 best_out="" peak=0 peak_line=""
for ((r = 1; r <= rounds; r++)); do
  echo "== round $r/$rounds"
  wait_idle
  out=$(measured "$bench" --threads 2 "${workload[@]}")
  echo "  mtdnn C++ (2 threads): $(head -1 <<<"$out"), peak $(field peak_rss_mib "$out") MiB"
  t=$(field tokens/s "$out")
  if gt "$t" "$best_cpp"; then best_cpp=$t best_out=$out; fi
  # The GEMM peak: the highest any run measured (contention only ever lowers it).
  p=$(field gemm_peak_gflops "$out")
  if gt "$p" "$peak"; then peak=$p peak_line=$(grep gemm_peak_gflops <<<"$out"); fi
  run_peers model "${workload[@]}"
done

# Model FLOPs per real token (the C++ binary's count; the same model for every side).
gpt=$(awk -v g="$(field model_gflop_per_step "$best_out")" -v t="$best_cpp" -v s="$(field steps/s "$best_out")" \
  'BEGIN { print g * s / t }')
read -r ref_best ref_who <<<"$(best_peer model)"
shape=$( [ "$glue" = 1 ] && echo "GLUE batch shapes" || echo "length $seq")
summary=$(
  echo "| side | threads | real tokens/s (best of $rounds) | vs best peer | warm-up s (compilation) | peak resident MiB | MFU |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  awk -v t="$best_cpp" -v r="$ref_best" -v m="$(field peak_rss_mib "$best_out")" -v g="$gpt" -v p="$peak" \
    'BEGIN { printf "| **mtdnn C++** | 2 | %.0f | **%.2fx** | | %d | %.1f%% |\n", t, t / r, m, 100 * t * g / p }'
  peer_rows model "$ref_best" "$gpt" "$peak"
  echo
  echo "Best peer: $ref_who. GEMM peak: ${peak_line#gemm_peak_gflops } GFLOP/s."
  echo "mtdnn's step: $(grep '^step_ms' <<<"$best_out" | sed 's/^step_ms //; s/ \([a-z_]*\) /, \1 /g') ms."
)
echo "== summary ($shape, batch 32, best of $rounds rounds)"
echo "$summary"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$update_readme" = 1 ]; then
  echo "$summary" | readme_block bench:model \
    "Measured by \`scripts/bench-model.sh --update-readme$( [ "$glue" = 1 ] && echo " --glue")\` on a $(nproc)-core machine (BERT-mini, batch 32, $shape,
forward + backward + AdamW step, best of $rounds rounds of $steps steps; MFU: model FLOPs per second against the GEMM peak
measured in the same run):"
fi
