// NCCL gradient backend (GPU), through NCCL's C API bootstrapped over MPI: rank 0 creates
// the unique id, MPI broadcasts it, every rank joins with ncclCommInitRank on the GPU it
// was given (make_grad_comm's cuda_device). The current CUDA device is never changed: each
// call that needs a device sets it for its own scope (CUDAGuard) and restores it.
//
// Why the C API and not c10d's ProcessGroupNCCL: the C API is the same for every LibTorch
// generation (ProcessGroupNCCL is a ProcessGroup in 1.13, a Backend that must be shut down
// before destruction in 2.x), it needs no TCPStore (MPI is already up), and what
// ProcessGroupNCCL adds — a timeout and a watchdog — is the few lines of wait() below.
//
// Streams: a reduction first makes the backend's own stream (from LibTorch's pool) wait, on
// the GPU, for what the caller's current stream has queued (the gradients copied into the
// bucket), then runs there, so it overlaps the rest of backward; the tensor's memory is
// recorded on that stream for the caching allocator. wait() blocks the host until the
// reduction's event has completed.
//
// Errors and dead peers: wait() polls the event and NCCL's asynchronous error. An error, or
// no completion within kTimeout (a peer that died or hangs never joins the collective),
// aborts the communicator (which also frees the GPU from the stuck kernel) and throws
// CommError naming the rank and the cause; mtdnn-train then ends every rank (MPI_Abort).
// Compiled only when LibTorch has CUDA and NCCL was found (see the top-level CMakeLists.txt).
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#include <nccl.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "comm/comm_deadline.h"
#include "comm/grad_comm.h"

namespace mtdnn::comm {
namespace {


c10::DeviceIndex checked_device(int device) {
  MTDNN_INPUT_CHECK(device >= 0, "--backend nccl needs the ranks on GPUs (--device cuda)");
  return static_cast<c10::DeviceIndex>(device);
}

class NcclGradComm : public GradComm {
 public:
  NcclGradComm(const MpiContext& mpi, int device)
      : rank_(mpi.rank()),
        timeout_s_(mpi.timeout_s()),
        device_(checked_device(device)),
        stream_(c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device_)) {
    ncclUniqueId id;
    if (mpi.rank() == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    MTDNN_MPI(MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, mpi.comm()));
    c10::cuda::CUDAGuard guard(device_);
    const ncclResult_t r = ncclCommInitRank(&comm_, mpi.size(), id, mpi.rank());
    if (r != ncclSuccess)
      throw CommError(fmt::format(
          "rank {}: NCCL could not start on GPU {}: {} (NCCL needs one GPU per rank: ranks that share a GPU "
          "must use --backend mpi)", rank_, device, ncclGetErrorString(r)));
  }

  ~NcclGradComm() override {
    if (comm_ != nullptr) ncclCommDestroy(comm_);
  }

  std::string name() const override { return "nccl"; }

  std::unique_ptr<GradWork> allreduce_sum(const at::Tensor& tensor) override;

  // Blocks until `done` has completed; CommError on an NCCL or CUDA error or the timeout.
  void wait_for(cudaEvent_t done) {
    c10::cuda::CUDAGuard guard(device_);
    const Deadline deadline(timeout_s_);  // --comm-timeout
    for (int polls = 0;; ++polls) {
      const cudaError_t q = cudaEventQuery(done);
      if (q == cudaSuccess) return;
      if (q != cudaErrorNotReady) {
        (void)cudaGetLastError();
        fail(fmt::format("CUDA error while waiting for an all-reduce: {}", cudaGetErrorString(q)));
      }
      ncclResult_t async = ncclSuccess;
      bool aborted = false;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        aborted = comm_ == nullptr;
        if (!aborted) ncclCommGetAsyncError(comm_, &async);
      }
      if (aborted) fail("the communicator was aborted by an earlier error");
      if (async != ncclSuccess && async != ncclInProgress)
        fail(fmt::format("NCCL reported an error during an all-reduce: {}", ncclGetErrorString(async)));
      if (deadline.passed()) {
        const std::string what = fmt::format("an all-reduce did not finish within {:g} s (--comm-timeout): a peer "
                                             "rank died, hangs or is cut off", timeout_s_);
        report_comm_timeout(fmt::format("rank {}: NCCL backend: {}", rank_, what));
        fail(what);
      }
      if (polls < 1000)
        std::this_thread::yield();
      else
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

 private:
  void check(ncclResult_t r, const char* call) const {
    if (r != ncclSuccess && r != ncclInProgress)
      throw CommError(fmt::format("rank {}: {} failed: {}", rank_, call, ncclGetErrorString(r)));
  }
  [[noreturn]] void fail(const std::string& what) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (comm_ != nullptr) ncclCommAbort(comm_);
      comm_ = nullptr;
    }
    throw CommError(fmt::format("rank {}: NCCL backend: {}", rank_, what));
  }

  int rank_;
  double timeout_s_;
  c10::DeviceIndex device_;
  c10::cuda::CUDAStream stream_;
  ncclComm_t comm_ = nullptr;
  std::mutex mutex_;  // launches may come from autograd's device thread
};

class NcclWork : public GradWork {
 public:
  NcclWork(NcclGradComm* comm, cudaEvent_t done) : comm_(comm), done_(done) {}
  ~NcclWork() override { cudaEventDestroy(done_); }
  void wait() override { comm_->wait_for(done_); }

 private:
  NcclGradComm* comm_;
  cudaEvent_t done_;
};

std::unique_ptr<GradWork> NcclGradComm::allreduce_sum(const at::Tensor& tensor) {
  MTDNN_CHECK(tensor.is_cuda() && tensor.get_device() == device_ && tensor.is_contiguous(),
              "the NCCL backend reduces contiguous tensors on GPU {}, got one on {}", static_cast<int>(device_),
              tensor.device().str());
  ncclDataType_t type = ncclFloat;
  if (tensor.scalar_type() == at::kBFloat16)
    type = ncclBfloat16;
  else
    MTDNN_CHECK(tensor.scalar_type() == at::kFloat, "the NCCL backend reduces float32 or bf16 tensors");
  std::lock_guard<std::mutex> lock(mutex_);
  if (comm_ == nullptr) throw CommError(fmt::format("rank {}: NCCL backend: the communicator was aborted", rank_));
  c10::cuda::CUDAGuard guard(device_);
  const c10::cuda::CUDAStream caller = c10::cuda::getCurrentCUDAStream(device_);
  cudaEvent_t ready = nullptr, done = nullptr;
  C10_CUDA_CHECK(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming));
  C10_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
  C10_CUDA_CHECK(cudaEventRecord(ready, caller.stream()));
  C10_CUDA_CHECK(cudaStreamWaitEvent(stream_.stream(), ready, 0));
  C10_CUDA_CHECK(cudaEventDestroy(ready));  // released once the wait is satisfied
  c10::cuda::CUDACachingAllocator::recordStream(tensor.storage().data_ptr(), stream_);
  void* data = tensor.data_ptr();
  check(ncclAllReduce(data, data, static_cast<size_t>(tensor.numel()), type, ncclSum, comm_, stream_.stream()),
        "ncclAllReduce");
  C10_CUDA_CHECK(cudaEventRecord(done, stream_.stream()));
  return std::make_unique<NcclWork>(this, done);
}

}  // namespace

std::unique_ptr<GradComm> make_nccl_grad_comm(const MpiContext& mpi, const CommEndpoints&, int cuda_device) {
  return std::make_unique<NcclGradComm>(mpi, cuda_device);
}

}  // namespace mtdnn::comm
