"""TensorBoard's own reader against metrics.jsonl: the event files mtdnn-train wrote under
OUT/tensorboard hold exactly the scalars of OUT/metrics.jsonl, each at its record's step
(TensorBoard stores float32), and one run of them: a single event file, no step twice.

  tensorboard_check.py OUT_DIR [--min-records N]
"""
import argparse
import glob
import json
import os
import struct
import sys
from collections import defaultdict

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

TRAIN_KEYS = ["loss", "loss_avg", "lr", "grad_norm", "steps_per_s", "tokens_per_s", "eta_s"]
EVAL_SKIP = {"type", "step", "epoch", "task", "split", "examples", "seconds"}


def expected_scalars(metrics_path):
    """The tags docs/training.md names, computed here independently of the C++ mapping."""
    out = defaultdict(list)
    with open(metrics_path) as f:
        for line in f:
            r = json.loads(line)
            if r["type"] == "train":
                pairs = [(f"train/{k}", r.get(k)) for k in TRAIN_KEYS]
            else:
                pairs = [(f"{r['task']}/{r['split']}/{k}", v) for k, v in r.items() if k not in EVAL_SKIP]
            for tag, value in pairs:
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    out[tag].append((r["step"], struct.unpack("f", struct.pack("f", value))[0]))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--min-records", type=int, default=1)
    args = parser.parse_args()
    files = glob.glob(os.path.join(args.out, "tensorboard", "*tfevents*"))
    if len(files) != 1:
        sys.exit(f"FAIL: {len(files)} event files in {args.out}/tensorboard, expected one")
    accumulator = EventAccumulator(os.path.join(args.out, "tensorboard"), size_guidance={"scalars": 0})
    accumulator.Reload()
    got = {tag: [(e.step, e.value) for e in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}
    want = expected_scalars(os.path.join(args.out, "metrics.jsonl"))
    if set(got) != set(want):
        sys.exit(f"FAIL: tags differ: only in the event file {sorted(set(got) - set(want))}, "
                 f"only in metrics.jsonl {sorted(set(want) - set(got))}")
    for tag in sorted(want):
        if got[tag] != want[tag]:
            bad = next(i for i, (a, b) in enumerate(zip(got[tag] + [None] * len(want[tag]), want[tag])) if a != b)
            sys.exit(f"FAIL: {tag}: event file {got[tag][bad:bad + 3]} vs metrics.jsonl {want[tag][bad:bad + 3]} "
                     f"({len(got[tag])} vs {len(want[tag])} values)")
    records = len(want.get("train/loss", []))
    if records < args.min_records:
        sys.exit(f"FAIL: only {records} training records")
    print(f"tensorboard: {len(want)} tags, {sum(map(len, want.values()))} scalars, equal to metrics.jsonl "
          f"({os.path.basename(files[0])})")


if __name__ == "__main__":
    main()
