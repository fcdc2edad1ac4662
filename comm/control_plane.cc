// The control plane's two transports: MPI and one process (see control_plane.h).
#include "comm/control_plane.h"

#include <algorithm>

#include "comm/mpi_context.h"

namespace mtdnn::comm {

namespace {

class MpiControlPlane : public ControlPlane {
 public:
  explicit MpiControlPlane(const MpiContext& mpi) : mpi_(mpi) {}
  int rank() const override { return mpi_.rank(); }
  int size() const override { return mpi_.size(); }
  int local_size() const override { return mpi_.local_size(); }
  int local_rank() const override { return mpi_.local_rank(); }
  void broadcast(std::string* bytes, int root) override { mpi_.broadcast(bytes, root); }
  void check_agreement(const std::string& what, const std::string& value) override {
    mpi_.check_agreement(what, value);
  }
  void allreduce(std::vector<double>* values, size_t sum_count) override {
    sum_count = std::min(sum_count, values->size());
    MPI_Request request;
    if (sum_count > 0) {
      MTDNN_MPI(MPI_Iallreduce(MPI_IN_PLACE, values->data(), static_cast<int>(sum_count), MPI_DOUBLE, MPI_SUM,
                               mpi_.comm(), &request));
      mpi_.wait(&request, "allreduce");
    }
    if (values->size() > sum_count) {
      MTDNN_MPI(MPI_Iallreduce(MPI_IN_PLACE, values->data() + sum_count,
                               static_cast<int>(values->size() - sum_count), MPI_DOUBLE, MPI_MAX, mpi_.comm(),
                               &request));
      mpi_.wait(&request, "allreduce");
    }
  }
  std::vector<std::string> allgather(const std::string& bytes) override { return mpi_.allgather(bytes); }
  void barrier() override { mpi_.barrier(); }
  const MpiContext* mpi() const override { return &mpi_; }
  void begin_step(const char* step) override { mpi_.set_phase(step); }

 private:
  const MpiContext& mpi_;
};

class LocalControlPlane : public ControlPlane {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_size() const override { return 1; }
  int local_rank() const override { return 0; }
  void broadcast(std::string*, int) override {}
  void check_agreement(const std::string&, const std::string&) override {}
  void allreduce(std::vector<double>*, size_t) override {}
  std::vector<std::string> allgather(const std::string& bytes) override { return {bytes}; }
  void barrier() override {}
  const MpiContext* mpi() const override { return nullptr; }
};

}  // namespace

std::unique_ptr<ControlPlane> make_mpi_control_plane(const MpiContext& mpi) {
  return std::make_unique<MpiControlPlane>(mpi);
}

std::unique_ptr<ControlPlane> make_local_control_plane() { return std::make_unique<LocalControlPlane>(); }

}  // namespace mtdnn::comm
