#!/usr/bin/env bash
# What an mtdnn executable loads, as the dynamic loader resolves it (ldd): every LibTorch
# library (libc10, libtorch_cpu, ...) from one folder, so no two generations are mixed; with
# a CUDA LibTorch, libtorch_cuda and (when the NCCL backend is built) one libnccl, the very
# file CMake linked (NCCL_LIBRARY); without CUDA, no libtorch_cuda. With the PyTorch wheel's
# LibTorch, libstdc++ comes before libtorch among the needed libraries (cmake/torch.cmake
# says why: the wheel's libtorch.so exports copies of libstdc++ functions).
#   tests/scripts/libtorch_links_test.sh EXECUTABLE wheel|system WITH_CUDA(0|1) HAVE_NCCL(0|1) [NCCL_LIBRARY]
set -euo pipefail
exe=$1 source=$2 with_cuda=$3 have_nccl=$4 linked_nccl=${5:-}
libs=$(ldd "$exe")
fail() { echo "FAIL: $*" >&2; echo "$libs" >&2; exit 1; }
if echo "$libs" | grep -q 'not found'; then fail "unresolved libraries"; fi
torch_dirs=$(echo "$libs" | awk '$1 ~ /^lib(c10|torch)/ { print $3 }' | xargs -n1 dirname | sort -u)
[ -n "$torch_dirs" ] || fail "no LibTorch library loaded"
[ "$(echo "$torch_dirs" | wc -l)" -eq 1 ] || fail "LibTorch libraries from several folders: $torch_dirs"
if [ "$with_cuda" = 1 ]; then
  echo "$libs" | grep -q 'libtorch_cuda\.so' || fail "CUDA LibTorch but no libtorch_cuda"
  echo "$libs" | grep -q 'libc10_cuda\.so' || fail "CUDA LibTorch but no libc10_cuda"
  if [ "$have_nccl" = 1 ]; then
    nccl=$(echo "$libs" | awk '$1 ~ /^libnccl/ { print $3 }')
    [ -n "$nccl" ] || fail "NCCL backend built but no libnccl loaded"
    [ "$(echo "$nccl" | wc -l)" -eq 1 ] || fail "several libnccl: $nccl"
    [ "$(readlink -f "$nccl")" = "$(readlink -f "$linked_nccl")" ] || fail "loads $nccl, CMake linked $linked_nccl"
  fi
else
  if echo "$libs" | grep -q 'libtorch_cuda\.so'; then fail "libtorch_cuda in a CPU build"; fi
fi
if [ "$source" = wheel ]; then
  needed=$(readelf -d "$exe" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  stdcxx=$(echo "$needed" | grep -n '^libstdc++\.so' | cut -d: -f1 | head -n 1)
  torch=$(echo "$needed" | grep -n '^libtorch' | cut -d: -f1 | head -n 1)
  [ -n "$stdcxx" ] && [ -n "$torch" ] && [ "$stdcxx" -lt "$torch" ] ||
    fail "libstdc++ is not needed before libtorch: $(echo "$needed" | tr '\n' ' ')"
fi
echo "$libs" | grep -E 'lib(c10|torch|nccl|gomp|cudart|stdc)' | awk '{ print $1, $3 }'
echo "PASS: LibTorch ($source) from $torch_dirs (CUDA $with_cuda, NCCL $have_nccl)"
