// Shared state of the multi-rank tests: the job's MPI context.
#pragma once

#include "common/mpi_context.h"

namespace mtdnn::test {
MpiContext& mpi();
}  // namespace mtdnn::test
