// CPU runtime configuration and the SGEMM entry point (see cpu_runtime.h). Backends are
// found at run time with dlsym, so the build needs no BLAS or oneDNN headers and any
// LibTorch links.
#include "worker/cpu_runtime.h"

#include <dlfcn.h>
#include <malloc.h>
#include <sched.h>

#include <algorithm>
#include <string>
#include <thread>

#include <fmt/format.h>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "common/error.h"

namespace mtdnn::worker {
namespace {

// dnnl_sgemm (oneDNN's C API, row-major): returns dnnl_status_t, 0 = success.
using DnnlSgemm = int (*)(char, char, int64_t, int64_t, int64_t, float, const float*, int64_t,
                          const float*, int64_t, float, float*, int64_t);
// MKL's Fortran sgemm_ (column-major, LP64 int arguments by pointer).
using FortranSgemm = void (*)(const char*, const char*, const int*, const int*, const int*,
                              const float*, const float*, const int*, const float*, const int*,
                              const float*, float*, const int*);
// cblas_sgemm with CBLAS enum values: row-major 101, no-transpose 111, transpose 112.
using CblasSgemm = void (*)(int, int, int, int, int, int, float, const float*, int,
                            const float*, int, float, float*, int);
using SetThreads = void (*)(int);
using GetThreads = int (*)();

void* find_symbol(void* library, const char* name) {
  void* p = library ? dlsym(library, name) : nullptr;
  return p ? p : dlsym(RTLD_DEFAULT, name);
}

struct Backends {
  DnnlSgemm dnnl = nullptr;
  FortranSgemm mkl = nullptr;
  CblasSgemm cblas = nullptr;
  SetThreads set_threads = nullptr;
  GetThreads get_threads = nullptr;
  Backends() {
    dnnl = reinterpret_cast<DnnlSgemm>(dlsym(RTLD_DEFAULT, "dnnl_sgemm"));
    // The PyTorch wheels link MKL into libtorch_cpu and export its BLAS, not oneDNN's
    // sgemm. MKL threads a call over OpenMP and runs it on one thread inside a parallel
    // region, so it can be called both ways. (sgemm_ alone could be any BLAS: MKL's own
    // service function says it is MKL's.)
    if (dlsym(RTLD_DEFAULT, "mkl_get_max_threads"))
      mkl = reinterpret_cast<FortranSgemm>(dlsym(RTLD_DEFAULT, "sgemm_"));
    // Prefer OpenBLAS's own entry points: Debian's libblas.so.3 shim in front of it
    // serialises concurrent calls.
    void* openblas = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_NOLOAD);
    cblas = reinterpret_cast<CblasSgemm>(find_symbol(openblas, "cblas_sgemm"));
    set_threads = reinterpret_cast<SetThreads>(find_symbol(openblas, "openblas_set_num_threads"));
    get_threads = reinterpret_cast<GetThreads>(find_symbol(openblas, "openblas_get_num_threads"));
  }
};

const Backends& backends() {
  static const Backends b;  // resolved once, on first use (not a static initialiser)
  return b;
}

}  // namespace

int usable_cores() {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(0, sizeof(mask), &mask) == 0) return std::max(1, CPU_COUNT(&mask));
  return std::max(1u, std::thread::hardware_concurrency());
}

int rank_threads(int requested, int usable, int node_cores, int ranks_on_node) {
  if (requested > 0) return requested;
  return std::max(1, std::min(usable, node_cores / std::max(1, ranks_on_node)));
}

std::string thread_binding_warning(int threads, int usable, int share) {
  if (threads > usable)
    return fmt::format("{} intra-op threads but this rank may run on {} core(s) (its CPU affinity), so they share "
                       "them: under mpirun add --bind-to none (or --map-by slot:PE={}), under srun set "
                       "--cpus-per-task {}", threads, usable, threads, threads);
  if (usable < share)
    return fmt::format("this rank may run on {} core(s) (its CPU affinity) of the {} its share of the node has: "
                       "under mpirun add --bind-to none (or --map-by slot:PE={}), under srun set --cpus-per-task {}",
                       usable, share, share, share);
  return "";
}

std::string configure_cpu_runtime(const CpuRuntimeOptions& options) {
  MTDNN_CHECK(options.threads >= 1, "threads must be >= 1, got {}", options.threads);
  at::set_num_threads(options.threads);
  std::string blas_note = "OpenBLAS threads unchanged";
  if (options.single_threaded_blas && backends().set_threads) {
    backends().set_threads(1);
    blas_note = "OpenBLAS single-threaded";
  }
  if (options.keep_heap) {
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_TOP_PAD, 64 << 20);
  }
  bool flushed = false;
  if (options.flush_denormals) {
    // The mode is per thread: set it on the calling thread and on each thread of the pool
    // (one index per thread).
    flushed = at::globalContext().setFlushDenormal(true);
    at::parallel_for(0, options.threads, 1, [](int64_t, int64_t) { at::globalContext().setFlushDenormal(true); });
  }
  return "intra-op threads " + std::to_string(options.threads) + ", GEMMs by " + gemm_backend_name() + ", " +
         blas_note + (options.keep_heap ? ", heap kept (no mmap)" : "") +
         (flushed ? ", subnormals flushed to zero" : "");
}

int blas_threads() { return backends().get_threads ? backends().get_threads() : 1; }

void set_blas_threads(int threads) {
  if (backends().set_threads) backends().set_threads(threads);
}

GemmBackend gemm_backend() {
  if (backends().dnnl) return GemmBackend::kOneDnn;
  if (backends().mkl) return GemmBackend::kMkl;
  if (backends().cblas) return GemmBackend::kOpenBlas;
  return GemmBackend::kAten;
}

const char* gemm_backend_name() {
  switch (gemm_backend()) {
    case GemmBackend::kOneDnn: return "oneDNN";
    case GemmBackend::kMkl: return "MKL";
    case GemmBackend::kOpenBlas: return "OpenBLAS";
    case GemmBackend::kAten: return "ATen";
  }
  return "?";
}

bool sgemm_nested_ok() {
  return gemm_backend() == GemmBackend::kOneDnn || gemm_backend() == GemmBackend::kMkl ||
         (gemm_backend() == GemmBackend::kOpenBlas && blas_threads() == 1);
}

bool sgemm_threads_itself() {
  return gemm_backend() == GemmBackend::kOneDnn || gemm_backend() == GemmBackend::kMkl;
}

void sgemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc) {
  if (m == 0 || n == 0) return;
  const bool ta = trans_a == Trans::kYes, tb = trans_b == Trans::kYes;
  switch (gemm_backend()) {
    case GemmBackend::kOneDnn: {
      const int status = backends().dnnl(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, a, lda,
                                         b, ldb, beta, c, ldc);
      MTDNN_CHECK(status == 0, "dnnl_sgemm failed with status {} ({}x{}x{})", status, m, n, k);
      return;
    }
    case GemmBackend::kMkl: {
      // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T.
      const int M = static_cast<int>(m), N = static_cast<int>(n), K = static_cast<int>(k);
      const int LDA = static_cast<int>(lda), LDB = static_cast<int>(ldb), LDC = static_cast<int>(ldc);
      const char tra = ta ? 'T' : 'N', trb = tb ? 'T' : 'N';
      backends().mkl(&trb, &tra, &N, &M, &K, &alpha, b, &LDB, a, &LDA, &beta, c, &LDC);
      return;
    }
    case GemmBackend::kOpenBlas:
      backends().cblas(101, ta ? 112 : 111, tb ? 112 : 111, static_cast<int>(m),
                       static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda),
                       b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
      return;
    case GemmBackend::kAten:
      break;
  }
  // ATen: strided views over the raw buffers.
  auto f32 = torch::TensorOptions().dtype(torch::kFloat);
  auto A = !ta ? torch::from_blob(const_cast<float*>(a), {m, k}, {lda, 1}, f32)
               : torch::from_blob(const_cast<float*>(a), {k, m}, {lda, 1}, f32).t();
  auto B = !tb ? torch::from_blob(const_cast<float*>(b), {k, n}, {ldb, 1}, f32)
               : torch::from_blob(const_cast<float*>(b), {n, k}, {ldb, 1}, f32).t();
  auto C = torch::from_blob(c, {m, n}, {ldc, 1}, f32);
  at::NoGradGuard no_grad;
  if (k == 0) {
    C.mul_(beta);
    return;
  }
  at::addmm_out(C, C, A, B, beta, alpha);
}

}  // namespace mtdnn::worker
