#!/usr/bin/env bash
# Training-step throughput of the C++ model against the PyTorch peer reference
# (../shared/bench/ref_mtdnn.py) on the same workload: BERT-mini, batch 32, a classification
# head, dropout 0.1, AdamW + clipping, 2 threads. Runs alternate (C++, then the reference
# at --threads 1 and 2, each with and without --blas-threads 1) for a few rounds; the best
# run of each side is compared, and the C++ binary's model-FLOPs utilisation against the
# GEMM peak it measures is printed.
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
ref=$shared/bench/ref_mtdnn.py
if [ ! -x "$bench" ]; then
  echo "bench-model: building $bench"
  cmake -S "$here" -B "$build" -G Ninja >/dev/null
  cmake --build "$build" -j2 --target mtdnn-bench-model-torch
fi
[ -f "$ref" ] || { echo "bench-model: reference not found at $ref (set MTDNN_SHARED_DIR)" >&2; exit 1; }

workload=(--batch 32 --steps "$steps" --seq "$seq")
if [ "$glue" = 1 ]; then workload+=(--lengths "$shared/bench/lengths"); fi
ref_configs=("--threads 1" "--threads 1 --blas-threads 1" "--threads 2" "--threads 2 --blas-threads 1")

echo "bench-model: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
best_cpp=0 best_cpp_line="" best_cpp_gflops=0 flop_line="" best_ref=0 best_ref_cfg="" peak=0 peak_line=""
tokens_of() { sed -n 's/.*tokens\/s \([0-9.]*\) sequences.*/\1/p' <<<"$1" | head -1; }
for ((r = 1; r <= rounds; r++)); do
  echo "== round $r/$rounds"
  wait_idle
  out=$("$bench" --threads 2 "${workload[@]}")
  line=$(head -1 <<<"$out")
  echo "mtdnn C++ (2 threads):             $line"
  t=$(tokens_of "$line")
  if gt "$t" "$best_cpp"; then
    best_cpp=$t best_cpp_line=$line
    best_cpp_gflops=$(sed -n 's/.*achieved_gflops \([0-9.]*\).*/\1/p' <<<"$out")
    flop_line=$(grep model_gflop_per_step <<<"$out")
  fi
  # The GEMM peak: the highest any run measured (contention only ever lowers it).
  p=$(sed -n 's/^gemm_peak_gflops \([0-9.]*\).*/\1/p' <<<"$out")
  if gt "$p" "$peak"; then peak=$p peak_line=$(grep gemm_peak_gflops <<<"$out"); fi
  for cfg in "${ref_configs[@]}"; do
    wait_idle
    # shellcheck disable=SC2086  # cfg holds several flags
    line=$("$peer_python" "$ref" $cfg "${workload[@]}" | tail -1)
    printf 'reference %-30s %s\n' "($cfg):" "$line"
    t=$(tokens_of "$line")
    if gt "$t" "$best_ref"; then best_ref=$t best_ref_cfg=$cfg; fi
  done
done
echo "== summary ($( [ "$glue" = 1 ] && echo "GLUE batch shapes" || echo "fixed length $seq"), batch 32, best of $rounds rounds)"
summary=$(
echo "mtdnn C++   best: $best_cpp_line"
echo "            $flop_line"
echo "            best $peak_line"
awk "BEGIN{printf \"            MFU %.1f%% (%.1f GFLOP/s of model FLOPs / %.1f GFLOP/s GEMM peak)\n\", 100 * $best_cpp_gflops / $peak, $best_cpp_gflops, $peak}"
echo "reference   best: tokens/s $best_ref ($best_ref_cfg)"
awk "BEGIN{printf \"ratio       %.2fx real tokens/s (C++ / reference)\n\", $best_cpp / $best_ref}"
)
echo "$summary"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$update_readme" = 1 ]; then
  printf '```\n%s\n```\n' "$summary" | readme_block bench:model \
    "Measured by \`scripts/bench-model.sh --update-readme$( [ "$glue" = 1 ] && echo " --glue")\` (BERT-mini, batch 32, $( [ "$glue" = 1 ] && echo "GLUE batch shapes" || echo "length $seq"),
forward + backward + AdamW step, best of $rounds rounds of $steps steps; MFU against the GEMM peak measured in the same run):"
fi
