#!/usr/bin/env bash
# The largest batch of BERT-base (L=12, H=768, A=12, I=3072) at length 128 whose training step
# (forward, backward, AdamW) fits in a memory budget (default 8 GiB of peak resident memory),
# for mtdnn (build/bin/mtdnn-bench-model-torch) and for the eager peers under PyTorch 2.x
# (bench/ref_mtdnn.py, Hugging Face's BERT with SDPA attention: bench/hf_peer.py), 2 threads.
#
# A step's memory is affine in the batch: weights, gradients and AdamW's moments, plus
# activations per sequence. Each side runs 2 steps (the second holds AdamW's moments while
# backward's activations are alive) at batches 4 and 16; the line through the two peaks
# predicts the largest batch under the budget, and runs at that batch and the next confirm it
# (moving by the line's slope, at least one batch, while they disagree). Peak resident memory is the process's
# largest resident set (/usr/bin/time), libraries included.
#
# usage: scripts/bench-memory.sh [--budget-mib N] [--update-readme] [--build DIR]
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib/bench.sh
. "$here/scripts/lib/bench.sh"
# shellcheck disable=SC2034  # rounds and steps are bench_args' (unused here)
build=$here/build rounds=1 steps=1 update_readme=0 budget=8192
# shellcheck disable=SC2034  # used is read by bench_args
bench_option() {
  case "$1" in
    --budget-mib) budget=$2 used=2 ;;
  esac
}
bench_args bench-memory "$@"
bench_prepare bench-memory mtdnn-bench-model-torch

base=(--layers 12 --hidden 768 --heads 12 --intermediate 3072 --seq 128 --threads 2 --warmup 1 --steps 1)
v2=$(torch_version "$peer_python")
sides=("mtdnn C++|$build/bin/mtdnn-bench-model-torch --gemm 256"
       "ref_mtdnn.py, torch $v2 eager|$peer_python $here/bench/ref_mtdnn.py"
       "Hugging Face BERT (SDPA), torch $v2 eager|$peer_python $here/bench/hf_peer.py")

# peak_at CMD BATCH: the peak resident MiB of 2 steps at BATCH.
peak_at() {
  local out
  wait_idle
  # shellcheck disable=SC2086  # the command is several words
  out=$(measured $1 "${base[@]}" --batch "$2" 2>/dev/null)
  field peak_rss_mib "$out"
}

echo "bench-memory: $(nproc) cores, budget $budget MiB, load average $(cut -d' ' -f1-3 /proc/loadavg)"
rows=()
for entry in "${sides[@]}"; do
  IFS='|' read -r label cmd <<<"$entry"
  m4=$(peak_at "$cmd" 4) m16=$(peak_at "$cmd" 16)
  per=$(awk -v a="$m4" -v b="$m16" 'BEGIN { printf "%.1f", (b - a) / 12 }')
  fixed=$(awk -v a="$m4" -v p="$per" 'BEGIN { printf "%.0f", a - 4 * p }')
  n=$(awk -v f="$fixed" -v p="$per" -v m="$budget" 'BEGIN { printf "%d", (m - f) / p }')
  echo "  $label: batch 4 $m4 MiB, batch 16 $m16 MiB: $fixed MiB + $per MiB per sequence, predicts $n"
  # Confirm: n fits and n + 1 does not, moving n while a run disagrees.
  declare -A seen=()
  for _ in 1 2 3 4 5 6; do
    [ -n "${seen[$n]:-}" ] || seen[$n]=$(peak_at "$cmd" "$n")
    [ -n "${seen[$((n + 1))]:-}" ] || seen[$((n + 1))]=$(peak_at "$cmd" $((n + 1)))
    echo "    batch $n: ${seen[$n]} MiB, batch $((n + 1)): ${seen[$((n + 1))]} MiB"
    if [ "${seen[$n]}" -gt "$budget" ]; then
      n=$(awk -v n="$n" -v m="${seen[$n]}" -v b="$budget" -v p="$per" \
        'BEGIN { d = int((m - b) / p + 0.999); print n - (d > 1 ? d : 1) }')
    elif [ "${seen[$((n + 1))]}" -le "$budget" ]; then
      n=$(awk -v n="$n" -v m="${seen[$((n + 1))]}" -v b="$budget" -v p="$per" 'BEGIN { print n + 1 + int((b - m) / p) }')
    else break; fi
  done
  if [ "${seen[$n]}" -gt "$budget" ] || [ "${seen[$((n + 1))]}" -le "$budget" ]; then
    echo "bench-memory: $label: no batch confirmed after 6 tries" >&2; exit 1
  fi
  rows+=("| $label | $m4 | $m16 | $per | **$n** | ${seen[$n]} | ${seen[$((n + 1))]} |")
  unset seen
done

report=$(
  echo "| side | peak MiB, batch 4 | peak MiB, batch 16 | MiB per sequence | largest batch in $budget MiB | its peak MiB | peak MiB one more |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
)
echo "== summary (BERT-base, length 128, AdamW, 2 threads, peak resident memory of 2 steps)"
echo "$report"
if [ "$update_readme" = 1 ]; then
  echo "$report" | readme_block bench:memory "Measured by \`scripts/bench-memory.sh --update-readme\` on a $(nproc)-core machine (BERT-base, length 128,
forward + backward + AdamW, 2 threads; the peak resident memory of 2 steps, libraries included):"
fi
