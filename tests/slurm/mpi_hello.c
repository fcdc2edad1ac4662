/* Tiny MPI program for tests/slurm/local_cluster_test.sh: every rank prints one line
 * "mpi_hello rank R size S" so the test can check that srun --mpi=pmix started all ranks
 * in one MPI world. Every MPI call is checked; a failure names the call and exits 1. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK_MPI(call)                                                          \
  do {                                                                           \
    int rc_ = (call);                                                            \
    if (rc_ != MPI_SUCCESS) {                                                    \
      fprintf(stderr, "mpi_hello: %s failed with %d (%s:%d)\n", #call, rc_,      \
              __FILE__, __LINE__);                                               \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)

int main(int argc, char **argv) {
  int rank = -1, size = -1;
  CHECK_MPI(MPI_Init(&argc, &argv));
  CHECK_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  CHECK_MPI(MPI_Comm_size(MPI_COMM_WORLD, &size));
  /* A collective proves the ranks talk to each other, not just that each one started. */
  int sum = 0;
  CHECK_MPI(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
  if (sum != size * (size - 1) / 2) {
    fprintf(stderr, "mpi_hello: rank %d: sum of ranks %d, expected %d\n", rank, sum,
            size * (size - 1) / 2);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  printf("mpi_hello rank %d size %d\n", rank, size);
  fflush(stdout);
  CHECK_MPI(MPI_Finalize());
  return 0;
}
