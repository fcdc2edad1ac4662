// The table of gradient backends: the one place that knows which backends this build has.
#include <array>

#include "comm/grad_comm.h"

namespace mtdnn::comm {
namespace {

struct BackendEntry {
  const char* name;
  CommBackend backend;
  bool available;  // compiled into this build
  std::unique_ptr<GradComm> (*make)(const MpiContext&, const CommEndpoints&, int cuda_device);
};

#if MTDNN_HAVE_GLOO
constexpr BackendEntry kGloo{"gloo", CommBackend::kGloo, true, make_gloo_grad_comm};
#else
constexpr BackendEntry kGloo{"gloo", CommBackend::kGloo, false, nullptr};
#endif
#if MTDNN_HAVE_NCCL
constexpr BackendEntry kNccl{"nccl", CommBackend::kNccl, true, make_nccl_grad_comm};
#else
constexpr BackendEntry kNccl{"nccl", CommBackend::kNccl, false, nullptr};
#endif

constexpr std::array<BackendEntry, 3> kBackends = {{
    {"mpi", CommBackend::kMpi, true, make_mpi_grad_comm},
    kGloo,
    kNccl,
}};

const BackendEntry& entry(CommBackend backend) {
  for (const auto& e : kBackends)
    if (e.backend == backend) return e;
  throw Error("a gradient backend missing from the table");
}

}  // namespace

CommBackend parse_comm_backend(const std::string& name) {
  for (const auto& e : kBackends)
    if (name == e.name) return e.backend;
  throw InputError(fmt::format("expected mpi, gloo or nccl, got '{}'", name));
}

const char* to_string(CommBackend backend) { return entry(backend).name; }

bool comm_backend_available(CommBackend backend) { return entry(backend).available; }

std::unique_ptr<GradComm> make_grad_comm(CommBackend backend, const MpiContext& mpi, const CommEndpoints& endpoints,
                                         int cuda_device) {
  const BackendEntry& e = entry(backend);
  MTDNN_INPUT_CHECK(e.available,
                    "--backend {} is not available in this build (NCCL needs a LibTorch with CUDA and the "
                    "NCCL library at configure time, Gloo a LibTorch built with it and Gloo's headers); use "
                    "--backend mpi", e.name);
  return e.make(mpi, endpoints, cuda_device);
}

}  // namespace mtdnn::comm
