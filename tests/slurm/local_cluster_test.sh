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

repo=$(cd "$(dirname "$0")/../.." && pwd)
scratch=${1:-$repo/build/slurm-local-test}
cluster=$scratch/cluster
export MTDNN_SLURM_PORT=${MTDNN_SLURM_TEST_PORT:-6827}
started=$SECONDS

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "-- [$((SECONDS - started)) s] $*"; }

missing=()
for tool in munged slurmctld slurmd sbatch srun scontrol scancel mpicc; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
[ ${#missing[@]} -eq 0 ] || fail "missing ${missing[*]}: install the Slurm, munge and OpenMPI packages with scripts/setup.sh"
[ "$(id -u)" -eq 0 ] || fail "needs root (the local cluster's daemons run as root)"

rm -rf "$scratch"
mkdir -p "$scratch"

teardown() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "== test failed (exit $rc); daemon logs:" >&2
    for f in "$cluster"/log/*.log; do
      [ -f "$f" ] && { echo "----- $f" >&2; tail -n 30 "$f" >&2; }
    done
    for f in "$scratch"/*.out; do
      [ -f "$f" ] && { echo "----- $f" >&2; cat "$f" >&2; }
    done
  fi
  "$repo/scripts/local-slurm.sh" stop "$cluster" || rc=1
  note "done (exit $rc)"
  exit "$rc"
}
trap teardown EXIT

note "starting the cluster in $cluster (port $MTDNN_SLURM_PORT)"
"$repo/scripts/local-slurm.sh" start "$cluster"

# Slurm clients only through here, with SLURM_CONF set (no DNS lookups) and a time bound.
conf=$cluster/etc/slurm.conf
slurm() {
  [ -f "$conf" ] || fail "no $conf: not calling $1 without SLURM_CONF"
  SLURM_CONF=$conf timeout 20 "$@"
}

# "start" again on a running cluster must say so and succeed.
"$repo/scripts/local-slurm.sh" start "$cluster" | grep -q "already running" \
  || fail "second start did not report 'already running'"
"$repo/scripts/local-slurm.sh" status "$cluster" >/dev/null || fail "status is not 0 on a fresh cluster"

mpicc -O1 -o "$scratch/mpi_hello" "$repo/tests/slurm/mpi_hello.c"

# job_state ID: the JobState of a job (scontrol keeps finished ones for MinJobAge = 300 s).
job_state() { slurm scontrol show job -o "$1" | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
job_field() { slurm scontrol show job -o "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# wait_job ID SECONDS: waits for the job to leave PENDING/RUNNING/COMPLETING; prints its state.
wait_job() {
  local id=$1 deadline=$((SECONDS + $2)) state
  while :; do
    state=$(job_state "$id")
    case "$state" in
      PENDING|RUNNING|COMPLETING|CONFIGURING|REQUEUED|"") ;;
      *) echo "$state"; return 0 ;;
    esac
    [ "$SECONDS" -lt "$deadline" ] || { slurm scontrol show job "$id" >&2; fail "job $id still $state after $2 s"; }
    sleep 0.3
  done
}
wait_file() {
  local f=$1 deadline=$((SECONDS + $2))
  until [ -s "$f" ]; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

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
