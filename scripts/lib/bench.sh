# Helpers shared by the benchmark scripts (sourced).

# wait_idle: waits (at most $MTDNN_BENCH_IDLE_WAIT s, default 60) until the cores were >= 90%
# idle over one second: other processes' work makes OpenMP threads wait for each other and
# skews every number.
wait_idle() {
  local i a b idle total k limit=${MTDNN_BENCH_IDLE_WAIT:-60}
  for ((i = 0; i < limit; i++)); do
    read -ra a < /proc/stat; sleep 1; read -ra b < /proc/stat
    idle=$((b[4] - a[4])); total=0
    for k in 1 2 3 4 5 6 7 8; do total=$((total + b[k] - a[k])); done
    if [ "$total" -gt 0 ] && [ $((idle * 100 / total)) -ge 90 ]; then return 0; fi
  done
  echo "  (the machine stayed busy for ${limit} s; running anyway)"
}

# gt A B: true when the number A is greater than B.
gt() { awk "BEGIN{exit !($1 > $2)}"; }
