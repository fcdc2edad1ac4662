// Shared state of the multi-rank tests: the job's MPI context.
#pragma once

#include "comm/mpi_context.h"

namespace mtdnn::test {
comm::MpiContext& mpi();
}  // namespace mtdnn::test
