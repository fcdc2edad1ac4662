#!/usr/bin/env bash
# Checkpoint benchmark, printed as a markdown table: for BERT-mini- and BERT-base-sized
# full states (weights + Adam moments + RNG), the time training is blocked in save(), the
# background write + fsync + commit, a synchronous save and a verified load
# (bench/checkpoint_torch_bench.cc), next to what the disk gives a plain
# `dd if=/dev/zero bs=1M conv=fdatasync` of the same size in the same folder.
# Usage: scripts/bench-checkpoint.sh [--update-readme] [BUILD_DIR] [WORK_DIR]
#   --update-readme: also write the table into README.md's bench:checkpoint block
#   BUILD_DIR: where bin/mtdnn-bench-checkpoint-torch is (default: build)
#   WORK_DIR:  folder on the disk to measure (default: BUILD_DIR/bench-checkpoint)
# Environment: MTDNN_BENCH_SIZES (default mini,base), MTDNN_BENCH_REPEATS (default 4).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib/bench.sh
. "$root/scripts/lib/bench.sh"
update_readme=0
if [ "${1:-}" = "--update-readme" ]; then update_readme=1; shift; fi
build=$(cd "${1:-$root/build}" && pwd)
work=${2:-$build/bench-checkpoint}
bench=$build/bin/mtdnn-bench-checkpoint-torch
[ -x "$bench" ] || { echo "missing $bench: build the target mtdnn-bench-checkpoint-torch first" >&2; exit 1; }
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

results=$("$bench" --dir "$work" --sizes "${MTDNN_BENCH_SIZES:-mini,base}" --repeats "${MTDNN_BENCH_REPEATS:-4}" |
          tee /dev/stderr | grep '^RESULT')

# Seconds dd needs to write and fdatasync $1 MiB in $work (best of 2).
dd_seconds() {
  local best=""
  for _ in 1 2; do
    local t
    t=$(dd if=/dev/zero of="$work/dd.bin" bs=1M count="$1" conv=fdatasync 2>&1 |
        awk '/copied/ { for (i = 1; i <= NF; i++) if ($i ~ /^s,?$/) { print $(i - 1); exit } }')
    rm -f "$work/dd.bin"
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$t; fi
  done
  echo "$best"
}

table=$(
echo "| state | parameters | state file | blocked in save() first / then | background write+fsync+commit | synchronous save | dd bs=1M conv=fdatasync, same size | verified load |"
echo "|---|---|---|---|---|---|---|---|"
while read -r _ size params bytes stall_first stall_steady write_s sync_s load_s; do
  mib=$(( (bytes + 1048575) / 1048576 ))
  dd_s=$(dd_seconds "$mib")
  awk -v size="$size" -v p="$params" -v mib="$mib" -v sf="$stall_first" -v ss="$stall_steady" \
      -v w="$write_s" -v sy="$sync_s" -v d="$dd_s" -v l="$load_s" 'BEGIN {
    printf "| BERT-%s x3 (Adam) | %.1fM x3 | %d MiB | %.3f s / %.3f s | %.2f s (%.0f MiB/s) | %.2f s | %.2f s (%.0f MiB/s) | %.2f s |\n",
           size, p / 1e6, mib, sf, ss, w, mib / w, sy, d, mib / d, l }'
done <<< "$results"
)
echo
echo "$table"
if [ "$update_readme" = 1 ]; then
  echo "$table" | readme_block bench:checkpoint "Measured by \`scripts/bench-checkpoint.sh --update-readme\` (medians of ${MTDNN_BENCH_REPEATS:-4} saves; training is
blocked only for the copy into the staging buffer, the write, fsync and commit run in the background):"
fi
