#!/usr/bin/env python3
"""Regenerates the golden values under other PyTorch versions and compares them with the
checked-in ones (tests/worker/golden/ and the arrays that tests/worker/optimizer_test.cc
holds), so a change of the PyTorch the generators run under is measured, not assumed.

    scripts/venv-python scripts/compare-goldens.py [--python PY ...] [--report FILE]

Each --python (default: scripts/venv-python, the lock's torch 2.x, and /usr/bin/python3,
Debian's torch 1.13, when it imports torch) runs scripts/make-model-goldens.py,
make-lamb-goldens.py and make-optimizer-goldens.py in a scratch copy of scripts/ and
tests/worker/golden/; then every tensor of every regenerated safetensors file, every number
of each golden.json and every printed optimizer value is compared with the checked-in one.
Prints, per interpreter and file, the largest absolute difference and that over the
largest magnitude of the tensor it occurs in (a markdown
table; --report also writes it to FILE). Exit status 0 when every file was regenerated and
compared (differences are reported, not judged), 1 otherwise. Runs with numpy and
safetensors (the lock's environment).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from safetensors.numpy import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join("tests", "worker", "golden")
GENERATORS = ["make-model-goldens.py", "make-lamb-goldens.py", "make-optimizer-goldens.py"]
OPTIMIZER_TEST = os.path.join(ROOT, "tests", "worker", "optimizer_test.cc")


def default_pythons():
    found = [os.path.join(ROOT, "scripts", "venv-python")]
    if subprocess.run(["/usr/bin/python3", "-c", "import torch"], capture_output=True).returncode == 0:
        found.append("/usr/bin/python3")
    return found


def torch_version(python):
    out = subprocess.run([python, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True)
    return out.stdout.strip() or "?"


def numbers_of_json(value, prefix=""):
    """Every number in a JSON document, keyed by its path."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from numbers_of_json(v, f"{prefix}/{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from numbers_of_json(v, f"{prefix}/{i}")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield prefix, float(value)


def optimizer_values(text):
    """The {"kind", "name", {values}} rows the optimizer generator prints and the test holds."""
    rows = {}
    for kind, name, values in re.findall(r'\{"(\w+)", "(\w+)", \{([^}]*)\}\}', text):
        rows[(kind, name)] = [float(v.strip().rstrip("f")) for v in values.split(",") if v.strip()]
    return rows


def difference(a, b):
    """(largest absolute difference, the same over the reference's largest magnitude) of two
    equal-shaped arrays: element-wise relative differences of values near zero (gradients of
    1e-8) say nothing, the scale of the whole tensor does."""
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0, 0.0
    largest = float(np.abs(a - b).max())
    return largest, largest / max(float(np.abs(b).max()), 1e-30)


def compare_tree(scratch):
    """(file, tensors/values compared, max abs, max rel) for every golden file."""
    rows = []
    for dirpath, _, files in sorted(os.walk(os.path.join(ROOT, GOLDEN))):
        for f in sorted(files):
            ref_path = os.path.join(dirpath, f)
            rel_path = os.path.relpath(ref_path, ROOT)
            new_path = os.path.join(scratch, rel_path)
            if f.endswith(".safetensors"):
                ref, new = load_file(ref_path), load_file(new_path)
                if set(ref) != set(new):
                    raise ValueError(f"{rel_path}: tensor names differ: {sorted(set(ref) ^ set(new))[:5]}")
                pairs = [difference(new[k], ref[k]) for k in ref]
            elif f.endswith(".json"):
                ref = dict(numbers_of_json(json.load(open(ref_path))))
                new = dict(numbers_of_json(json.load(open(new_path))))
                if set(ref) != set(new):
                    raise ValueError(f"{rel_path}: keys differ: {sorted(set(ref) ^ set(new))[:5]}")
                pairs = [difference([new[k]], [ref[k]]) for k in ref]
            else:
                continue
            rows.append((rel_path, len(pairs), max((p[0] for p in pairs), default=0.0),
                         max((p[1] for p in pairs), default=0.0)))
    return rows


def run(python):
    scratch = tempfile.mkdtemp(prefix="mtdnn-goldens-")
    try:
        shutil.copytree(os.path.join(ROOT, "scripts"), os.path.join(scratch, "scripts"))
        shutil.copytree(os.path.join(ROOT, GOLDEN), os.path.join(scratch, GOLDEN))
        printed = ""
        for g in GENERATORS:
            out = subprocess.run([python, os.path.join("scripts", g)], cwd=scratch, capture_output=True, text=True)
            if out.returncode != 0:
                raise RuntimeError(f"{g} under {python} failed:\n{out.stderr[-2000:]}")
            printed += out.stdout
        rows = compare_tree(scratch)
        ref = optimizer_values(open(OPTIMIZER_TEST).read())
        new = optimizer_values(printed)
        if not ref or set(ref) != set(new):
            raise ValueError("the optimizer generator's rows and optimizer_test.cc's rows differ in names")
        pairs = [difference(new[k], ref[k]) for k in ref]
        rows.append(("tests/worker/optimizer_test.cc (printed rows)", len(pairs),
                     max(p[0] for p in pairs), max(p[1] for p in pairs)))
        return rows
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", action="append", help="interpreter to regenerate with (repeatable)")
    parser.add_argument("--report", help="also write the table to this file")
    args = parser.parse_args()
    lines = ["| PyTorch | golden file | values | max abs diff | max abs diff / max abs value |", "|---|---|---:|---:|---:|"]
    ok = True
    for python in args.python or default_pythons():
        version = torch_version(python)
        try:
            for path, n, abs_d, rel_d in run(python):
                lines.append(f"| {version} | `{path}` | {n} | {abs_d:.3g} | {rel_d:.3g} |")
        except Exception as e:  # reported per interpreter, the others still run
            lines.append(f"| {version} | (failed) | | | {str(e).splitlines()[0]} |")
            print(e, file=sys.stderr)
            ok = False
    table = "\n".join(lines)
    print(table)
    if args.report:
        with open(args.report, "w") as f:
            f.write(table + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
