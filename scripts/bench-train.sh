#!/usr/bin/env bash
# mtdnn-train against the peer set (scripts/lib/bench.sh: bench/ref_mtdnn.py and Hugging Face's
# BERT under PyTorch 2.x, eager and torch.compile, ref_mtdnn.py under torch 1.13 where
# installed) on real GLUE batches: CoLA, SST-2, MRPC, STS-B and RTE training rows, BERT-mini (L=4, H=256, A=4,
# I=1024), batch 32, max length 128, AdamW, dropout 0.1, one task per batch.
#
# mtdnn-train runs on shards preprocessed from the GLUE files (its own tokenizer, sampler and
# loader), in four configurations: 1 rank x 2 threads on the batches the reference forms
# (the default path: the encoder runs the real tokens unpadded), the same with length
# bucketing (--bucket-window 64), `mpirun -np 1` with default threads as a user launches it,
# and 2 ranks x 1 thread under mpirun with bucketing. The reference draws the same tasks' real token lengths
# (../shared/bench/lengths) at --threads 1 and 2, each with and without --blas-threads 1.
# Runs alternate for a few rounds; the best of each configuration counts, and the ratio is
# best mtdnn-train over best reference. Throughput is real (non-pad) tokens per second over
# the steps after the first log window (the reference also skips its warm-up steps); the
# 2-rank run also reports rank 0's loader wait, its wait for the slower rank to finish backward
# (load imbalance) and the gradient all-reduce time backward did not hide beyond that, as
# shares of that time.
#
# usage: scripts/bench-train.sh [--rounds N] [--steps N] [--update-readme] [--build DIR]
# Environment: MTDNN_SHARED_DIR (default: ../shared beside the repository),
# MTDNN_BENCH_IDLE_WAIT (seconds to wait for idle cores before each run, default 60).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib/bench.sh
. "$here/scripts/lib/bench.sh"
shared=${MTDNN_SHARED_DIR:-$here/../shared}
build=$here/build rounds=2 steps=60 update_readme=0
bench_args bench-train "$@"

glue=$shared/data/glue
vocab=$shared/data/vocab/bert-base-uncased-vocab.txt
bench_prepare bench-train "mtdnn-preprocess mtdnn-train" "$shared/bench/lengths/CoLA.txt" "$glue/CoLA/train.tsv" "$vocab"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo

work=$build/bench-train
rm -rf "$work" && mkdir -p "$work"
tasks=cola,sst,mrpc,stsb,rte
"$build/bin/mtdnn-preprocess" --task-def "$here/tasks/glue.yml" --input "$glue" --vocab "$vocab" --uncased \
  --max-seq-len 128 --out "$work/data" --tasks "$tasks" --splits train >/dev/null
bench_train_ini bench-train "$here/tasks/glue.yml" "$tasks"

# run_mtdnn NAME LAUNCH THREADS BUCKET_WINDOW: prints train_rates' line and the peak resident
# memory in MiB. LAUNCH: "direct" (one process), or an mpirun command line; THREADS 0 leaves --threads at its default.
run_mtdnn() {
  local out=$work/$1 launch=() threads=()
  rm -rf "$out"
  # shellcheck disable=SC2206  # the launcher is several words
  [ "$2" = direct ] || launch=($2)
  [ "$3" = 0 ] || threads=(--threads "$3")
  measured "${launch[@]}" "$build/bin/mtdnn-train" --config "$work/train.ini" "${threads[@]}" \
    --bucket-window "$4" --out "$out" >"$work/$1.log" 2>&1 || { cat "$work/$1.log" >&2; exit 1; }
  echo "$(train_rates "$out/metrics.jsonl") $(field peak_rss_mib "$(cat "$work/$1.log")")"
}

# label|ranks|launch|threads|bucket window. The default path forms batches as the reference
# does (one task's rows in schedule order) and runs them unpadded; "mpirun -np 1" is how a
# user launches one rank (OpenMPI binds it to one core; default threads follow that).
mtdnn_configs=("1 rank x 2 threads, default (the reference's batches)|1|direct|2|0"
               "1 rank x 2 threads, length buckets (--bucket-window 64)|1|direct|2|64"
               "mpirun -np 1, default threads and binding|1|mpirun -np 1|0|0"
               "2 ranks x 1 thread, length buckets (--bucket-window 64)|2|mpirun -np 2 --bind-to none|1|64")
declare -A best_tok best_line
echo "bench-train: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $steps steps per run"
for ((r = 1; r <= rounds; r++)); do
  echo "== round $r/$rounds"
  for i in "${!mtdnn_configs[@]}"; do
    IFS='|' read -r label ranks launch threads window <<<"${mtdnn_configs[$i]}"
    wait_idle
    read -r tok loader imbalance comm rss <<<"$(run_mtdnn "run$i" "$launch" "$threads" "$window")"
    printf '  mtdnn-train %-58s %6s tokens/s (loader wait %s%%, load imbalance %s%%, exposed all-reduce %s%%), peak %s MiB\n' \
      "$label:" "$tok" "$loader" "$imbalance" "$comm" "$rss"
    if gt "$tok" "${best_tok[m$i]:-0}"; then best_tok[m$i]=$tok best_line[m$i]="$loader|$imbalance|$comm|$rss"; fi
  done
  run_peers train --batch 32 --steps "$steps" --lengths "$shared/bench/lengths"
done
read -r ref_best ref_who <<<"$(best_peer train)"
report=$(
  echo "| side | configuration | real tokens/s (best of $rounds) | vs best peer | peak resident MiB | loader wait | load imbalance | exposed all-reduce |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|"
  for i in "${!mtdnn_configs[@]}"; do
    IFS='|' read -r label ranks _ _ _ <<<"${mtdnn_configs[$i]}"
    IFS='|' read -r loader imbalance comm rss <<<"${best_line[m$i]}"
    if [ "$ranks" = 1 ]; then imbalance_cell="" comm_cell=""; else imbalance_cell="$imbalance%" comm_cell="$comm%"; fi
    awk -v l="$label" -v t="${best_tok[m$i]}" -v r="$ref_best" -v lw="$loader%" -v b="$imbalance_cell" -v c="$comm_cell" \
      -v m="$rss" 'BEGIN { printf "| **mtdnn-train** | %s | %.0f | **%.2fx** | %d | %s | %s | %s |\n", l, t, t / r, m, lw, b, c }'
  done
  echo
  echo "| peer | threads (best) | real tokens/s (best of $rounds) | vs best peer | warm-up s (compilation) | peak resident MiB |"
  echo "|---|---:|---:|---:|---:|---:|"
  peer_rows train "$ref_best"
  echo
  echo "Best peer: $ref_who."
)
echo "== summary (BERT-mini, batch 32, max length 128, GLUE CoLA/SST-2/MRPC/STS-B/RTE rows, $steps steps)"
echo "$report"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$update_readme" = 1 ]; then
  echo "$report" | readme_block bench:train "Measured by \`scripts/bench-train.sh --update-readme\` on a $(nproc)-core machine ($rounds rounds of
$steps steps; loader wait, load imbalance and exposed all-reduce are shares of rank 0's step-loop time; a peer's
warm-up is its 3 untimed steps, which hold torch.compile's compilation):"
fi
