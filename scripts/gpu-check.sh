#!/usr/bin/env bash
# The GPU check: one command that, on a machine with a CUDA PyTorch and no network, builds
# mtdnn against the LibTorch inside that PyTorch (the other dependencies come as the packed
# Debian packages of scripts/gpu-deps.sh, run beforehand where the registry is reachable),
# then runs
#   1. the GPU tests (ctest -L gpu: the golden models on the GPU in fp32 and bf16 against the
#      CPU's values, training steps against the fused CPU path, batches, checksums and the
#      CUDA generator state; a short GLUE training run in bf16 with NCCL at world size 1,
#      two ranks sharing the GPU over MPI, a GPU checkpoint resumed on the CPU), and the
#      gradient backends on GPU tensors (NCCL at one rank, MPI staging at one and two);
#   2. the GPU benchmark: BERT-base, length 128, bf16, batch 32 and the largest batch that
#      fits: tokens/s and MFU against the bf16 matrix-product peak measured in the same run,
#      and PyTorch eager (bench/ref_mtdnn.py --device cuda --bf16) on the same GPU and batches.
# Writes gpu-check.log and gpu-check-results.md under $OUT when it is set (else under the
# build folder). Exit status 0 when every part passed. Meant to finish in under 7 minutes on
# a 16-core, 1-GPU machine.
#
#   scripts/gpu-check.sh [--deps FILE.tar.gz] [--build DIR] [--data DIR] [--jobs N]
#                        [--skip-build] [--skip-bench] [--dry-run | --cpu-smoke]
#
#   --deps        the packed prefix of scripts/gpu-deps.sh (default build-gpu/deps.tar.gz)
#   --build       build folder (default build-gpu/cuda)
#   --data        GLUE data for the training run (default ../shared/data; absent: synthetic)
#   --dry-run     parse the options, check the dependencies, print the plan; build and run nothing
#   --cpu-smoke   no GPU needed: the CPU parts with an existing CPU build (--build, default
#                 build): the training script and both benchmarks on the CPU with small
#                 configurations, and the results file (tests/scripts.cmake runs this;
#                 exit status 77 when what it needs is missing)
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
deps=$here/build-gpu/deps.tar.gz build="" data=$here/../shared/data jobs=$(nproc)
mode=gpu skip_build=0 skip_bench=0
usage() { sed -n '/^#   scripts\/gpu-check.sh/,/^#   --cpu-smoke/p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --deps) deps=${2:?--deps needs a file}; shift 2 ;;
    --build) build=${2:?--build needs a folder}; shift 2 ;;
    --data) data=${2:?--data needs a folder}; shift 2 ;;
    --jobs) jobs=${2:?--jobs needs a number}; shift 2 ;;
    --skip-build) skip_build=1; shift ;;
    --skip-bench) skip_bench=1; shift ;;
    --dry-run) mode=dry; shift ;;
    --cpu-smoke) mode=smoke; shift ;;
    -h|--help) usage 0 ;;
    *) echo "gpu-check: unknown option '$1'" >&2; usage 2 ;;
  esac
done
[[ "$jobs" =~ ^[0-9]+$ ]] || { echo "gpu-check: --jobs must be a number, got '$jobs'" >&2; exit 2; }
if [ -z "$build" ]; then
  [ "$mode" = smoke ] && build=$here/build || build=$here/build-gpu/cuda
fi
case "$build" in /*) ;; *) build=$PWD/$build ;; esac
out=${OUT:-$build}
mkdir -p "$out"
log=$out/gpu-check.log results=$out/gpu-check-results.md
: >"$log"
start=$SECONDS
say() { echo "[gpu-check $((SECONDS - start))s] $*" | tee -a "$log"; }
# part NAME COMMAND...: runs a part, logs its output, records PASS/FAIL/SKIP (77) and the time.
declare -a rows=()
failed=0
part() {
  local name=$1 t0=$SECONDS status
  shift
  say "$name: $*"
  "$@" >>"$log" 2>&1
  status=$?
  case $status in
    0) rows+=("| $name | PASS | $((SECONDS - t0)) s |") ;;
    77) rows+=("| $name | SKIPPED | $((SECONDS - t0)) s |") ;;
    *) rows+=("| $name | FAIL (exit $status) | $((SECONDS - t0)) s |"); failed=1 ;;
  esac
  say "$name: ${rows[-1]}"
  return 0
}

# --- What the machine has ---------------------------------------------------------------------
python=${PYTHON:-python3}
site="" torch_info="" missing=0
check() {  # check WHAT CONDITION...: report a dependency found or missing
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then say "found: $what"; else say "missing: $what"; missing=1; fi
}
if [ "$mode" != smoke ]; then
  site=$($python -c 'import torch,os;print(os.path.dirname(os.path.dirname(torch.__file__)))' 2>/dev/null)
  torch_info=$($python -c 'import torch;print(torch.__version__,"cuda",torch.version.cuda,"abi",torch._C._GLIBCXX_USE_CXX11_ABI,"gpu",torch.cuda.is_available())' 2>/dev/null)
  check "PyTorch with LibTorch ($python: ${torch_info:-none})" test -n "$site"
  check "LibTorch's CMake files ($site/torch/share/cmake/Torch)" test -f "$site/torch/share/cmake/Torch/TorchConfig.cmake"
  nvcc=${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
  check "nvcc ($nvcc)" test -x "$nvcc"
  nccl=$(ls "$site"/nvidia/nccl/lib/libnccl.so.2 2>/dev/null | head -n 1)
  check "NCCL (${nccl:-libnccl.so.2 under $site/nvidia/nccl/lib})" test -n "$nccl"
  check "the packed dependencies ($deps; made by scripts/gpu-deps.sh)" test -f "$deps"
  check "cmake" command -v cmake
  check "ninja" command -v ninja
  check "a GPU (nvidia-smi)" nvidia-smi -L
else
  check "a CPU build with mtdnn-train ($build/bin)" test -x "$build/bin/mtdnn-train"
  check "mtdnn-preprocess" test -x "$build/bin/mtdnn-preprocess"
  check "mtdnn-bench-gpu-torch" test -x "$build/bin/mtdnn-bench-gpu-torch"
  check "the project's Python with torch (the peer script)" "$here/scripts/venv-python" -c 'import torch'
fi

prefix=$build/deps
env_setup() {  # the environment of the build and the runs: the unpacked prefix, torch, CUDA, NCCL
  export PATH=$prefix/usr/bin:/usr/local/cuda/bin:$PATH CUDACXX=$nvcc
  export OPAL_DESTDIR=$prefix PMIX_DESTDIR=$prefix OMPI_MCA_plm_rsh_agent=false
  export OMPI_MCA_mca_base_component_show_load_errors=0 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  export PKG_CONFIG_PATH=$prefix/usr/lib/x86_64-linux-gnu/pkgconfig PKG_CONFIG_SYSROOT_DIR=$prefix
  export CPATH=$prefix/usr/include/x86_64-linux-gnu
  local cuda_libs
  cuda_libs=$(ls -d "$site"/nvidia/*/lib 2>/dev/null | tr '\n' ':')
  export LD_LIBRARY_PATH=$site/torch/lib:$cuda_libs$prefix/usr/lib/x86_64-linux-gnu:$prefix/usr/lib/x86_64-linux-gnu/openmpi/lib:${LD_LIBRARY_PATH:-}
}
targets="mtdnn-train mtdnn-preprocess mtdnn_gpu_tests mtdnn_mpi_tests mtdnn-bench-gpu-torch"
# The same configuration as every other build (cmake/torch.cmake): LibTorch, CUDA and NCCL
# from the PyTorch wheel that $python imports; the other libraries from the unpacked prefix.
configure() {
  cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMTDNN_PYTHON="$(command -v "$python")" \
    -DCMAKE_PREFIX_PATH="$prefix/usr" -DTORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"
}
# The benchmarks; --cpu-smoke runs them on the CPU with a one-layer model.
if [ "$mode" = smoke ]; then
  bench_args=(--device cpu --precision bf16 --layers 1 --hidden 64 --heads 2 --intermediate 128 --vocab 2000 --batch 4
              --seq 16 --steps 2 --warmup 1 --gemm 64)
  peer_args=(--device cpu --bf16 --layers 1 --hidden 64 --heads 2 --intermediate 128 --vocab 2000 --seq 16 --steps 2)
  peer_python=$here/scripts/venv-python first_batch=4
else
  bench_args=(--batch 32)
  peer_args=(--device cuda --bf16 --layers 12 --hidden 768 --heads 12 --intermediate 3072 --seq 128 --steps 20 --threads 4)
  peer_python=$python first_batch=32
fi
mtdnn_bench() { "$build/bin/mtdnn-bench-gpu-torch" "${bench_args[@]}" --max-batch | tee "$out/bench-mtdnn.txt"; }
peer_bench() { $peer_python "$here/bench/ref_mtdnn.py" "${peer_args[@]}" --batch "$1" | tee "$out/bench-peer-$1.txt"; }
benchmarks() {
  rm -f "$out"/bench-*.txt
  part "mtdnn benchmark" mtdnn_bench
  local maxb
  maxb=$(sed -n 's/^batch \([0-9]*\): steps.*/\1/p' "$out/bench-mtdnn.txt" 2>/dev/null | tail -n 1)
  part "PyTorch eager, batch $first_batch" peer_bench "$first_batch"
  if [ -n "$maxb" ] && [ "$maxb" != "$first_batch" ]; then part "PyTorch eager, batch $maxb" peer_bench "$maxb"; fi
}

if [ "$mode" = dry ]; then
  say "plan (dry run; nothing is built or run):"
  say "  unpack $deps into $prefix; configure $build against $site/torch (NCCL $nccl)"
  say "  ninja -C $build -j$jobs $targets"
  say "  ctest --test-dir $build -L gpu; mpirun -np 1|2 mtdnn_mpi_tests (Nccl/MpiCuda backends)"
  say "  mtdnn-bench-gpu-torch --batch 32 --max-batch; bench/ref_mtdnn.py --device cuda --bf16 at the same batches"
  say "  log $log, results $results"
  [ $missing -eq 0 ] && say "every dependency found" || say "some dependencies are missing (see above)"
  exit 0
fi

# --- CPU smoke: the parts that need no GPU ------------------------------------------------------
if [ "$mode" = smoke ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  export OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
  [ $missing -eq 0 ] || { say "skipped: missing dependencies (see above)"; exit 77; }
  part "training script on the CPU" env MTDNN_GPU_TRAIN_DEVICE=cpu MTDNN_GPU_TRAIN_STEPS=40 \
    bash "$here/tests/gpu/gpu_train_test.sh" "$build/bin" "$build/gpu-check-smoke" /nonexistent
  benchmarks
else
  [ $missing -eq 0 ] || say "some dependencies are missing: the parts that need them will fail"
  env_setup
  if [ $skip_build -eq 0 ]; then
    part "unpack dependencies" bash -c "rm -rf '$prefix' && mkdir -p '$prefix' && tar xzf '$deps' -C '$prefix'"
    part "configure" configure
    part "build" ninja -C "$build" -j"$jobs" $targets
  fi
  part "GPU tests (ctest -L gpu)" ctest --test-dir "$build" -L gpu --output-on-failure --timeout 300
  part "backends on GPU tensors, 1 rank" mpirun -np 1 "$build/bin/mtdnn_mpi_tests" --gtest_filter='Nccl/*:MpiCuda/*'
  part "MPI staging, 2 ranks sharing the GPU" mpirun -np 2 --oversubscribe --bind-to none \
    "$build/bin/mtdnn_mpi_tests" --gtest_filter='MpiCuda/*'
  [ $skip_bench -eq 0 ] && benchmarks
fi

# --- Results ------------------------------------------------------------------------------------
{
  echo "# mtdnn GPU check"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(hostname); mode $mode; ${torch_info:-system LibTorch}; $((SECONDS - start)) s"
  command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | sed 's/^/GPU: /'
  echo
  echo "| part | result | time |"
  echo "|---|---|---|"
  printf '%s\n' "${rows[@]}"
  bench=$out/bench-mtdnn.txt
  if [ -f "$bench" ]; then
    echo
    echo "## Benchmark ($([ "$mode" = smoke ] && echo "CPU smoke: one layer, H=64" || echo "BERT-base, length 128, bf16"))"
    echo
    echo '```'
    grep -E '^(peak_tflops|batch|config)' "$bench"
    for f in "$out"/bench-peer-*.txt; do [ -f "$f" ] && echo "PyTorch eager, batch ${f##*-}: $(cat "$f")" | sed 's/\.txt:/:/'; done
    echo '```'
    python3 - "$out" <<'PY'
import glob, os, re, sys
out = sys.argv[1]
ours = {}
for line in open(os.path.join(out, "bench-mtdnn.txt")):
    m = re.match(r"batch (\d+): steps/s [\d.]+ tokens/s (\d+)", line)
    if m:
        ours[int(m.group(1))] = float(m.group(2))
for f in sorted(glob.glob(os.path.join(out, "bench-peer-*.txt"))):
    b = int(re.search(r"bench-peer-(\d+)", f).group(1))
    m = re.search(r"tokens/s (\d+)", open(f).read())
    if m and b in ours:
        print(f"\nbatch {b}: mtdnn {ours[b]:.0f} tokens/s, PyTorch eager {float(m.group(1)):.0f} tokens/s: "
              f"{ours[b] / float(m.group(1)):.2f}x")
PY
  fi
} >"$results"
cat "$results" | tee -a "$log"
say "log: $log; results: $results"
exit $failed
