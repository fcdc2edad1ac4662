#!/usr/bin/env bash
# Checkpoint.python_reader: mtdnn-ckpt import-hf of the golden tiny BERT, then the plain
# Python reader (read_checkpoint.py) verifies it and finds every tensor bit-exact; after
# one flipped byte the same reader must fail.
#   python_reader_test.sh MTDNN_CKPT PYTHON WORK_DIR
set -euo pipefail
tool=$1 python=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)
golden=$here/../worker/golden/tiny
rm -rf "$work" && mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

"$tool" import-hf "$golden" "$work/run"
"$python" "$here/read_checkpoint.py" "$work/run/ckpt-0" --compare-hf "$golden/model.safetensors"

"$python" - "$work/run/ckpt-0/state.safetensors" <<'PY'
import sys
path = sys.argv[1]
with open(path, "r+b") as f:
    f.seek(-1, 2)
    b = f.read(1)
    f.seek(-1, 2)
    f.write(bytes([b[0] ^ 1]))
PY
if "$python" "$here/read_checkpoint.py" "$work/run/ckpt-0" 2>"$work/err"; then
  echo "FAIL: the reader accepted a checkpoint with a flipped byte" >&2
  exit 1
fi
grep -q "SHA-256 mismatch" "$work/err" || { cat "$work/err" >&2; exit 1; }
echo "OK: a flipped byte is detected by the plain Python reader"
