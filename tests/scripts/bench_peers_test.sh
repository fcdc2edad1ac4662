#!/usr/bin/env bash
# The benchmark peers (bench/ref_mtdnn.py, bench/hf_peer.py) run every workload the bench scripts
# give them, on a tiny model, and print the line the scripts parse with a positive rate and
# the warm-up field.
# usage: bench_peers_test.sh PYTHON SOURCE_DIR LENGTHS_DIR
set -euo pipefail
py=$1 src=$2 lengths=$3
"$py" -c 'import torch, transformers' 2>/dev/null || { echo "SKIP: torch or transformers missing"; exit 77; }
tiny=(--layers 1 --hidden 32 --heads 2 --intermediate 64 --vocab 1100 --batch 4 --steps 2 --warmup 1 --threads 1)
workloads=("--seq 16" "--seq 16 --pretrain --mlm-positions all" "--seq 16 --pretrain --mlm-positions masked")
[ -d "$lengths" ] && workloads+=("--lengths $lengths")
fail=0
for script in ref_mtdnn.py hf_peer.py; do
  for w in "${workloads[@]}"; do
    # shellcheck disable=SC2086  # w holds several flags
    line=$("$py" "$src/bench/$script" "${tiny[@]}" $w 2>&1 | tail -1)
    if [[ "$line" =~ ^steps/s\ [0-9.]+\ tokens/s\ ([0-9]+)\ sequences/s\ [0-9.]+\ padded_tokens/s\ [0-9]+\ warmup_s\ [0-9.]+$ ]] &&
       [ "${BASH_REMATCH[1]}" -gt 0 ]; then
      echo "ok   $script $w: $line"
    else
      echo "FAIL $script $w: $line"; fail=1
    fi
  done
done
exit "$fail"
