#!/usr/bin/env bash
# Installs every dependency, builds everything (Release, all cores) and runs every test:
# the fuzz targets for a bounded time first, then the ctest suites.
# Environment: MTDNN_FUZZ_SECONDS (default 30 per target), MTDNN_DATA_DIR (GLUE data and
# vocabularies; default ../shared/data beside the repository).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
jobs=$(nproc)

echo "== build (Release)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$jobs"

echo "== fuzz (libFuzzer, ${MTDNN_FUZZ_SECONDS:-30} s per target)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DMTDNN_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$jobs"
for fuzzer in build-fuzz/bin/*_fuzz; do
  name=$(basename "$fuzzer")
  mkdir -p "build-fuzz/corpus/$name"
  echo "-- $name"
  if ! "$fuzzer" -max_total_time="${MTDNN_FUZZ_SECONDS:-30}" -timeout=10 -rss_limit_mb=2048 \
      "build-fuzz/corpus/$name" >"build-fuzz/$name.log" 2>&1; then
    cat "build-fuzz/$name.log"
    echo "fuzzer $name failed; the input that failed is named above" >&2
    exit 1
  fi
  grep -E '^Done|^#[0-9]+.*DONE' "build-fuzz/$name.log" | tail -n 1
done

echo "== tests"
ctest --test-dir build --output-on-failure -j"$jobs"
