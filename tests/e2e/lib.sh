# Shared start of the end-to-end scripts (sourced): skip (77) unless the shared data files
# are there, let mpirun run as root on the loopback interface, start a fresh work folder.
#   e2e_start WORK_DIR FILE...
e2e_start() {
  local work=$1 f
  shift
  for f in "$@"; do
    [ -f "$f" ] || { echo "skipped: $f not found (set MTDNN_DATA_DIR)"; exit 77; }
  done
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  export OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
  rm -rf "$work" && mkdir -p "$work"
}

fail() { echo "FAIL: $*" >&2; exit 1; }
