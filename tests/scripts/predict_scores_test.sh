#!/usr/bin/env bash
# Scores beside the predictions, and ensembles, on a tiny model and tiny data (no GLUE
# needed): a 3-class classification task with label names, a regression task and a ranking
# task, each trained twice (seeds 1 and 2) by mtdnn-train, one process.
#   1. the training run writes predictions/<task>_dev.scores.tsv beside each submission
#      file: a header naming the columns (the label texts; score; probability), one row per
#      example with the submission's uids; class probabilities sum to 1 and their argmax
#      is the submitted label; ranking probabilities sum to 1 per group;
#   2. mtdnn-predict --scores reproduces both files byte for byte;
#   3. --model A --model A (the same model twice) gives A's files byte for byte;
#   4. --model A --model B writes the average of A's and B's scores files (to rounding),
#      predictions decided from that average (argmax; the group's best; the score), which
#      differ from A's and B's scores, and the metrics of the averaged predictions;
#   5. an ensemble with a model that lacks the task is refused, naming it.
#   tests/scripts/predict_scores_test.sh BIN_DIR SCRATCH_DIR
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/toy_data.sh"

bin=$(cd "${1:?usage: predict_scores_test.sh BIN_DIR SCRATCH_DIR}" && pwd)
scratch=${2:?usage: predict_scores_test.sh BIN_DIR SCRATCH_DIR}
py=${MTDNN_PYTHON:-python3}

rm -rf "$scratch"
mkdir -p "$scratch/p"
cues=(joy sob zen win)  # words the sentences never hold
toy_vocab "${cues[@]}"
cat >"$scratch/tasks.yml" <<'YAML'
mood:
  task_type: Classification
  data_format: PremiseOnly
  n_class: 3
  labels: [happy, sad, calm]
  metric_meta: [ACC]
  split_names: [train, dev]
sim:
  task_type: Regression
  data_format: PremiseAndOneHypothesis
  n_class: 1
  metric_meta: [Pearson]
  split_names: [train, dev]
pick:
  task_type: Ranking
  data_format: PremiseAndMultiHypothesis
  n_class: 1
  metric_meta: [ACC]
  split_names: [train, dev]
YAML
# Learnable: the mood is told by a cue word, the similarity by the premise's first word,
# the right candidate holds "win".
moods=(happy sad calm)
for split in train dev; do
  n=$([ $split = train ] && echo 60 || echo 15)
  for i in $(seq 0 $((n - 1))); do
    k=$((i + (${#split} - 3) * 100))
    printf '%s%d\t%s\t%s\n' "$split" "$i" "${moods[$((k % 3))]}" "$(sentence "$k" $((1 + k % 4))) ${cues[$((k % 3))]}"
    printf '%s%d\t%s\t%s\t%s\n' "$split" "$i" "$((k % 5)).5" "${words[$((k % 5))]} $(sentence "$k" 2)" \
      "$(sentence $((k + 1)) 3)" >&3
    hyps=() pos=$((k % 3))
    for c in 0 1 2; do
      if [ $c = $pos ]; then hyps+=("$(sentence $((k + c)) 1) win"); else hyps+=("$(sentence $((k + c)) 2)"); fi
    done
    printf '%s%d\t%s%d-0,%s%d-1,%s%d-2\t%d\t%s\t%s\t%s\t%s\n' "$split" "$i" "$split" "$i" "$split" "$i" "$split" "$i" \
      "$pos" "$(sentence "$k" 3)" "${hyps[@]}" >&4
  done >"$scratch/in/mood_$split.tsv" 3>"$scratch/in/sim_$split.tsv" 4>"$scratch/in/pick_$split.tsv"
done
toy_preprocess 32
toy_bert_config 16
for seed in 1 2; do
  "$bin/mtdnn-train" --data "$scratch/data" --task-def "$scratch/tasks.yml" --tasks mood,sim,pick \
    --bert-config "$scratch/bert.json" --max-seq-len 32 --batch-size 8 --max-steps 400 --epochs 100 \
    --optimizer adamw --lr 3e-3 --seed "$seed" --threads 1 --log-every 60 --out "$scratch/m$seed" \
    >"$scratch/train$seed.log" 2>&1 || { cat "$scratch/train$seed.log"; fail "mtdnn-train seed $seed"; }
done
A=$scratch/m1 B=$scratch/m2

note "1. the training run's scores files"
"$py" - "$A/predictions" <<'PY' || fail "scores files of the training run"
import math, sys
folder = sys.argv[1]
def read(name):
    rows = [l.rstrip("\n").split("\t") for l in open(f"{folder}/{name}", encoding="utf-8")]
    return rows[0], rows[1:]
for task, header in (("mood", ["index", "happy", "sad", "calm"]), ("sim", ["index", "score"]),
                     ("pick", ["index", "probability"])):
    sub_head, sub = read(f"{task}_dev.tsv")
    head, rows = read(f"{task}_dev.scores.tsv")
    assert head == header, (task, head)
    assert [r[0] for r in rows] == [r[0] for r in sub], f"{task}: uids differ from the submission"
    vals = [[float(v) for v in r[1:]] for r in rows]
    if task == "mood":
        for v, s in zip(vals, sub):
            assert abs(sum(v) - 1) < 1e-5, v
            assert v[header.index(s[1]) - 1] >= max(v) - 2e-6, (v, s)  # the argmax, to the file's rounding
    elif task == "sim":
        for v, s in zip(vals, sub):
            assert f"{v[0]:.3f}" == s[1] or abs(v[0] - float(s[1])) <= 0.0005 + 1e-6, (v, s)
    else:
        assert len(rows) == 45
        for g in range(15):
            p = [vals[3 * g + c][0] for c in range(3)]
            assert abs(sum(p) - 1) < 1e-5, p
            flags = [sub[3 * g + c][1] for c in range(3)]
            assert sorted(flags) == ["0", "0", "1"] and p[flags.index("1")] >= max(p) - 2e-6, (p, flags)
print("training run: scores files consistent with the submission files")
PY

note "2. mtdnn-predict --scores reproduces them"
for task in mood sim pick; do
  "$bin/mtdnn-predict" --model "$A/model" --data "$scratch/data" --task $task --split dev --scores \
    --out "$scratch/p/A/${task}_dev.tsv" --threads 1 >"$scratch/p/A.$task.json" 2>/dev/null \
    || fail "mtdnn-predict --scores on $task"
  cmp "$scratch/p/A/${task}_dev.tsv" "$A/predictions/${task}_dev.tsv" || fail "$task: submission differs"
  cmp "$scratch/p/A/${task}_dev.scores.tsv" "$A/predictions/${task}_dev.scores.tsv" || fail "$task: scores differ"
done
"$bin/mtdnn-predict" --model "$A/model" --data "$scratch/data" --task mood --split dev --out "$scratch/p/plain.tsv" \
  --threads 1 >/dev/null
[ ! -e "$scratch/p/plain.scores.tsv" ] || fail "a scores file without --scores"

note "3. the same model twice is the model"
for task in mood sim pick; do
  "$bin/mtdnn-predict" --model "$A/model" --model "$A/model" --data "$scratch/data" --task $task --split dev \
    --scores --out "$scratch/p/AA/${task}_dev.tsv" --threads 1 >"$scratch/p/AA.$task.json" 2>/dev/null
  cmp "$scratch/p/AA/${task}_dev.tsv" "$A/predictions/${task}_dev.tsv" || fail "$task: A+A submission differs from A"
  cmp "$scratch/p/AA/${task}_dev.scores.tsv" "$A/predictions/${task}_dev.scores.tsv" || fail "$task: A+A scores differ"
  grep -q '"models":2' "$scratch/p/AA.$task.json" || fail "$task: no model count"
done

note "4. two models: the average of their scores files"
for task in mood sim pick; do
  "$bin/mtdnn-predict" --model "$A/model" --model "$B/model" --data "$scratch/data" --task $task --split dev \
    --scores --out "$scratch/p/AB/${task}_dev.tsv" --threads 1 >"$scratch/p/AB.$task.json" 2>"$scratch/p/AB.$task.log"
  grep -q "m2/model: $task/dev" "$scratch/p/AB.$task.log" || fail "$task: no per-model metrics logged"
done
"$py" - "$A/predictions" "$B/predictions" "$scratch/p/AB" "$scratch/in" "$scratch/p" <<'PY' || fail "the ensemble"
import json, math, sys
a, b, ab, raw, p = sys.argv[1:]
def read(path):
    rows = [l.rstrip("\n").split("\t") for l in open(path, encoding="utf-8")]
    return rows[0], rows[1:]
def pearson(x, y):
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((u - mx) * (v - my) for u, v in zip(x, y))
    return sxy / math.sqrt(sum((u - mx) ** 2 for u in x) * sum((v - my) ** 2 for v in y))
for task in ("mood", "sim", "pick"):
    ha, ra = read(f"{a}/{task}_dev.scores.tsv")
    hb, rb = read(f"{b}/{task}_dev.scores.tsv")
    he, re_ = read(f"{ab}/{task}_dev.scores.tsv")
    _, sub = read(f"{ab}/{task}_dev.tsv")
    assert ha == hb == he and [r[0] for r in ra] == [r[0] for r in rb] == [r[0] for r in re_] == [r[0] for r in sub]
    va = [[float(v) for v in r[1:]] for r in ra]
    vb = [[float(v) for v in r[1:]] for r in rb]
    ve = [[float(v) for v in r[1:]] for r in re_]
    avg = [[(x + y) / 2 for x, y in zip(u, w)] for u, w in zip(va, vb)]
    worst = max(abs(x - y) for u, w in zip(avg, ve) for x, y in zip(u, w))
    assert worst <= 2e-6, f"{task}: ensemble scores are not the average of the models' files (off by {worst})"
    assert ve != va and ve != vb, f"{task}: the ensemble equals one of its models"
    metrics = json.load(open(f"{p}/AB.{task}.json"))
    assert metrics["models"] == 2, metrics
    gold = [l.rstrip("\n").split("\t") for l in open(f"{raw}/{task}_dev.tsv", encoding="utf-8")]
    if task == "mood":
        pred = [s[1] for s in sub]
        assert all(v[he.index(c) - 1] >= max(v) - 2e-6 for c, v in zip(pred, avg)), \
            f"{task}: submission is not the argmax of the averaged probabilities"
        acc = 100 * sum(p == g[1] for p, g in zip(pred, gold)) / len(gold)
        assert abs(metrics["ACC"] - acc) < 1e-9, (metrics, acc)
    elif task == "sim":
        assert all(abs(float(s[1]) - v[0]) <= 0.0005 + 2e-6 for s, v in zip(sub, avg)), f"{task}: submission"
        r = pearson([v[0] for v in ve], [float(g[1]) for g in gold])
        assert abs(metrics["Pearson"] - 100 * r) < 1e-3, (metrics, r)
    else:
        right = 0
        for g in range(len(gold)):
            probs = [avg[3 * g + c][0] for c in range(3)]
            flags = [sub[3 * g + c][1] for c in range(3)]
            assert sorted(flags) == ["0", "0", "1"] and probs[flags.index("1")] >= max(probs) - 2e-6, (g, probs, flags)
            right += flags.index("1") == int(gold[g][2])
        assert abs(metrics["ACC"] - 100 * right / len(gold)) < 1e-9, metrics
    print(f"{task}: ensemble = average of the two scores files (max difference {worst:.1e}); {metrics}")
PY

note "5. refusals"
mkdir -p "$scratch/only-mood"
"$bin/mtdnn-train" --data "$scratch/data" --task-def "$scratch/tasks.yml" --tasks mood --bert-config "$scratch/bert.json" \
  --max-seq-len 32 --batch-size 8 --max-steps 2 --threads 1 --out "$scratch/only-mood" >/dev/null 2>&1
if "$bin/mtdnn-predict" --model "$A/model" --model "$scratch/only-mood/model" --data "$scratch/data" --task sim \
  --split dev --out "$scratch/p/x.tsv" 2>"$scratch/p/x.err"; then fail "a model without the task was accepted"; fi
grep -q "has no head for it" "$scratch/p/x.err" || { cat "$scratch/p/x.err"; fail "no message naming the missing head"; }
echo "PASS"
