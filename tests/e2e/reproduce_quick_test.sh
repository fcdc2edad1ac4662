#!/usr/bin/env bash
# scripts/reproduce.sh --quick as a user runs it (with the binaries of this build): the
# experiment's whole path with tiny budgets and 2 seeds. Checks that
#   - the corpus holds GLUE's text and no label column;
#   - the duration estimate is printed before the runs, for this run and for the full one;
#   - results.json has every setting x task x seed, results.md the table and the
#     small-task sentence, results.png is a PNG;
#   - a rerun of the same command runs nothing and gives the same results, and a run whose
#     result was removed is the only one run again (resumable per run);
#   - --update-readme refuses quick-mode numbers and leaves README.md alone.
# Exits 77 (skipped) when GLUE, the vocabulary or the Python documentation corpus is absent.
#   tests/e2e/reproduce_quick_test.sh BIN_DIR SOURCE_DIR WORK_DIR [DATA_DIR]
set -euo pipefail
bin=$(cd "$1" && pwd) src=$2 work=$3 data=${4:-${MTDNN_DATA_DIR:-$src/../shared/data}}
# shellcheck source=tests/e2e/lib.sh
. "$src/tests/e2e/lib.sh"
e2e_start "$work" "$data/glue/RTE/train.tsv" "$data/vocab/bert-base-uncased-vocab.txt" "$data/corpus/python-docs.txt"
work=$(cd "$work" && pwd)
export MTDNN_VOCAB=$data/vocab/bert-base-uncased-vocab.txt MTDNN_CORPUS=$data/corpus/python-docs.txt

start=$(date +%s)
bash "$src/scripts/reproduce.sh" --quick --bin "$bin" --out "$work/out" "$data/glue" | tee "$work/run1.log"
echo "reproduce.sh --quick took $(( $(date +%s) - start )) s"
out=$work/out

# The corpus: the GLUE rows' text, labels never read (no line is a bare label).
grep -qx 'The sailors rode the breeze clear of the rocks.' "$out/corpus/glue.txt" || fail "CoLA's text missing"
grep -qx 'Christopher Reeve had an accident.' "$out/corpus/glue.txt" || fail "RTE's hypothesis missing"
if grep -qxE 'not_entailment|entailment|[01]|[0-9]\.[0-9]+' "$out/corpus/glue.txt"; then fail "a label in the corpus"; fi

# The estimate came before the runs.
est=$(grep -n '^Estimate (quick' "$work/run1.log" | cut -d: -f1)
runs=$(grep -n '^Running ' "$work/run1.log" | cut -d: -f1)
[ -n "$est" ] && [ -n "$runs" ] && [ "$est" -lt "$runs" ] || fail "no estimate before the runs"
grep -q '^The full run (scripts/reproduce.sh) would take about' "$work/run1.log" || fail "no estimate of the full run"

for f in results.md results.json results.png; do [ -s "$out/$f" ] || fail "$f missing"; done
/usr/bin/python3 - "$out" <<'PY' || fail "results"
import json, sys
out = sys.argv[1]
r = json.load(open(f"{out}/results.json"))
assert r["mode"] == "quick" and r["complete"], (r["mode"], r["missing"])
metrics = {"cola": ["MCC"], "sst": ["ACC"], "mrpc": ["ACC", "F1"], "stsb": ["Pearson", "Spearman"], "rte": ["ACC"]}
for s in ("mtdnn", "single", "mtdnn-scratch", "single-scratch"):
    for t, ms in metrics.items():
        assert sorted(r["runs"][s][t]) == ["seed1", "seed2"], (s, t, r["runs"][s][t])
        for m in ms:
            st = r["summary"][s][t][m]
            if m != "MCC":  # a constant prediction has an MCC of 0 but other metrics always exist
                assert st is not None and st["n"] == 2, (s, t, m, st)
assert r["small_tasks_sentence"].startswith("MT-DNN ≥ single-task fine-tuning held on "), r["small_tasks_sentence"]
md = open(f"{out}/results.md", encoding="utf-8").read()
assert "Quick mode" in md and "| RTE | ACC |" in md and r["small_tasks_sentence"] in md
assert open(f"{out}/results.png", "rb").read(8) == b"\x89PNG\r\n\x1a\n"
print("results:", r["small_tasks_sentence"])
PY

# Idempotent: the same command again runs nothing and reports the same numbers.
cp "$out/results.json" "$work/results1.json"
bash "$src/scripts/reproduce.sh" --quick --bin "$bin" --out "$work/out" "$data/glue" > "$work/run2.log"
if grep -q '^Running ' "$work/run2.log"; then fail "a finished experiment ran again"; fi
cmp <(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(json.dumps(r["summary"]))' "$work/results1.json") \
    <(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(json.dumps(r["summary"]))' "$out/results.json") \
  || fail "the rerun changed the results"

# Resumable per run: only the run whose result is gone runs again.
rm "$out/single/seed2/rte/result.json"
bash "$src/scripts/reproduce.sh" --quick --bin "$bin" --out "$work/out" "$data/glue" > "$work/run3.log"
grep -q '^Running 1 of 45 runs' "$work/run3.log" || { cat "$work/run3.log"; fail "not exactly one run again"; }
grep -q '^\[1/1\] single/seed2/rte: ' "$work/run3.log" || fail "the missing run did not run"
[ -f "$out/single/seed2/rte/result.json" ] || fail "no result after the rerun"

# The README takes full runs only.
readme=$(sha256sum "$src/README.md")
if bash "$src/scripts/reproduce.sh" --quick --bin "$bin" --out "$work/out" --update-readme "$data/glue" \
  > "$work/run4.log" 2>&1; then fail "--update-readme accepted quick-mode numbers"; fi
grep -q "quick-mode numbers" "$work/run4.log" || { tail "$work/run4.log"; fail "no message on quick numbers"; }
[ "$(sha256sum "$src/README.md")" = "$readme" ] || fail "README.md changed"
echo "reproduce --quick: PASS"
