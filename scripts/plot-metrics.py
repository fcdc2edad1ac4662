#!/usr/bin/python3
"""Loss and dev-metric curves of an mtdnn-train run, from its metrics.jsonl, as one PNG.

    scripts/plot-metrics.py RUN_DIR|metrics.jsonl [-o metrics.png] [--title TEXT]

Top panel: the training loss of each logged step (dots, coloured by task) and the average
over each log window (line), against the step. Bottom panel: every dev metric (x100) of
every task and split against the step. Uses Debian's python3-matplotlib (Agg backend, no
display needed). The PNG goes next to metrics.jsonl unless -o says otherwise.
"""
import argparse
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(path):
    train, evals = [], []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{number}: not JSON: {e}")
            (train if record.get("type") == "train" else evals).append(record)
    return train, evals


def finite(x):
    return isinstance(x, (int, float)) and math.isfinite(x)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="mtdnn-train's --out folder or its metrics.jsonl")
    parser.add_argument("-o", "--output", help="PNG to write (default: metrics.png beside metrics.jsonl)")
    parser.add_argument("--title", help="figure title (default: the run folder)")
    args = parser.parse_args()
    path = os.path.join(args.run, "metrics.jsonl") if os.path.isdir(args.run) else args.run
    if not os.path.exists(path):
        sys.exit(f"{path}: not found (pass mtdnn-train's --out folder or its metrics.jsonl)")
    train, evals = load(path)
    if not train and not evals:
        sys.exit(f"{path}: no records")
    output = args.output or os.path.join(os.path.dirname(os.path.abspath(path)), "metrics.png")

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    tasks = sorted({r["task"] for r in train})
    for task in tasks:
        points = [(r["step"], r["loss"]) for r in train if r["task"] == task and finite(r.get("loss"))]
        if points:
            top.scatter(*zip(*points), s=8, alpha=0.6, label=f"{task} (step loss)")
    avg = [(r["step"], r["loss_avg"]) for r in train if finite(r.get("loss_avg"))]
    if avg:
        top.plot(*zip(*avg), color="black", linewidth=1.5, label="window average")
    top.set_ylabel("training loss")
    top.grid(alpha=0.3)
    if tasks or avg:
        top.legend(fontsize=8)

    series = {}
    skip = {"type", "step", "epoch", "task", "split", "examples", "seconds"}
    for r in evals:
        for key, value in r.items():
            if key not in skip and finite(value):
                series.setdefault(f"{r['task']}/{r['split']} {key}", []).append((r["step"], value))
    for name, points in sorted(series.items()):
        points.sort()
        bottom.plot(*zip(*points), marker="o", markersize=3, label=name)
    bottom.set_xlabel("step")
    bottom.set_ylabel("dev metric (x100)")
    bottom.grid(alpha=0.3)
    if series:
        bottom.legend(fontsize=8)
    fig.suptitle(args.title or os.path.basename(os.path.dirname(os.path.abspath(path))))
    fig.tight_layout()
    fig.savefig(output, dpi=120)
    print(output)


if __name__ == "__main__":
    main()
