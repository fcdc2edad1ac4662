#!/usr/bin/python3
"""The GLUE folders of scripts/reproduce.sh: which labeled rows train, select and evaluate.

    glue_splits.py GLUE_DIR OUT_DIR PERCENTS LIMIT

PERCENTS: e.g. "1 10", the parts of STS-B's train rows of the adaptation curve; LIMIT: keep
at most this many rows of each split (0: all; scripts/reproduce.sh --quick's tiny data).

Writes OUT_DIR/main/<Task>/{train,heldout,dev}.tsv and OUT_DIR/stsb<F>/STS-B/{train,heldout,dev}.tsv
in GLUE's own layout (header lines, CoLA's headerless rows and MRPC's byte-order mark kept
as they are), so mtdnn-preprocess reads them as it reads GLUE (the split "heldout" is
heldout.tsv), prints what each holds, and writes
OUT_DIR/baselines.json: the dev scores of the majority class of each task's train rows
(STS-B: a constant, whose correlations are 0 by convention: they are undefined). Every split is decided by a hash of the row's
text, so it is the same on every machine and in every run:

- CoLA, SST-2, MRPC, STS-B, RTE: a tenth of the training rows, at most 300 (those whose
  whole line has the lowest hashes), is "heldout": the slice that learning rates are chosen
  on. The rest is "train", the only rows any run trains on. GLUE's dev set is "dev": reported, never trained on and never
  used to choose anything.
- QNLI (GLUE's training set is not among the data): its labeled dev pairs, split by
  question (the hash of the question), half into "train" (refinement only) and half into
  "dev" (held out: the refined models are scored on it). No question is on both sides.
- STS-B<F>: the first F% of STS-B's "train" rows in an order fixed by the hash (so 1% is
  inside 10%), with the same "heldout" and "dev": the adaptation curve's reduced data.

Standard library only.
"""
import hashlib
import json
import pathlib
import sys

# GLUE folder -> whether its train and dev files start with a header line
TASKS = {"CoLA": False, "SST-2": True, "MRPC": True, "STS-B": True, "RTE": True}
# GLUE folder -> (task name, label column: header name or index, GLUE's metrics)
LABELS = {"CoLA": ("cola", 1, ["MCC"]), "MRPC": ("mrpc", "Quality", ["ACC", "F1"]),
          "STS-B": ("stsb", "score", ["Pearson", "Spearman"]), "RTE": ("rte", "label", ["ACC"])}
HELDOUT_SHARE, HELDOUT_MAX = 0.1, 300  # a tenth of each training set, at most 300 rows (evaluation time)


def key(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def read(path: pathlib.Path, header: bool):
    with open(path, encoding="utf-8", newline="\n") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline (CoLA's dev file has none)
    return (lines[0], lines[1:]) if header else (None, lines)


def write(path: pathlib.Path, head, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(f"{line}\n" for line in ([head] if head is not None else []) + rows))


def labels(head, rows, column):
    index = column if isinstance(column, int) else head.lstrip("\ufeff").split("\t").index(column)
    return [r.split("\t")[index] for r in rows]


def baseline(task, train, dev):
    """GLUE's metrics x100 of predicting train's majority label (STS-B: any constant) on dev."""
    name, column, metrics = LABELS[task]
    if name == "stsb":
        return {m: 0.0 for m in metrics}
    majority = max(sorted(set(train)), key=train.count)
    acc = 100.0 * dev.count(majority) / len(dev)
    positive = dev.count("1") / len(dev)
    return {"ACC": acc, "MCC": 0.0, "F1": 100.0 * 2 * positive / (1 + positive) if majority == "1" else 0.0,
            "majority": majority}


def limited(rows, limit):
    return rows[:limit] if limit else rows


def main() -> int:
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    glue, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    fractions, limit = [int(f) for f in sys.argv[3].split()], int(sys.argv[4])
    main_dir = out / "main"
    baselines = {}
    for task, header in TASKS.items():
        head, rows = read(glue / task / "train.tsv", header)
        # identical lines hash alike, so a row repeated in train is never on both sides
        ranked = sorted(set(rows), key=lambda r: key(f"{task}\t{r}"))
        held_set = set(ranked[:min(HELDOUT_MAX, round(HELDOUT_SHARE * len(rows)))])
        heldout = limited([r for r in rows if r in held_set], limit)
        train = limited([r for r in rows if r not in held_set], limit)
        dev_head, dev = read(glue / task / "dev.tsv", header)
        dev = limited(dev, limit)
        if task in LABELS:
            name, column, metrics = LABELS[task]
            b = baseline(task, labels(head, train, column), labels(dev_head, dev, column))
            baselines[name] = {"metrics": {m: b[m] for m in metrics}, "train_rows": {100: len(train)}}
        write(main_dir / task / "train.tsv", head, train)
        write(main_dir / task / "heldout.tsv", head, heldout)
        write(main_dir / task / "dev.tsv", dev_head, dev)
        print(f"{task}: train {len(train)}, heldout {len(heldout)} (of GLUE's {len(rows)} training rows), "
              f"dev {len(dev)} (GLUE's dev)")
        if task == "STS-B":
            order = sorted(train, key=lambda r: key(f"order\t{r}"))
            for f in fractions:
                part = order[:max(1, round(len(train) * f / 100))]
                write(out / f"stsb{f}" / task / "train.tsv", head, part)
                write(out / f"stsb{f}" / task / "heldout.tsv", head, heldout)
                write(out / f"stsb{f}" / task / "dev.tsv", dev_head, dev)
                baselines["stsb"]["train_rows"][f] = len(part)
                print(f"STS-B {f}%: train {len(part)} (the first of STS-B's train rows in a fixed order)")
    head, rows = read(glue / "QNLI" / "dev.tsv", True)
    question = head.split("\t").index("question")
    train = limited([r for r in rows if key(r.split("\t")[question]) % 2 == 0], limit)
    held = limited([r for r in rows if key(r.split("\t")[question]) % 2 == 1], limit)
    write(main_dir / "QNLI" / "train.tsv", head, train)
    write(main_dir / "QNLI" / "dev.tsv", head, held)
    questions = {r.split("\t")[question] for r in rows}
    print(f"QNLI: train {len(train)}, dev {len(held)} (GLUE's {len(rows)} dev pairs of {len(questions)} questions, "
          "split by question)")
    with open(out / "baselines.json", "w", encoding="utf-8") as f:
        json.dump(baselines, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
