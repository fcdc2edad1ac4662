#!/usr/bin/env bash
# Runs docs/custom-task.md exactly as written: every ```bash block, in order, in one shell
# with `set -euo pipefail`, in an empty scratch folder. A block holding a line
#   # expect-error: TEXT
# must fail, and one line of its output (stdout + stderr) must be TEXT exactly. Then checks
# what the tutorial promises: shards, metrics.jsonl, predictions with the GLUE header and
# string labels. Exits 77 (skipped) when the vocabulary is absent.
#   tests/docs/run_tutorial.sh BIN_DIR SOURCE_DIR WORK_DIR [DATA_DIR] [DOC]
set -euo pipefail
bin=$(cd "$1" && pwd) src=$(cd "$2" && pwd) work=$3
data=${MTDNN_DATA_DIR:-${4:-$src/../shared/data}}
doc=${5:-$src/docs/custom-task.md}
vocab=$data/vocab/bert-base-uncased-vocab.txt
[ -f "$vocab" ] || { echo "skipped: $vocab not found (set MTDNN_DATA_DIR)"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

rm -rf "$work" && mkdir -p "$work/tutorial"
script=$work/tutorial.sh

# Extract the blocks into one script; expect-error blocks run in a subshell whose output is
# kept and checked.
python3 - "$doc" "$script" <<'PY'
import re, shlex, sys
doc, out = sys.argv[1], sys.argv[2]
blocks, cur, start = [], None, 0
for n, line in enumerate(open(doc, encoding="utf-8"), 1):
    s = line.rstrip("\n")
    if cur is None:
        if s.strip() == "```bash":
            cur, start = [], n + 1
        elif s.lstrip().startswith("```bash"):
            sys.exit(f"{doc}:{n}: a bash fence must be exactly ```bash")
    elif s.strip() == "```":
        blocks.append((start, cur)); cur = None
    else:
        cur.append(s)
if cur is not None:
    sys.exit(f"{doc}: unterminated ```bash block from line {start}")
if not blocks:
    sys.exit(f"{doc}: no ```bash blocks")
with open(out, "w") as f:
    f.write("set -euo pipefail\n")
    for i, (start, lines) in enumerate(blocks):
        expect = [l.split("# expect-error:", 1)[1].strip() for l in lines if l.lstrip().startswith("# expect-error:")]
        f.write(f"echo '=== block {i} ({doc.rsplit('/', 1)[-1]}:{start})'\n")
        if not expect:
            f.write("\n".join(lines) + "\n")
            continue
        log = f"$TUTORIAL_WORK/block-{i}.log"
        f.write("if (\n" + "\n".join(lines) + f"\n) > {log} 2>&1; then\n"
                f"  echo 'FAIL: block at line {start} succeeded; the doc says it fails' >&2; cat {log} >&2; exit 1\nfi\n")
        for e in expect:
            f.write(f"grep -qxF -- {shlex.quote(e)} {log} || {{ echo 'FAIL: block at line {start}: "
                    f"no output line is the message the doc shows:' >&2; echo {shlex.quote(e)} >&2; "
                    f"echo '--- it printed:' >&2; cat {log} >&2; exit 1; }}\n")
        f.write(f"echo \"expected error: $(grep -F -- {shlex.quote(expect[0])} {log} | head -n 1)\"\n")
print(f"{len(blocks)} bash blocks, {sum(1 for _, b in blocks if any('# expect-error:' in l for l in b))} expected errors")
PY

export MTDNN=$src BIN=$bin VOCAB=$vocab GLUE=$data/glue TUTORIAL_WORK=$work
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
start=$(date +%s)
(cd "$work/tutorial" && bash "$script") || fail "the tutorial's commands failed (above)"
echo "tutorial ran in $(( $(date +%s) - start )) s"

# What the tutorial promises.
t=$work/tutorial
for task in ticket urgency faq; do
  [ -f "$t/data/$task/manifest.json" ] || fail "data/$task/manifest.json missing"
  ls "$t/data/$task"/train-*.h5 > /dev/null 2>&1 || fail "no train shards for $task"
done
for run in runs/multi runs/ticket; do
  grep -q '"type":"train"' "$t/$run/metrics.jsonl" || fail "$run/metrics.jsonl has no training records"
  grep -q '"type":"eval"' "$t/$run/metrics.jsonl" || fail "$run/metrics.jsonl has no evaluation records"
  [ -f "$t/$run/model/model.safetensors" ] || fail "$run/model missing"
done
pred=$t/ticket_test.tsv
[ "$(head -n 1 "$pred")" = "index	prediction" ] || fail "$pred has no GLUE header"
[ "$(tail -n +2 "$pred" | wc -l)" -eq "$(wc -l < "$src/docs/custom-task/ticket_test.tsv")" ] \
  || fail "$pred: one prediction per test row expected"
tail -n +2 "$pred" | cut -f2 | grep -qvxE 'billing|technical|account' \
  && fail "$pred holds predictions that are not the task's string labels"
for f in ticket_dev urgency_dev faq_dev; do
  [ "$(head -n 1 "$t/runs/multi/predictions/$f.tsv")" = "index	prediction" ] || fail "runs/multi/predictions/$f.tsv"
done
echo "PASS"
