#!/usr/bin/env bash
# Installs every dependency, builds everything (Release, all cores) and runs every test:
# the fuzz targets for a bounded time first, then the ctest suites, on the default build
# (build/: the LibTorch 2.x with CUDA of requirements.lock's PyTorch wheel); then a second
# build against Debian's LibTorch 1.13 (build-1.13/) runs the suites that cover the other
# side of every #if in worker/torch_compat.h, the fused CPU kernels and the Gloo backend
# (the wheel ships no Gloo headers): the worker and comm units and the multi-rank tests.
# The whole suite on the default build runs last.
# Environment: MTDNN_FUZZ_SECONDS (default 30 per target), MTDNN_DATA_DIR (GLUE data and
# vocabularies; default ../shared/data beside the repository).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
jobs=$(nproc)

echo "== build (Release, LibTorch of the PyTorch wheel)"
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

echo "== LibTorch 1.13 (Debian's): build-1.13, the worker, comm and multi-rank suites"
cmake -S . -B build-1.13 -G Ninja -DCMAKE_BUILD_TYPE=Release -DMTDNN_LIBTORCH=system
cmake --build build-1.13 -j"$jobs" --target mtdnn_worker_tests mtdnn_comm_tests mtdnn_mpi_tests
ctest --test-dir build-1.13 --output-on-failure -j"$jobs" -R '^(Worker|Comm)\.|^mpi\.np[123]$'

echo "== tests"
ctest --test-dir build --output-on-failure -j"$jobs"
