// MPI gradient backend. OpenMPI's non-blocking collectives only progress inside MPI calls
// (and its MPI_Iallreduce is up to 2x slower than MPI_Allreduce on 4 MB buckets), so a
// dedicated thread runs the reductions (blocking MPI_Allreduce, in the order they were
// started, on a communicator of its own) while backward goes on: that is the overlap. The
// deadline (--comm-timeout) is kept by the thread that waits for a reduction: wait()
// polls for its end through MpiContext::wait_until, which answers and asks the census.
// A GPU tensor is staged through host memory: copied to the host when its reduction starts
// (on the caller's stream, after the gradient that filled it) and back by wait(). That lets
// several ranks share one GPU, which NCCL refuses.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "comm/grad_comm.h"

namespace mtdnn::comm {
namespace {

class MpiWork : public GradWork {
 public:
  MpiWork(const MpiContext& mpi, std::string what) : mpi_(mpi), what_(std::move(what)) {}
  void wait() override {
    mpi_.wait_until(
        [this] {
          std::unique_lock<std::mutex> lock(mutex_);
          // Returns at once when notified; the timeout only paces the census's polls.
          done_cv_.wait_for(lock, std::chrono::milliseconds(1), [this] { return done_; });
          return done_;
        },
        what_);
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_.empty()) throw CommError(error_);
  }
  void finish(std::string error) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
      error_ = std::move(error);
    }
    done_cv_.notify_all();
  }

 private:
  const MpiContext& mpi_;
  std::string what_;
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::string error_;
};

class MpiGradComm : public GradComm {
 public:
  explicit MpiGradComm(const MpiContext& mpi) : mpi_(mpi) {
    MTDNN_MPI(MPI_Comm_dup(mpi.comm(), &comm_));
    MTDNN_MPI(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
    thread_ = std::thread([this] { run(); });
  }

  ~MpiGradComm() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    MPI_Comm_free(&comm_);
  }

  std::string name() const override { return "mpi"; }

  std::unique_ptr<GradWork> allreduce_sum(const at::Tensor& tensor) override {
    MTDNN_CHECK(tensor.is_contiguous() && tensor.scalar_type() == at::kFloat,
                "the MPI backend reduces contiguous float32 tensors");
    const bool staged = !tensor.device().is_cpu();
    at::Tensor host = staged ? tensor.to(at::kCPU) : tensor;
    auto work = std::make_shared<MpiWork>(
        mpi_, fmt::format("gradient all-reduce #{} ({} values, mpi backend)", ++reductions_, host.numel()));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back({host, work});
    }
    cv_.notify_one();
    return std::make_unique<Handle>(work, staged ? tensor : at::Tensor(), host);
  }

 private:
  struct Handle : GradWork {
    Handle(std::shared_ptr<MpiWork> w, at::Tensor d, at::Tensor h)
        : work(std::move(w)), device(std::move(d)), host(std::move(h)) {}
    void wait() override {
      work->wait();
      if (device.defined()) device.copy_(host);  // the staged sum back to the GPU
    }
    std::shared_ptr<MpiWork> work;
    at::Tensor device, host;  // device: undefined for a CPU tensor
  };
  struct Item {
    at::Tensor tensor;
    std::shared_ptr<MpiWork> work;
  };

  void run() {
    for (;;) {
      Item item;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        item = std::move(queue_.front());
        queue_.pop_front();
      }
      std::string error;
      try {
        float* data = item.tensor.data_ptr<float>();
        int64_t n = item.tensor.numel();
        constexpr int64_t kPiece = 1 << 30;  // MPI counts are int
        for (int64_t off = 0; off < n; off += kPiece)
          MTDNN_MPI(MPI_Allreduce(MPI_IN_PLACE, data + off, static_cast<int>(std::min(kPiece, n - off)), MPI_FLOAT,
                                  MPI_SUM, comm_));
      } catch (const std::exception& e) {
        error = e.what();
      }
      item.work->finish(std::move(error));
    }
  }

  const MpiContext& mpi_;
  int64_t reductions_ = 0;  // started so far, for the report
  MPI_Comm comm_ = MPI_COMM_NULL;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stop_ = false;
};

}  // namespace

std::unique_ptr<GradComm> make_mpi_grad_comm(const MpiContext& mpi, const CommEndpoints&, int) {
  return std::make_unique<MpiGradComm>(mpi);
}

}  // namespace mtdnn::comm
