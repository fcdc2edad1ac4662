// CPU runtime settings for training on a slice of cores, and the single-threaded SGEMM
// the fused kernels call from inside their own parallel loops. Used by the fused ops,
// the benchmark and the training executables. Torch-free header.
#pragma once

#include <cstdint>
#include <string>

namespace mtdnn::worker {

struct CpuRuntimeOptions {
  int threads = 1;  // intra-op threads of this process (cores / ranks per node)
  // Make the BLAS single-threaded and parallelise GEMMs in the fused ops instead: the
  // BLAS's own spinning threads otherwise compete with the OpenMP threads of every
  // element-wise op that follows a GEMM.
  bool single_threaded_blas = true;
  // Keep freed memory in the heap (no mmap for large blocks, no trimming): every training
  // step allocates the same large activations again, and fresh mmap'ed pages cost a page
  // fault each (about a third of a step at BERT-mini size).
  bool keep_heap = true;
};

// Applies the options to this process. Call once at start-up, before the first step.
// Returns a one-line description of what was set (for the log).
std::string configure_cpu_runtime(const CpuRuntimeOptions& options);

// The BLAS's own thread count (1 when unknown or single-threaded).
int blas_threads();
// Sets the BLAS's own thread count (OpenBLAS; no effect with another BLAS).
void set_blas_threads(int threads);

enum class Trans { kNo, kYes };

// C (m x n) = alpha * op(A) (m x k) * op(B) (k x n) + beta * C, row-major with leading
// dimensions lda, ldb, ldc. Calls cblas_sgemm when the process has one (OpenBLAS), else
// at::mm. Single-threaded when the BLAS is; safe to call from parallel loops then.
void sgemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc);

// True when sgemm() may be called from several threads at once without the BLAS
// spawning threads of its own (a single-threaded BLAS).
bool sgemm_parallel_safe();

}  // namespace mtdnn::worker
