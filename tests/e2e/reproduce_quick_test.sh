#!/usr/bin/env bash
# scripts/reproduce.sh --quick as a user runs it (with the binaries of this build): the
# experiment's whole path with tiny data, tiny budgets and 2 seeds. Checks that
#   - the splits keep what is evaluated out of what is trained on: no held-out or dev row
#     in a train file, no QNLI question on both sides;
#   - the duration estimate is printed before the runs;
#   - results.json has every arm x task x seed, the baselines, the paired comparisons with
#     their intervals, the adaptation curve and a sentence that follows from the intervals;
#     results.md the tables, results.png is a PNG;
#   - every arm's rate for seeds 2.. is the one its seed 1 chose on the held-out slice;
#   - a rerun of the same command runs nothing and gives the same results, and a run whose
#     result was removed is the only one run again (resumable per run);
#   - --update-readme refuses quick-mode numbers and leaves README.md alone.
# Exits 77 (skipped) when GLUE is absent.
#   tests/e2e/reproduce_quick_test.sh BIN_DIR SOURCE_DIR WORK_DIR [DATA_DIR]
set -euo pipefail
bin=$(cd "$1" && pwd) src=$2 work=$3 data=${4:-${MTDNN_DATA_DIR:-$src/../shared/data}}
# shellcheck source=tests/e2e/lib.sh
. "$src/tests/e2e/lib.sh"
e2e_start "$work" "$data/glue/RTE/train.tsv" "$data/glue/QNLI/dev.tsv"
work=$(cd "$work" && pwd)

start=$(date +%s)
bash "$src/scripts/reproduce.sh" --quick --bin "$bin" --out "$work/out" "$data/glue" | tee "$work/run1.log"
echo "reproduce.sh --quick took $(( $(date +%s) - start )) s"
out=$work/out

# The splits: what is scored is never trained on.
/usr/bin/python3 - "$out/glue" <<'PY' || fail "splits"
import pathlib, sys
root = pathlib.Path(sys.argv[1])
def rows(p):
    return set(p.read_text(encoding="utf-8").splitlines()[(0 if "CoLA" in str(p) else 1):])
for d in sorted(root.glob("*/*")):
    train = rows(d / "train.tsv")
    for other in ("heldout.tsv", "dev.tsv"):
        if (d / other).exists():
            both = train & rows(d / other)
            assert not both, (d, other, list(both)[:2])
q = lambda p: {r.split("\t")[1] for r in rows(p)}
assert not q(root / "main/QNLI/train.tsv") & q(root / "main/QNLI/dev.tsv"), "a QNLI question on both sides"
print("splits: disjoint")
PY

# The estimate came before the runs.
est=$(grep -n '^Estimate (quick' "$work/run1.log" | cut -d: -f1)
runs=$(grep -n '^Running ' "$work/run1.log" | cut -d: -f1)
[ -n "$est" ] && [ -n "$runs" ] && [ "$est" -lt "$runs" ] || fail "no estimate before the runs"

for f in results.md results.json results.png; do [ -s "$out/$f" ] || fail "$f missing"; done
/usr/bin/python3 - "$out" <<'PY' || fail "results"
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
r = json.load(open(out / "results.json"))
assert r["mode"] == "quick" and r["complete"], (r["mode"], r["missing"])
tasks = {"rte": ["ACC"], "mrpc": ["ACC", "F1"], "stsb": ["Pearson", "Spearman"], "cola": ["MCC"]}
for arm in ("bert", "stdnn", "mtdnn", "mtdnn-noft", "exposure"):
    for t in tasks:
        assert sorted(r["runs"][arm][t]) == ["seed1", "seed2"], (arm, t, r["runs"][arm][t])
for t, ms in tasks.items():
    assert sorted(r["baselines"][t]["metrics"]) == sorted(ms), (t, r["baselines"][t])
for key in ("mtdnn:stdnn", "mtdnn:bert", "mtdnn:exposure", "mtdnn-noft:stdnn"):
    for t in tasks:
        ci = r["comparisons"][key][t]
        assert ci["n"] == 2 and ci["low"] <= ci["mean"] <= ci["high"], (key, t, ci)
assert "stsb" not in r["comparisons"]["stdnn:bert"], "BERT and ST-DNN share STS-B's runs"
for pct in ("1", "10", "100"):
    row = r["adaptation"]["curve"][pct]
    assert row["packaged"]["n"] == 2 and row["refined"]["n"] == 2, (pct, row)
# The sentence follows from the intervals.
ahead = [t for t in tasks if r["comparisons"]["mtdnn:stdnn"][t]["low"] > 0]
clause = r["sentences"][0].split(";")[0]  # "MT-DNN is ahead of ... on <the tasks where it is>"
names = {x["key"]: x["name"] for x in r["tasks"]}
for t in tasks:
    assert (names[t] in clause) == (t in ahead), (t, r["sentences"][0])
# Seeds 2.. ran at the rate seed 1 chose on the held-out slice.
for arm in ("bert", "stdnn", "mtdnn", "exposure"):
    for t in tasks:
        if (arm, t) == ("bert", "stsb"):
            continue
        held = []
        for i in (0, 1):
            m = json.load(open(out / arm / t / f"lr{i}" / "seed1" / "result.json"))["metrics"]["heldout"][t]
            held.append(sum(m[k] for k in tasks[t]) / len(tasks[t]))
        best = 0 if held[0] >= held[1] else 1
        lr = r["plan"]["lrs"][best]
        cmd = (out / arm / t / "seed2" / "command.txt").read_text().split()
        assert float(cmd[cmd.index("--lr") + 1]) == lr, (arm, t, held, cmd)
md = (out / "results.md").read_text(encoding="utf-8")
assert "Quick mode" in md and "| RTE | ACC |" in md and r["sentences"][0] in md and "Adaptation" in md
assert (out / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
print("results:", " ".join(r["sentences"]))
PY

# Idempotent: the same command again runs nothing and reports the same numbers.
cp "$out/results.json" "$work/results1.json"
bash "$src/scripts/reproduce.sh" --quick --bin "$bin" --out "$work/out" "$data/glue" > "$work/run2.log"
if grep -q '^Running ' "$work/run2.log"; then fail "a finished experiment ran again"; fi
cmp <(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(json.dumps(r["summary"]))' "$work/results1.json") \
    <(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(json.dumps(r["summary"]))' "$out/results.json") \
  || fail "the rerun changed the results"

# Resumable per run: only the run whose result is gone runs again.
rm "$out/stdnn/rte/seed2/result.json"
bash "$src/scripts/reproduce.sh" --quick --bin "$bin" --out "$work/out" "$data/glue" > "$work/run3.log"
grep -q '^Running 1 of 59 runs' "$work/run3.log" || { cat "$work/run3.log"; fail "not exactly one run again"; }
grep -q '^\[1/1\] stdnn/rte/seed2: ' "$work/run3.log" || fail "the missing run did not run"
[ -f "$out/stdnn/rte/seed2/result.json" ] || fail "no result after the rerun"

# The README takes full runs only.
readme=$(sha256sum "$src/README.md")
if bash "$src/scripts/reproduce.sh" --quick --bin "$bin" --out "$work/out" --update-readme "$data/glue" \
  > "$work/run4.log" 2>&1; then fail "--update-readme accepted quick-mode numbers"; fi
grep -q "quick-mode numbers" "$work/run4.log" || { tail "$work/run4.log"; fail "no message on quick numbers"; }
[ "$(sha256sum "$src/README.md")" = "$readme" ] || fail "README.md changed"
echo "reproduce --quick: PASS"
