# Helpers shared by the benchmark scripts (sourced).

# The peer reference (bench/ref_mtdnn.py) runs under the project's Python: the PyTorch 2.x of
# requirements.lock. MTDNN_PEER_PYTHON names another interpreter (Debian's /usr/bin/python3
# for torch 1.13).
peer_python=${MTDNN_PEER_PYTHON:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/venv-python}

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

# bench_args NAME ARGS...: the options the benchmarks share, into $rounds, $steps,
# $update_readme and $build (their defaults set by the script first); -h/--help prints the
# script's opening comment. Any other option goes to the script's bench_option function
# (when it has one), which sets $used to the number of words it took (0: not its option).
bench_args() {
  local name=$1
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --rounds) rounds=$2; shift 2 ;;
      --steps) steps=$2; shift 2 ;;
      --update-readme) update_readme=1; shift ;;
      --build) build=$2; shift 2 ;;
      -h|--help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0"; exit 0 ;;
      *)
        used=0
        if declare -F bench_option >/dev/null; then bench_option "$@"; fi
        [ "$used" -gt 0 ] || { echo "$name: unknown argument $1" >&2; exit 2; }
        shift "$used" ;;
    esac
  done
}

# readme_block NAME INTRO: README.md's NAME block becomes INTRO, a blank line and standard
# input (scripts/readme-block.py).
readme_block() {
  { echo "$2"; echo; cat; } | "$(dirname "${BASH_SOURCE[0]}")/../readme-block.py" "$1"
}

# bench_prepare NAME "TOOL..." FILE...: every FILE must exist (else a message naming it and
# exit 1), every TOOL of $build/bin is built when missing.
bench_prepare() {
  local name=$1 tools=$2 f tool
  shift 2
  for f in "$@"; do
    [ -f "$f" ] || { echo "$name: $f not found (set MTDNN_SHARED_DIR)" >&2; exit 1; }
  done
  for tool in $tools; do
    [ -x "$build/bin/$tool" ] || cmake --build "$build" -j2 --target "$tool"
  done
}

# train_rates METRICS_JSONL: "tokens/s loader% imbalance% comm%" of an mtdnn-train run, over
# its training records after the first one (start-up and the first window excluded).
train_rates() {
  /usr/bin/python3 - "$1" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"type":"train"' in l]
a, b = rows[0], rows[-1]
dt = b["elapsed_s"] - a["elapsed_s"]
share = lambda key: f'{100 * (b[key] - a[key]) / dt:.2f}'
print(f'{(b["real_tokens"] - a["real_tokens"]) / dt:.0f}', share("loader_wait_s"),
      share("imbalance_wait_s"), share("comm_wait_s"))
PY
}

# bench_train_ini NAME TASK_DEF TASKS [LINE...]: the mtdnn-train run the training benchmarks
# time, as $work/train.ini (plus LINEs) on the shards in $work/data: BERT-mini
# (configs/bert-mini.json, dropout 0.1), batch 32, length 128, AdamW at 1e-4, $steps steps, a
# training record every $log_every (10) steps.
bench_train_ini() {
  local name=$1 task_def=$2 tasks=$3
  shift 3
  log_every=10
  (( steps > 2 * log_every )) || { echo "$name: --steps must exceed $((2 * log_every))" >&2; exit 2; }
  {
    cat <<INI
data = $work/data
task-def = $task_def
tasks = $tasks
bert-config = $here/configs/bert-mini.json
max-seq-len = 128
batch-size = 32
max-steps = $steps
optimizer = adamw
lr = 1e-4
log-every = $log_every
resume = never
INI
    if [ $# -gt 0 ]; then printf '%s\n' "$@"; fi
  } >"$work/train.ini"
}
