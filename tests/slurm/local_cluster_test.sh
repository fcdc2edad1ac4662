#!/usr/bin/env bash
# End-to-end check of scripts/local-slurm.sh: starts a one-node cluster in a scratch folder,
# runs a 2-rank MPI job through sbatch + srun --mpi=pmix (and 4 ranks with --overcommit),
# checks that `scancel --signal=USR1 --batch` reaches a trap in the batch shell (the
# preemption path the training job uses), and always stops the cluster. Registered in ctest
# as slurm.local_cluster (tests/scripts.cmake).
#
#   tests/slurm/local_cluster_test.sh [SCRATCH_DIR]   (default build/slurm-local-test)
# Environment: MTDNN_SLURM_TEST_PORT (slurmctld port, default 6827, so that a cluster started
# by hand on the default port 6817 does not collide).
set -euo pipefail

scratch=${1:-$(cd "$(dirname "$0")/../.." && pwd)/build/slurm-local-test}
# shellcheck source=tests/slurm/cluster_lib.sh
source "$(dirname "$0")/cluster_lib.sh"

# "start" again on a running cluster must say so and succeed.
"$repo/scripts/local-slurm.sh" start "$cluster" | grep -q "already running" \
  || fail "second start did not report 'already running'"
"$repo/scripts/local-slurm.sh" status "$cluster" >/dev/null || fail "status is not 0 on a fresh cluster"

mpicc -O1 -o "$scratch/mpi_hello" "$repo/tests/slurm/mpi_hello.c"

# --- 1. a 2-task MPI job: sbatch + srun --mpi=pmix --------------------------------------------
cat >"$scratch/hello.sbatch" <<EOF
#!/bin/bash
#SBATCH --job-name=mpi-hello
#SBATCH --ntasks=2
#SBATCH --time=2
#SBATCH --output=$scratch/hello.out
set -eu
srun --mpi=pmix "$scratch/mpi_hello"
# More ranks than CPUs (2 here): --overcommit.
srun --mpi=pmix --overcommit --ntasks=4 "$scratch/mpi_hello" | sed 's/^/over: /'
EOF
job=$(slurm sbatch --parsable "$scratch/hello.sbatch")
note "submitted MPI job $job"
state=$(wait_job "$job" 60)
[ "$state" = COMPLETED ] || fail "MPI job $job ended $state (exit $(job_field "$job" ExitCode)); output: $(cat "$scratch/hello.out" 2>/dev/null)"
for r in 0 1; do
  grep -qx "mpi_hello rank $r size 2" "$scratch/hello.out" || fail "rank $r of 2 did not report in $scratch/hello.out"
done
[ "$(grep -c '^mpi_hello rank' "$scratch/hello.out")" -eq 2 ] || fail "expected exactly 2 rank lines of size 2"
for r in 0 1 2 3; do
  grep -qx "over: mpi_hello rank $r size 4" "$scratch/hello.out" || fail "overcommitted rank $r of 4 missing"
done
note "MPI job $job COMPLETED: ranks 0 and 1 of 2 reported (and 4 ranks with --overcommit)"

# --- 2. scancel --signal=USR1 --batch reaches the batch shell's trap --------------------------
# bash runs a trap only between commands, so the workload runs in the background and the
# shell waits on it; this is the pattern the training job's sbatch file uses.
cat >"$scratch/usr1.sbatch" <<EOF
#!/bin/bash
#SBATCH --job-name=usr1-trap
#SBATCH --ntasks=1
#SBATCH --time=2
#SBATCH --output=$scratch/usr1.out
on_usr1() {
  echo "USR1 job \$SLURM_JOB_ID" >"$scratch/usr1.marker"
  kill "\$child" 2>/dev/null
  exit 0
}
trap on_usr1 USR1
sleep 100 &
child=\$!
echo ready >"$scratch/usr1.ready"
wait "\$child"
echo "wait returned without USR1" >&2
exit 3
EOF
job=$(slurm sbatch --parsable "$scratch/usr1.sbatch")
note "submitted trap job $job"
wait_file "$scratch/usr1.ready" 30 || fail "job $job did not start within 30 s (state $(job_state "$job"))"
slurm scancel --signal=USR1 --batch "$job"
wait_file "$scratch/usr1.marker" 20 || fail "the USR1 trap of job $job did not run within 20 s"
grep -qx "USR1 job $job" "$scratch/usr1.marker" || fail "unexpected marker: $(cat "$scratch/usr1.marker")"
state=$(wait_job "$job" 30)
[ "$state" = COMPLETED ] || fail "trap job $job ended $state, expected COMPLETED (exit 0 from the trap)"
note "scancel --signal=USR1 --batch reached the trap of job $job"

"$repo/scripts/local-slurm.sh" status "$cluster" >/dev/null || fail "node not usable after the jobs"
note "PASS"
