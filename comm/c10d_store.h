// What the c10d-based gradient backends (Gloo, NCCL) share: the rendezvous store,
// bootstrapped over MPI — rank 0 serves a TCPStore on an ephemeral port and broadcasts its
// address, so no fixed port and no environment variables are needed (on one node the
// address is 127.0.0.1; across nodes rank 0's host name, or CommEndpoints::store_address) — and the
// wrapper that turns a c10d work handle into a GradWork.
#pragma once

#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>

#include "comm/comm_deadline.h"
#include "comm/grad_comm.h"
#include "comm/mpi_context.h"

namespace mtdnn::comm {

c10::intrusive_ptr<c10d::Store> make_c10d_store(const MpiContext& mpi, const std::string& address_override);

// A c10d all-reduce in flight. An all-reduce fails when a peer is gone, cut off or silent past
// the process group's timeout (--comm-timeout): wait() reports it as a missed deadline
// (comm_deadline.h: by default the job ends with kExitCommTimeout), else throws CommError.
class C10dWork : public GradWork {
 public:
  C10dWork(c10::intrusive_ptr<c10d::Work> work, const char* backend) : work_(std::move(work)), backend_(backend) {}
  void wait() override {
    try {
      work_->wait();
    } catch (const std::exception& e) {
      const std::string what = fmt::format("{} all-reduce failed: {}", backend_, e.what());
      report_comm_timeout(what);
      throw CommError(what);
    }
  }

 private:
  c10::intrusive_ptr<c10d::Work> work_;
  const char* backend_;
};

// A gradient backend over a c10d process group (Gloo, NCCL): one all-reduce per call.
template <typename ProcessGroup>
class C10dGradComm : public GradComm {
 public:
  C10dGradComm(const char* name, c10::intrusive_ptr<ProcessGroup> group) : name_(name), group_(std::move(group)) {}
  std::string name() const override { return name_; }
  std::unique_ptr<GradWork> allreduce_sum(const at::Tensor& tensor) override {
    std::vector<at::Tensor> tensors{tensor};
    return std::make_unique<C10dWork>(group_->allreduce(tensors), name_);
  }

 private:
  const char* name_;
  c10::intrusive_ptr<ProcessGroup> group_;
};

}  // namespace mtdnn::comm
