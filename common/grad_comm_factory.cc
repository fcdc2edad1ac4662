// Chooses the gradient backend: the one place that knows which backends this build has.
#include "common/grad_comm.h"

namespace mtdnn {

CommBackend parse_comm_backend(const std::string& name) {
  if (name == "mpi") return CommBackend::kMpi;
  if (name == "gloo") return CommBackend::kGloo;
  if (name == "nccl") return CommBackend::kNccl;
  throw InputError(fmt::format("unknown --backend '{}': expected mpi, gloo or nccl", name));
}

const char* to_string(CommBackend backend) {
  switch (backend) {
    case CommBackend::kMpi: return "mpi";
    case CommBackend::kGloo: return "gloo";
    case CommBackend::kNccl: return "nccl";
  }
  return "?";
}

bool comm_backend_available(CommBackend backend) {
  switch (backend) {
    case CommBackend::kMpi:
    case CommBackend::kGloo: return true;
    case CommBackend::kNccl:
#if MTDNN_HAVE_NCCL
      return true;
#else
      return false;
#endif
  }
  return false;
}

std::unique_ptr<GradComm> make_grad_comm(CommBackend backend, const MpiContext& mpi) {
  MTDNN_INPUT_CHECK(comm_backend_available(backend),
                    "--backend {} is not available in this build (NCCL needs a LibTorch with CUDA and the "
                    "NCCL library at configure time); use mpi or gloo on CPU", to_string(backend));
  switch (backend) {
    case CommBackend::kMpi: return make_mpi_grad_comm(mpi);
    case CommBackend::kGloo: return make_gloo_grad_comm(mpi);
    case CommBackend::kNccl:
#if MTDNN_HAVE_NCCL
      return make_nccl_grad_comm(mpi);
#else
      break;
#endif
  }
  throw InputError("unreachable backend");
}

}  // namespace mtdnn
