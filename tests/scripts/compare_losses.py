#!/usr/bin/env python3
"""Compares the training losses of two mtdnn-train runs (their metrics.jsonl) at the steps
the second one logged: each within TOL_ABS + TOL_REL x the reference's loss, and the means
within TOL_MEAN of the reference's mean. Exit status 1 with a message when they are not.

  compare_losses.py REFERENCE/metrics.jsonl RUN/metrics.jsonl TOL_ABS TOL_REL TOL_MEAN
"""
import json
import sys


def losses(path):
    return {r["step"]: r["loss"] for r in map(json.loads, open(path)) if r["type"] == "train"}


ref, run = losses(sys.argv[1]), losses(sys.argv[2])
tol_abs, tol_rel, tol_mean = map(float, sys.argv[3:6])
steps = sorted(run)
assert steps and all(s in ref for s in steps), f"steps {steps} not all in the reference"
excess = max(abs(run[s] - ref[s]) - tol_abs - tol_rel * abs(ref[s]) for s in steps)
worst = max(steps, key=lambda s: abs(run[s] - ref[s]) / (abs(ref[s]) + 1e-9))
mean_ref = sum(ref[s] for s in steps) / len(steps)
mean_run = sum(run[s] for s in steps) / len(steps)
print(f"{len(steps)} logged steps {steps[0]}..{steps[-1]}: worst relative difference at step {worst}: "
      f"{run[worst]:.4f} vs {ref[worst]:.4f}; mean loss {mean_run:.5f} vs {mean_ref:.5f} "
      f"({abs(mean_run - mean_ref) / mean_ref:.2%})")
if excess > 0 or abs(mean_run - mean_ref) > tol_mean * mean_ref:
    sys.exit(f"losses differ by more than {tol_abs} + {tol_rel:.0%} (one step) or {tol_mean:.0%} (the mean)")
