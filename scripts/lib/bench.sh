# Helpers shared by the benchmark scripts (sourced).

# The peers (bench/ref_mtdnn.py, bench/hf_peer.py; see peer_set) run under the project's
# Python: the PyTorch 2.x of requirements.lock. MTDNN_PEER_PYTHON names another interpreter
# for them (and drops the extra torch 1.13 row).
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

# torch_version PYTHON: the PyTorch version PYTHON imports, without its local tag (2.11.0).
torch_version() { "$1" -c 'import torch; print(torch.__version__.split("+")[0])'; }

# The peer set: what a user would run instead of mtdnn, each run at 1 and at 2 threads.
#   bench/ref_mtdnn.py under the project's PyTorch 2.x, eager and under torch.compile;
#   Hugging Face's BERT (bench/hf_peer.py: transformers' BertModel / BertForPreTraining with
#   SDPA attention), eager and under torch.compile(mode="default");
#   bench/ref_mtdnn.py under Debian's torch 1.13 (/usr/bin/python3), where it is installed,
#   for continuity with earlier figures.
# peer_set fills the array peers with "label|threads|command words" (the workload's flags are
# added by the caller). torch.compile's generated code is cached in $build/bench-inductor-cache
# (TORCHINDUCTOR_CACHE_DIR), emptied here, so a label's first compiled run compiles from scratch.
peer_set() {
  local root py t v2 v1=""
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  py=$peer_python
  v2=$(torch_version "$py")
  if [ -z "${MTDNN_PEER_PYTHON:-}" ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    v1=$(torch_version /usr/bin/python3)
  fi
  if [ -z "${TORCHINDUCTOR_CACHE_DIR:-}" ]; then
    TORCHINDUCTOR_CACHE_DIR=$build/bench-inductor-cache
    rm -rf "$TORCHINDUCTOR_CACHE_DIR"
    export TORCHINDUCTOR_CACHE_DIR
  fi
  peers=()
  for t in 1 2; do
    peers+=("ref_mtdnn.py, torch $v2 eager|$t|$py $root/bench/ref_mtdnn.py --threads $t"
            "ref_mtdnn.py, torch $v2 torch.compile|$t|$py $root/bench/ref_mtdnn.py --compile --threads $t"
            "Hugging Face BERT (SDPA), torch $v2 eager|$t|$py $root/bench/hf_peer.py --threads $t"
            "Hugging Face BERT (SDPA), torch $v2 torch.compile|$t|$py $root/bench/hf_peer.py --compile default --threads $t")
    [ -z "$v1" ] || peers+=("ref_mtdnn.py, torch $v1 eager (Debian)|$t|/usr/bin/python3 $root/bench/ref_mtdnn.py --threads $t")
  done
}

# measured CMD...: runs CMD (its output kept), then prints "peak_rss_mib M": the largest resident
# set of CMD or of any process it waited for (with mpirun: the largest rank). Exits on failure.
measured() {
  local f
  f=$(mktemp)
  /usr/bin/time -f '%M' -o "$f" "$@" || { echo "measured: $* failed" >&2; rm -f "$f"; exit 1; }
  echo "peak_rss_mib $(( $(tail -1 "$f") / 1024 ))"
  rm -f "$f"
}

# field NAME TEXT: the number after the word NAME in TEXT (empty when absent).
field() { sed -n "s|.*\\b$1 \\([0-9.]*\\).*|\\1|p" <<<"$2" | head -1; }

# run_peers KEY WORKLOAD...: one run of every peer of peer_set with the WORKLOAD flags, each
# after wait_idle, a line printed per run. Per label (under KEY) it keeps the best run's real
# tokens/s, thread count and peak resident memory, and the longest warm-up (the compilation
# from scratch, for the compiled peers) in the global arrays peer_tok, peer_threads, peer_rss
# and peer_warmup; peer_labels lists KEY's labels in order.
declare -gA peer_tok peer_threads peer_rss peer_warmup peer_seen
peer_labels=() peers=()
run_peers() {
  local key=$1 entry label threads cmd out tok k
  shift
  [ "${#peers[@]}" -gt 0 ] || peer_set
  for entry in "${peers[@]}"; do
    IFS='|' read -r label threads cmd <<<"$entry"
    k="$key|$label"
    wait_idle
    # shellcheck disable=SC2086  # cmd holds several words
    out=$(measured $cmd "$@" 2>/dev/null)
    tok=$(field tokens/s "$out")
    printf '  %-62s %2s thread(s): %6.0f tokens/s, warm-up %5s s, peak %5s MiB\n' "$label" "$threads" "$tok" \
      "$(field warmup_s "$out")" "$(field peak_rss_mib "$out")"
    if [ -z "${peer_seen[$k]:-}" ]; then peer_seen[$k]=1; peer_labels+=("$k"); fi
    if gt "$tok" "${peer_tok[$k]:-0}"; then
      peer_tok[$k]=$tok peer_threads[$k]=$threads peer_rss[$k]=$(field peak_rss_mib "$out")
    fi
    if gt "$(field warmup_s "$out")" "${peer_warmup[$k]:-0}"; then peer_warmup[$k]=$(field warmup_s "$out"); fi
  done
}

# best_peer KEY: "tokens/s label" of KEY's fastest peer.
best_peer() {
  local k best=0 who=""
  for k in "${peer_labels[@]}"; do
    [ "${k%%|*}" = "$1" ] || continue
    if gt "${peer_tok[$k]}" "$best"; then best=${peer_tok[$k]} who=${k#*|}; fi
  done
  echo "$best $who"
}

# peer_rows KEY REFERENCE_TOKENS [GFLOP_PER_TOKEN PEAK_GFLOPS]: a markdown row per peer of KEY:
# | label | best thread count | tokens/s | tokens/s over REFERENCE_TOKENS | warm-up s | peak MiB |
# with an MFU cell (model FLOPs per second over the GEMM peak) when the last two are given.
peer_rows() {
  local key=$1 ref=$2 gpt=${3:-} peak=${4:-} k mfu=""
  for k in "${peer_labels[@]}"; do
    [ "${k%%|*}" = "$key" ] || continue
    [ -z "$gpt" ] || mfu=$(awk -v t="${peer_tok[$k]}" -v g="$gpt" -v p="$peak" 'BEGIN { printf " %.1f%% |", 100 * t * g / p }')
    awk -v l="${k#*|}" -v th="${peer_threads[$k]}" -v t="${peer_tok[$k]}" -v r="$ref" -v w="${peer_warmup[$k]}" \
      -v m="${peer_rss[$k]}" -v mfu="$mfu" \
      'BEGIN { printf "| %s | %d | %.0f | %.2fx | %.1f | %d |%s\n", l, th, t, t / r, w, m, mfu }'
  done
}
