#!/usr/bin/env python3
"""Reads and verifies an mtdnn checkpoint folder with the standard library only (json,
struct, hashlib): the reader docs/checkpoints.md describes, used by the
Checkpoint.python_reader test.

    read_checkpoint.py CKPT_DIR [--compare-hf MODEL.safetensors]

Checks DONE against meta.json, the format and every tensor's SHA-256, prints a summary,
and with --compare-hf requires every tensor of a Hugging Face BERT file to be present
under model/bert.<name> with the same dtype, shape and bytes. Exit 1 on any mismatch.
"""
import hashlib
import json
import pathlib
import struct
import sys


def read_safetensors(path):
    """name -> (dtype, shape, bytes) of a safetensors file."""
    data = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header.pop("__metadata__", None)
    base = 8 + n
    return {k: (v["dtype"], v["shape"], data[base + v["data_offsets"][0] : base + v["data_offsets"][1]])
            for k, v in header.items()}


def read_checkpoint(folder):
    """(meta.json as a dict, name -> (dtype, shape, bytes)); raises ValueError on damage."""
    folder = pathlib.Path(folder)
    meta_bytes = (folder / "meta.json").read_bytes()
    digest = (folder / "DONE").read_text().split()[0]
    if hashlib.sha256(meta_bytes).hexdigest() != digest:
        raise ValueError(f"{folder}/meta.json does not match DONE")
    meta = json.loads(meta_bytes)
    if meta["format"] != "mtdnn-checkpoint" or meta["format_version"] != 1:
        raise ValueError(f"{folder}: not an mtdnn checkpoint of format version 1")
    tensors = read_safetensors(folder / "state.safetensors")
    if len(tensors) != meta["state"]["tensor_count"]:
        raise ValueError(f"{folder}: tensor count differs from meta.json")
    for name, record in meta["tensors"].items():
        if hashlib.sha256(tensors[name][2]).hexdigest() != record["sha256"]:
            raise ValueError(f"{folder}: tensor '{name}': SHA-256 mismatch")
    return meta, tensors


def main():
    meta, tensors = read_checkpoint(sys.argv[1])
    total = sum(len(t[2]) for t in tensors.values())
    print(f"step {meta['step']}: {len(tensors)} tensors, {total} bytes, checksums match")
    if "--compare-hf" in sys.argv:
        hf = read_safetensors(sys.argv[sys.argv.index("--compare-hf") + 1])
        for name, tensor in hf.items():
            if tensors.get("model/bert." + name) != tensor:
                print(f"tensor '{name}' differs from model/bert.{name}", file=sys.stderr)
                return 1
        print(f"all {len(hf)} Hugging Face tensors found bit-exact")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, KeyError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
