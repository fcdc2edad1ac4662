#!/usr/bin/env bash
# How a training step's cost grows with the model and the sequence: real tokens/s and
# model-FLOPs utilisation (MFU) of BERT-mini (L=4, H=256) and BERT-base (L=12, H=768) at
# length 128 (batch 32) and 512 (batch 8: the same 4,096 tokens per step), forward + backward
# + AdamW, for mtdnn (build/bin/mtdnn-bench-model-torch) and for Hugging Face's BERT with SDPA
# attention under PyTorch 2.x, eager (bench/hf_peer.py), both at 2 threads. The model FLOPs
# per token are the C++ binary's count (6 x projection parameters + 12 L T H, the same for
# both sides); MFU is against the largest GEMM peak measured in the run. Runs alternate for a
# few rounds; the best of each counts.
#
# usage: scripts/bench-scaling.sh [--rounds N] [--steps N] [--update-readme] [--build DIR]
#   --steps: timed steps of BERT-mini; BERT-base runs a quarter of them (at least 2)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib/bench.sh
. "$here/scripts/lib/bench.sh"
build=$here/build rounds=2 steps=12 update_readme=0
bench_args bench-scaling "$@"
bench_prepare bench-scaling mtdnn-bench-model-torch

v2=$(torch_version "$peer_python")
models=("BERT-mini|--layers 4 --hidden 256 --heads 4 --intermediate 1024|$steps"
        "BERT-base|--layers 12 --hidden 768 --heads 12 --intermediate 3072|$(( steps / 4 > 2 ? steps / 4 : 2 ))")
shapes=("128|32" "512|8")
declare -A best gflop_per_token
peak=0
echo "bench-scaling: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= rounds; r++)); do
  echo "== round $r/$rounds"
  for m in "${models[@]}"; do
    IFS='|' read -r name shape_flags n <<<"$m"
    for s in "${shapes[@]}"; do
      IFS='|' read -r seq batch <<<"$s"
      # shellcheck disable=SC2206  # the shape flags are several words
      work=($shape_flags --seq "$seq" --batch "$batch" --threads 2 --steps "$n" --warmup 1)
      wait_idle
      out=$("$build/bin/mtdnn-bench-model-torch" "${work[@]}")
      t=$(field tokens/s "$out") p=$(field gemm_peak_gflops "$out")
      gt "$p" "$peak" && peak=$p
      gflop_per_token[$name$seq]=$(awk -v g="$(field model_gflop_per_step "$out")" -v b="$batch" -v s="$seq" \
        'BEGIN { print g / (b * s) }')
      gt "$t" "${best[c$name$seq]:-0}" && best[c$name$seq]=$t
      wait_idle
      out=$("$peer_python" "$here/bench/hf_peer.py" "${work[@]}" 2>/dev/null)
      u=$(field tokens/s "$out")
      gt "$u" "${best[h$name$seq]:-0}" && best[h$name$seq]=$u
      printf '  %s length %s batch %s: mtdnn %s tokens/s, Hugging Face %s tokens/s\n' "$name" "$seq" "$batch" "$t" "$u"
    done
  done
done

report=$(
  echo "| model | length x batch | GFLOP per token | mtdnn tokens/s | mtdnn MFU | Hugging Face (SDPA, eager) tokens/s | its MFU | mtdnn / Hugging Face |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|"
  for m in "${models[@]}"; do
    IFS='|' read -r name _ _ <<<"$m"
    for s in "${shapes[@]}"; do
      IFS='|' read -r seq batch <<<"$s"
      awk -v n="$name" -v s="$seq" -v b="$batch" -v g="${gflop_per_token[$name$seq]}" -v c="${best[c$name$seq]}" \
        -v h="${best[h$name$seq]}" -v p="$peak" \
        'BEGIN { printf "| %s | %d x %d | %.4f | %.0f | %.1f%% | %.0f | %.1f%% | %.2fx |\n", n, s, b, g, c, 100 * c * g / p, h, 100 * h * g / p, c / h }'
    done
  done
  echo
  echo "GEMM peak: $peak GFLOP/s (2048^3, 2 threads, the best of the run's measurements); PyTorch $v2."
)
echo "== summary (2 threads, best of $rounds rounds)"
echo "$report"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$update_readme" = 1 ]; then
  echo "$report" | readme_block bench:scaling "Measured by \`scripts/bench-scaling.sh --update-readme\` on a $(nproc)-core machine (forward + backward + AdamW,
2 threads, best of $rounds rounds; BERT-mini $steps timed steps, BERT-base $(( steps / 4 > 2 ? steps / 4 : 2 ))):"
fi
