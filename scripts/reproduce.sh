#!/usr/bin/env bash
# MT-DNN's claim in miniature: pretraining -> multi-task refinement -> fine-tuning, against
# single-task fine-tuning from the same pretrained encoder and against both recipes without
# pretraining, on identical budgets, several seeds each (docs/reproduce.md).
#
#   scripts/reproduce.sh [--quick] [--plan] [--update-readme] [--bin DIR] [--out DIR] [--jobs N] [GLUE_DIR]
#     --quick          the same path with tiny budgets and 2 seeds (minutes; the ctest reproduce.quick);
#                      its numbers are a pipeline test, not results
#     --plan           measure the step rates, print the plan and the duration estimate, and stop
#     --update-readme  write README.md's results block (and docs/images/reproduce.png) from
#                      the finished run's results (full runs only)
#     --bin DIR        use the binaries already built in DIR (no build)
#     --out DIR        instead of runs/reproduce (runs/reproduce-quick with --quick)
#     --jobs N         runs at a time, one core each (default 2)
#
# Stage 1 pretrains BERT-tiny on the unlabeled text of every GLUE task found in GLUE_DIR
# (scripts/glue-corpus.py; labels are never read) plus the Python documentation corpus;
# stage 2 refines it on CoLA, SST-2, MRPC, STS-B and RTE at once; stage 3 fine-tunes each
# task. Outputs: OUT/results.md, results.json, results.png; every run in its own folder
# (OUT/<setting>/seed<s>/<task>/ with command.txt). Resumable: a run whose result.json
# exists is skipped and an interrupted one continues from its checkpoint, so rerunning the
# same command finishes an interrupted experiment. Before running, the step rates are
# measured and the duration estimated.
#
# GLUE is looked for at the argument, $MTDNN_GLUE_DIR, data/glue, then ../shared/data/glue;
# the vocabulary at $MTDNN_VOCAB, data/vocab/bert-base-uncased-vocab.txt, then vocab/ beside
# the GLUE folder; the Python documentation at $MTDNN_CORPUS, then corpus/python-docs.txt
# beside the GLUE folder. Exits 77 when one of them is missing.
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
MTDNN_GLUE_DIR=$(abs "${MTDNN_GLUE_DIR:-}") MTDNN_VOCAB=$(abs "${MTDNN_VOCAB:-}") MTDNN_CORPUS=$(abs "${MTDNN_CORPUS:-}")
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
vocab="" corpus=""
if [ -n "$glue" ]; then
  for candidate in "${MTDNN_VOCAB:-}" data/vocab/bert-base-uncased-vocab.txt "$glue/../vocab/bert-base-uncased-vocab.txt"; do
    if [ -n "$candidate" ] && [ -f "$candidate" ]; then vocab=$candidate; break; fi
  done
  for candidate in "${MTDNN_CORPUS:-}" "$glue/../corpus/python-docs.txt"; do
    if [ -n "$candidate" ] && [ -f "$candidate" ]; then corpus=$candidate; break; fi
  done
fi
if [ -z "$glue" ] || [ -z "$vocab" ] || [ -z "$corpus" ]; then
  echo "reproduce: needs GLUE (argument or \$MTDNN_GLUE_DIR), the uncased BERT vocabulary (\$MTDNN_VOCAB)" >&2
  echo "and the Python documentation corpus (\$MTDNN_CORPUS); found: '${glue}', '${vocab}', '${corpus}'" >&2
  exit 77
fi

eval "$("$py" "$helper" plan $mode)"   # the budgets: pt_steps, seeds, ... (scripts/lib/reproduce.py)

# --update-readme after a finished run only rewrites the README from its files.
readme() {
  local block
  block=$("$py" "$helper" readme "$out")  # refuses quick-mode and incomplete results
  mkdir -p docs/images
  cp "$out/results.png" docs/images/reproduce.png
  scripts/readme-block.py results:reproduce <<<"$block"
  echo "README.md's results block and docs/images/reproduce.png written from $out/results.json"
}

if [ -z "$bin" ]; then
  bin=build/bin
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build --target mtdnn-preprocess mtdnn-train mtdnn-predict
fi
for tool in mtdnn-preprocess mtdnn-train; do
  [ -x "$bin/$tool" ] || { echo "reproduce: $bin/$tool is missing (run without --bin to build it)" >&2; exit 1; }
done

# --- the plan: the same command on the same folder continues the same experiment -----------------
mkdir -p "$out"
plan_json=$("$py" -c 'import json, sys; sys.path.insert(0, "scripts/lib"); import reproduce as r
print(json.dumps({"command": sys.argv[1], "mode": sys.argv[2], "plan": r.plan(sys.argv[2]), "model": r.MODEL}, sort_keys=True))' \
  "$command" $mode)
if [ -f "$out/plan.json" ] && [ "$(cat "$out/plan.json")" != "$plan_json" ]; then
  echo "reproduce: $out holds an experiment with another plan ($out/plan.json); use another --out or remove it" >&2
  exit 1
fi
echo "$plan_json" > "$out/plan.json"
cp configs/bert-tiny.json "$out/bert.json"

# --- data: the corpus (unlabeled GLUE text + Python docs) and the five tasks' shards ---------------
data=$out/data
if [ ! -f "$data/summary.txt" ]; then
  rm -rf "$data" "$data.tmp" "$out/corpus"
  mkdir -p "$out/corpus"
  "$py" scripts/glue-corpus.py "$glue" "$out/corpus/glue.txt"
  cp "$corpus" "$out/corpus/$(basename "$corpus")"
  # tasks/pretrain.yml's task under a name that says what it holds
  sed 's/^wiki:/corpus:/' tasks/pretrain.yml > "$out/pretrain.yml"
  { "$bin/mtdnn-preprocess" --task-def "$out/pretrain.yml" --input "$out/corpus" --vocab "$vocab" --uncased \
      --max-seq-len "$max_seq_len" --shards 2 --out "$data.tmp" &&
    "$bin/mtdnn-preprocess" --task-def tasks/glue.yml --input "$glue" --vocab "$vocab" --uncased \
      --max-seq-len "$max_seq_len" --shards 1 --out "$data.tmp" --tasks "${tasks// /,}" --splits train,dev
  } > "$out/summary.tmp" 2> "$out/preprocess.log" || { tail -n 5 "$out/preprocess.log" >&2; exit 1; }
  mv "$out/summary.tmp" "$data.tmp/summary.txt"
  mv "$data.tmp" "$data"
fi
echo "Data in $data:"
grep -v '^total:' "$data/summary.txt" | sed 's/^/  /'

# --- one run of mtdnn-train per cell ---------------------------------------------------------------
# train_cell NAME ARGS...: skipped when NAME/result.json exists; otherwise trains (continuing
# from the cell's checkpoint after an interruption) and writes result.json from metrics.jsonl.
# $cell_threads intra-op threads (1, but stage 1's run, alone, has every job's core).
cell_threads=1
train_cell() {
  local name=$1 dir=$out/$1 start
  shift
  [ -f "$dir/result.json" ] && return 0
  mkdir -p "$dir"
  local args=(--data "$data" --max-seq-len "$max_seq_len" --threads "$cell_threads" --log-every 200 --eval-every 0
              --checkpoint-minutes 10 --keep-checkpoints 1 --resume auto --out "$dir" "$@")
  printf '%q ' "$bin/mtdnn-train" "${args[@]}" > "$dir/command.txt"
  echo >> "$dir/command.txt"
  start=$(date +%s)
  if ! "$bin/mtdnn-train" "${args[@]}" > "$dir/train.log" 2>&1; then
    echo "reproduce: $name failed; see $dir/train.log" >&2
    tail -n 5 "$dir/train.log" >&2
    return 1
  fi
  "$py" "$helper" cell-result "$dir" "$name" $(( $(date +%s) - start ))
  rm -rf "$dir/checkpoints"  # finished: its model/ and result.json are what later stages read
  # --quick keeps no per-task models (nothing reads them; 17 MiB each)
  case "$mode:$name" in quick:pretrain|quick:*/refine|full:*) ;; *) rm -rf "$dir/model" ;; esac
}

glue_args=(--task-def tasks/glue.yml --batch-size "$batch_size" --optimizer "$optimizer" --bucket-window "$bucket_window")
run_cell() {
  local name=$1 setting seed task
  IFS=/ read -r setting seed task <<<"$name"
  local s=${seed#seed}
  case "$name" in
    pretrain)
      cell_threads=$jobs train_cell pretrain --task-def "$out/pretrain.yml" --tasks corpus --bert-config "$out/bert.json" \
        --optimizer lamb --lr "$pt_lr" --warmup "$pt_warmup" --batch-size "$pt_batch" --max-steps "$pt_steps" \
        --epochs 1000 --seed "$pt_seed" ;;
    mtdnn/*/refine)
      train_cell "$name" "${glue_args[@]}" --tasks "${tasks// /,}" --init-checkpoint "$out/pretrain/model" \
        --lr "$lr_init" --epochs "$mt_epochs" --max-steps "$mt_max_steps" --seed "$s" ;;
    mtdnn-scratch/*/refine)
      train_cell "$name" "${glue_args[@]}" --tasks "${tasks// /,}" --bert-config "$out/bert.json" \
        --lr "$lr_scratch" --epochs "$mt_epochs" --max-steps "$mt_max_steps" --seed "$s" ;;
    mtdnn/*|mtdnn-scratch/*)  # stage 3: the refined encoder and the task's refined head
      train_cell "$name" "${glue_args[@]}" --tasks "$task" --init-checkpoint "$out/$setting/$seed/refine/model" \
        --init-heads --lr "$lr_init" --epochs "$ft_epochs" --max-steps "$ft_max_steps" --seed "$s" ;;
    single/*)
      train_cell "$name" "${glue_args[@]}" --tasks "$task" --init-checkpoint "$out/pretrain/model" \
        --lr "$lr_init" --epochs "$ft_epochs" --max-steps "$ft_max_steps" --seed "$s" ;;
    single-scratch/*)
      train_cell "$name" "${glue_args[@]}" --tasks "$task" --bert-config "$out/bert.json" \
        --lr "$lr_scratch" --epochs "$ft_epochs" --max-steps "$ft_max_steps" --seed "$s" ;;
    *) echo "reproduce: unknown cell $name" >&2; return 1 ;;
  esac
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
  echo "Measuring step rates (a few short runs in $out/probe)..."
  rm -rf "$out/probe"
  mkdir -p "$out/probe"
  probe() {
    local name=$1 start
    shift
    start=$(date +%s.%N)
    "$bin/mtdnn-train" --data "$data" --max-seq-len "$max_seq_len" --resume never \
      --out "$out/probe/$name" "$@" > "$out/probe/$name.log" 2>&1 \
      || { tail -n 5 "$out/probe/$name.log" >&2; echo "reproduce: the $name probe failed" >&2; exit 1; }
    awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }' > "$out/probe/$name.seconds"
  }
  # Each probe runs as its runs will: stage 1 alone on $jobs threads, the GLUE runs side by
  # side on one thread each (they share the memory bandwidth).
  probe pretrain --task-def "$out/pretrain.yml" --tasks corpus --bert-config "$out/bert.json" --optimizer lamb \
    --batch-size "$pt_batch" --max-steps 20 --epochs 1000 --log-every 10 --threads "$jobs"
  probe sst "${glue_args[@]}" --tasks sst --bert-config "$out/bert.json" --max-steps 60 --log-every 30 --threads 1 &
  sst_probe=$!
  if [ "$jobs" -lt 2 ]; then wait "$sst_probe" || exit 1; fi
  probe rte "${glue_args[@]}" --tasks rte --bert-config "$out/bert.json" --max-steps 30 --log-every 15 --threads 1
  if [ "$jobs" -ge 2 ]; then wait "$sst_probe" || exit 1; fi
  "$py" "$helper" estimate "$out" $mode "$jobs"
  rm -rf "$out"/probe/*/checkpoints "$out"/probe/*/model  # the rates are in estimate.json
fi
if [ "$plan_only" = 1 ]; then exit 0; fi

# --- the runs: stage 1 alone on every core (half of the runs wait for it), then up to --jobs at
# a time, one core each, each once what it starts from is there ------------------------------------
if [ "$remaining" -gt 0 ]; then
  echo
  echo "Running $remaining of ${#cells[@]} runs: stage 1 on $jobs threads, then $jobs at a time (logs: $out/<run>/train.log)"
fi
started_at=$(date +%s)
declare -A pid_cell
running=0 finished=0 failed=0
if [ "${state[pretrain]}" = pending ]; then
  finished=1
  if run_cell pretrain; then
    state[pretrain]=done
    echo "[$finished/$remaining] pretrain: $("$py" "$helper" cell-line "$out/pretrain")"
  else
    state[pretrain]=failed
    failed=1
  fi
fi
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
  echo $(( $(date +%s) - started_at )) > "$out/wall.seconds"
  echo "Runs took $(( $(date +%s) - started_at )) s of wall clock."
fi

# --- the report -------------------------------------------------------------------------------------
echo
"$py" "$helper" report "$out"
echo
echo "Results: $out/results.md, $out/results.json, $out/results.png"
if [ "$failed" -gt 0 ]; then
  echo "reproduce: $failed runs failed or were skipped after a failure; rerun the same command to retry them" >&2
  exit 1
fi
if [ "$update_readme" = 1 ]; then readme; fi
