#!/usr/bin/env bash
# Where a training step's CPU time goes, for mtdnn and for a peer, on the same workload:
# `perf record` of build/bin/mtdnn-bench-model-torch and of bench/hf_peer.py (Hugging Face's
# BERT, SDPA attention, PyTorch 2.x eager), both at 2 threads, then each side's samples
# grouped by what the symbol does: GEMM kernels (MKL, oneDNN, OpenBLAS), OpenMP's runtime
# (threads waiting at barriers or for work), GELU, softmax and attention, dropout, LayerNorm,
# the optimizer (AdamW, gradient norm), the Python interpreter, the kernel (page faults,
# scheduling) and the rest. Shares are of all samples of the process, start-up included
# (kept small by the step count, default 20).
#
# --glue profiles training on real GLUE batches instead: mtdnn-train on the shards and
# configuration scripts/bench-train.sh left in $build/bench-train (1 rank x 2 threads, --steps
# steps) against bench/hf_peer.py --lengths (the same tasks' real lengths).
#
# usage: scripts/profile-step.sh [--steps N] [--glue] [--build DIR] [-- BENCH_FLAGS...]
#   BENCH_FLAGS go to both sides (e.g. -- --layers 12 --hidden 768 --heads 12 --intermediate 3072)
# Needs perf (Debian: linux-perf).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib/bench.sh
. "$here/scripts/lib/bench.sh"
shared=${MTDNN_SHARED_DIR:-$here/../shared}
# shellcheck disable=SC2034  # rounds and update_readme are bench_args' (unused here)
build=$here/build rounds=1 steps=20 update_readme=0 extra=() glue=0
# shellcheck disable=SC2034  # used is read by bench_args
bench_option() {
  case "$1" in
    --glue) glue=1 used=1 ;;
    --) shift; extra=("$@"); used=$(( $# + 1 )) ;;
  esac
}
bench_args profile-step "$@"
command -v perf >/dev/null || { echo "profile-step: perf not found (Debian: apt-get install linux-perf)" >&2; exit 1; }
bench_prepare profile-step mtdnn-bench-model-torch

workload=(--threads 2 --batch 32 --steps "$steps" "${extra[@]}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

profile() {  # NAME CMD...: perf record CMD, print its line and the grouped shares
  local name=$1
  shift
  wait_idle
  perf record -q -o "$tmp/$name.data" -- "$@" >"$tmp/$name.out" 2>/dev/null
  echo "$name: $(grep -m1 'tokens/s' "$tmp/$name.out" || echo "mtdnn-train on the bench-train shards")"
  perf report -q -i "$tmp/$name.data" --no-children --sort dso,symbol -g none --stdio 2>/dev/null |
    /usr/bin/python3 -c '
import re, sys
groups = [("GEMM kernels", r"(?i)sgemm|gemm|mkl_blas|dnnl|jit_avx|brgemm|openblas"),
          ("OpenMP runtime (waiting)", r"libgomp|libiomp|GOMP_|__kmp"),
          ("GELU", r"(?i)gelu"), ("softmax, attention", r"(?i)softmax|attention|sdpa|flash"),
          ("dropout, random numbers", r"(?i)dropout|bernoulli|random|generator|normal_kernel"),
          ("LayerNorm", r"(?i)layer_?norm|RowwiseMoments"),
          ("optimizer, gradient norm", r"(?i)adam|sum_squares|optimizer|norm_kernel|foreach"),
          ("Python interpreter", r"libpython|python3|_PyEval|\bPy[A-Z]"),
          ("kernel (page faults, scheduling)", r"\[kernel|\[k\]")]
share = {g: 0.0 for g, _ in groups}
share["other"] = 0.0
for line in sys.stdin:
    m = re.match(r"\s*([0-9.]+)%\s+(.*)", line)
    if not m:
        continue
    pct, rest = float(m.group(1)), m.group(2)
    for g, pattern in groups:
        if re.search(pattern, rest):
            share[g] += pct
            break
    else:
        share["other"] += pct
for g, v in share.items():
    print(f"  {g:34s} {v:5.1f}%")
'
}

if [ "$glue" = 1 ]; then
  (( steps > 20 )) || { echo "profile-step: --glue needs --steps above 20 (two log windows of 10)" >&2; exit 2; }
  ini=$build/bench-train/train.ini
  [ -f "$ini" ] || { echo "profile-step: $ini not found (run scripts/bench-train.sh first)" >&2; exit 1; }
  profile mtdnn "$build/bin/mtdnn-train" --config "$ini" --threads 2 --bucket-window 0 --max-steps "$steps" \
    --out "$tmp/train"
  echo "  (mtdnn-train: $(train_rates "$tmp/train/metrics.jsonl" | cut -d' ' -f1) real tokens/s after its first log window)"
  profile hugging-face "$peer_python" "$here/bench/hf_peer.py" "${workload[@]}" --lengths "$shared/bench/lengths"
else
  profile mtdnn "$build/bin/mtdnn-bench-model-torch" --gemm 256 "${workload[@]}"
  profile hugging-face "$peer_python" "$here/bench/hf_peer.py" "${workload[@]}"
fi
