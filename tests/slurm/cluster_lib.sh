# Shared by the Slurm tests: starts a one-node cluster (scripts/local-slurm.sh) in a
# scratch folder, tears it down on exit (printing the daemons' logs when the test failed),
# and gives bounded helpers to run Slurm clients and wait for jobs. Source it after setting
# `scratch` (the test's folder); it sets `repo`, `cluster` and `conf`.
#   Environment: MTDNN_SLURM_TEST_PORT (slurmctld port, default 6827, so that a cluster
#   started by hand on the default port 6817 does not collide).

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
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

