#!/usr/bin/env bash
# Companion of scripts/gpu-check.sh, run beforehand on a Debian 12 machine with the package
# registry: downloads the Debian packages mtdnn needs besides LibTorch, CUDA and NCCL
# (OpenMPI, HDF5, Boost.Program_options, fmt, yaml-cpp, nlohmann-json, utf8proc, GoogleTest,
# pkg-config) with `apt-get download`, unpacks them into a relocatable prefix and packs it as
# OUT.tar.gz (about 9 MiB), for a GPU machine that has no registry. gpu-check.sh unpacks it
# and points CMake, the compiler and OpenMPI at it (docs/gpu.md).
#   scripts/gpu-deps.sh [OUT]     (default build-gpu/deps; run from anywhere)
#   scripts/gpu-deps.sh --list    the packages, one a line, and nothing else
set -euo pipefail
pkgs="pkgconf pkgconf-bin libpkgconf3 libutf8proc-dev libutf8proc2 libhdf5-dev libhdf5-103-1
 libsz2 libaec0 libssl-dev libyaml-cpp-dev libyaml-cpp0.7 nlohmann-json3-dev libfmt-dev libfmt9
 libboost-program-options-dev libboost-program-options1.74-dev libboost-program-options1.74.0
 libboost1.74-dev libgtest-dev libopenmpi-dev libopenmpi3 openmpi-common openmpi-bin libhwloc15
 libevent-core-2.1-7 libevent-pthreads-2.1-7 libpmix2 libmunge2"
if [ "${1:-}" = --list ]; then
  printf '%s\n' $pkgs
  exit 0
fi
case "${1:-}" in -*) echo "usage: scripts/gpu-deps.sh [OUT] | --list" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."
out=${1:-build-gpu/deps}
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -q $pkgs >/dev/null)
rm -rf "$out" && mkdir -p "$out"
for d in "$work"/*.deb; do dpkg -x "$d" "$out"; done
cd "$out"
# Boost: keep only the headers <boost/program_options.hpp> pulls in (about 600 files, 3 MiB).
echo '#include <boost/program_options.hpp>' >"$work/b.cc"
keep=$(g++ -std=c++17 -M -nostdinc++ -isystem usr/include -isystem /usr/include/c++/12 \
  -isystem /usr/include/x86_64-linux-gnu/c++/12 "$work/b.cc" 2>/dev/null | tr ' \\' '\n\n' \
  | grep '^usr/include/boost/' | sort -u) || true
[ -n "$keep" ] && { tar cf "$work/boost.tar" $keep; rm -rf usr/include/boost; tar xf "$work/boost.tar"; }
rm -rf usr/share/doc usr/share/man usr/share/lintian usr/src usr/lib/x86_64-linux-gnu/fortran
find . \( -name '*fortran*' -o -name '*java*' -o -name '*.mod' \) -prune -exec rm -rf {} +
find usr/lib -name '*.a' ! -name 'libgtest*.a' ! -name 'libgmock*.a' -delete
# libssl-dev's development links point at libssl3, which is not packed: the GPU machine's
# own OpenSSL 3 runtime is used.
ln -sf /usr/lib/x86_64-linux-gnu/libcrypto.so.3 usr/lib/x86_64-linux-gnu/libcrypto.so
ln -sf /usr/lib/x86_64-linux-gnu/libssl.so.3 usr/lib/x86_64-linux-gnu/libssl.so
# The alternatives links that dpkg -x does not create.
for t in mpicc mpicxx mpirun mpiexec; do ln -sf $t.openmpi usr/bin/$t; done
cd - >/dev/null
tar czf "$out.tar.gz" -C "$out" .
du -sh "$out" "$out.tar.gz"
