"""The largest absolute difference between the float32 tensors of two model.safetensors
files with the same names and shapes (plain Python: the format is a JSON header and raw
little-endian bytes). Prints it; exits 1 above TOLERANCE or when the tensors differ in names.
    max_weight_diff.py A B TOLERANCE"""
import array
import json
import struct
import sys


def tensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    out = {}
    for name, t in header.items():
        if t["dtype"] != "F32":
            continue
        begin, end = t["data_offsets"]
        values = array.array("f")
        values.frombytes(data[begin:end])
        out[name] = values
    return out


a, b, tolerance = tensors(sys.argv[1]), tensors(sys.argv[2]), float(sys.argv[3])
if a.keys() != b.keys():
    sys.exit(f"the models hold different tensors: {sorted(a.keys() ^ b.keys())[:5]}")
worst, where = 0.0, ""
for name in a:
    for x, y in zip(a[name], b[name]):
        if abs(x - y) > worst:
            worst, where = abs(x - y), name
print(f"largest weight difference {worst:.3g} ({where or 'none'}), tolerance {tolerance:g}")
sys.exit(0 if worst <= tolerance else 1)
