// CPU runtime settings for training on a slice of cores, and the SGEMM entry point of the
// fused ops. The GEMM backend is oneDNN's dnnl_sgemm when the process has it (LibTorch
// links oneDNN): it threads over the same OpenMP pool as ATen and runs single-threaded
// inside a parallel region, so one call serves both a whole Linear layer and the small
// per-head products of the attention loop. Otherwise OpenBLAS's cblas_sgemm, otherwise
// at::mm. Used by the fused ops, the benchmark and the training executables. Torch-free.
#pragma once

#include <cstdint>
#include <string>

namespace mtdnn::worker {

struct CpuRuntimeOptions {
  int threads = 1;  // intra-op threads of this process (cores / ranks per node)
  // Make OpenBLAS single-threaded: its spinning threads otherwise compete with the OpenMP
  // threads of every element-wise op that follows a GEMM. The fused ops' GEMMs do not
  // need them (oneDNN threads itself; without oneDNN they split GEMMs across OpenMP).
  bool single_threaded_blas = true;
  // Keep freed memory in the heap (no mmap for large blocks, no trimming): every training
  // step allocates the same large activations again, and fresh mmap'ed pages cost a page
  // fault each (about a third of a step at BERT-mini size).
  bool keep_heap = true;
  // Subnormal floats read and written as zero (FTZ/DAZ) on every intra-op thread. Adam's
  // first moment of an embedding row that no batch looks up decays by beta1 every step and
  // is subnormal after some hundreds of steps; every operation on a subnormal costs about a
  // hundred normal ones, and the update over the 30522 x H embedding slowed training to
  // half its speed. The values lost are below 1.2e-38, far below what a step can change.
  bool flush_denormals = true;
};

// The cores this process may run on: the CPUs of its affinity mask (mpirun binds each rank
// to a core at small rank counts, srun to its --cpus-per-task), at least 1.
int usable_cores();
// A rank's intra-op threads: `requested` when > 0; else the cores it may use, at most its
// share of the node (the node's cores / ranks on the node).
int rank_threads(int requested, int usable, int node_cores, int ranks_on_node);
// The warning for a rank that runs more threads than it may use cores (they would share
// them and run at a fraction of the speed), or that may use fewer cores than its share of
// the node (`share`: the node's cores / ranks on the node); "" when there is none.
std::string thread_binding_warning(int threads, int usable, int share);

// Applies the options to this process. Call once at start-up, before the first step.
// Returns a one-line description of what was set (for the log).
std::string configure_cpu_runtime(const CpuRuntimeOptions& options);

// OpenBLAS's own thread count (1 when there is no OpenBLAS).
int blas_threads();
// Sets OpenBLAS's own thread count (no effect without OpenBLAS).
void set_blas_threads(int threads);

// Where sgemm goes, the first found: oneDNN's dnnl_sgemm (Debian's LibTorch), MKL's sgemm_
// (the PyTorch wheels), OpenBLAS's cblas_sgemm, else at::mm.
enum class GemmBackend { kOneDnn, kMkl, kOpenBlas, kAten };
GemmBackend gemm_backend();
const char* gemm_backend_name();

enum class Trans { kNo, kYes };

// C (m x n) = alpha * op(A) (m x k) * op(B) (k x n) + beta * C, row-major with leading
// dimensions lda, ldb, ldc (beta = 0 ignores C's contents). Outside a parallel region
// the backend may use every intra-op thread.
void sgemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc);

// True when sgemm() may be called from inside at::parallel_for (every thread at once)
// and then runs on the calling thread only: oneDNN, MKL, or a single-threaded OpenBLAS.
bool sgemm_nested_ok();
// True when one sgemm() call from the main thread already uses all intra-op threads
// (oneDNN, MKL); otherwise the fused ops split large GEMMs across threads themselves.
bool sgemm_threads_itself();

}  // namespace mtdnn::worker
