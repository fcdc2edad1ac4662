// CPU runtime configuration and the SGEMM entry point (see cpu_runtime.h). The BLAS is
// found at run time with dlsym, so the build needs no BLAS headers and any LibTorch
// (OpenBLAS, MKL, none) links; without cblas_sgemm the GEMMs go through at::mm.
#include "worker/cpu_runtime.h"

#include <dlfcn.h>
#include <malloc.h>

#include <atomic>
#include <string>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "common/error.h"

namespace mtdnn::worker {
namespace {

// CBLAS enum values (cblas.h): row-major 101, no-transpose 111, transpose 112.
using CblasSgemm = void (*)(int, int, int, int, int, int, float, const float*, int,
                            const float*, int, float, float*, int);
using SetThreads = void (*)(int);
using GetThreads = int (*)();

struct Blas {
  CblasSgemm sgemm = nullptr;
  SetThreads set_threads = nullptr;
  GetThreads get_threads = nullptr;
  Blas() {
    sgemm = reinterpret_cast<CblasSgemm>(dlsym(RTLD_DEFAULT, "cblas_sgemm"));
    set_threads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    get_threads = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  }
};

const Blas& blas() {
  static const Blas b;  // resolved once, on first use (not a static initialiser)
  return b;
}

}  // namespace

std::string configure_cpu_runtime(const CpuRuntimeOptions& options) {
  MTDNN_CHECK(options.threads >= 1, "threads must be >= 1, got {}", options.threads);
  at::set_num_threads(options.threads);
  std::string blas_note = "BLAS threads unchanged";
  if (options.single_threaded_blas) {
    if (blas().set_threads) {
      blas().set_threads(1);
      blas_note = "OpenBLAS single-threaded (GEMMs split across threads by the fused ops)";
    } else {
      blas_note = "no OpenBLAS found: BLAS threading left to the library";
    }
  }
  if (options.keep_heap) {
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_TOP_PAD, 64 << 20);
  }
  return "intra-op threads " + std::to_string(options.threads) + ", " + blas_note +
         (options.keep_heap ? ", heap kept (no mmap)" : "");
}

int blas_threads() {
  return blas().get_threads ? blas().get_threads() : 1;
}

void set_blas_threads(int threads) {
  if (blas().set_threads) blas().set_threads(threads);
}

bool sgemm_parallel_safe() { return blas().sgemm != nullptr && blas_threads() == 1; }

void sgemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (blas().sgemm) {
    blas().sgemm(101, trans_a == Trans::kYes ? 112 : 111, trans_b == Trans::kYes ? 112 : 111,
                 static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a,
                 static_cast<int>(lda), b, static_cast<int>(ldb), beta, c,
                 static_cast<int>(ldc));
    return;
  }
  // Fallback through ATen: strided views over the raw buffers.
  auto f32 = torch::TensorOptions().dtype(torch::kFloat);
  auto A = trans_a == Trans::kNo
               ? torch::from_blob(const_cast<float*>(a), {m, k}, {lda, 1}, f32)
               : torch::from_blob(const_cast<float*>(a), {k, m}, {lda, 1}, f32).t();
  auto B = trans_b == Trans::kNo
               ? torch::from_blob(const_cast<float*>(b), {k, n}, {ldb, 1}, f32)
               : torch::from_blob(const_cast<float*>(b), {n, k}, {ldb, 1}, f32).t();
  auto C = torch::from_blob(c, {m, n}, {ldc, 1}, f32);
  if (k == 0) {
    C.mul_(beta);
    return;
  }
  at::NoGradGuard no_grad;
  at::addmm_out(C, C, A, B, beta, alpha);
}

}  // namespace mtdnn::worker
