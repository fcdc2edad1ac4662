#!/usr/bin/env bash
# Writes each executable's --help into its README block (<!-- cli:NAME -->), or with
# --check verifies that the README matches the built executables (a ctest test does).
#   scripts/update-readme-cli.sh [--check] [BIN_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
mode=""
[ "${1:-}" = "--check" ] && { mode=--check; shift; }
bin=${1:-build/bin}
status=0
for exe in mtdnn-preprocess mtdnn-train mtdnn-predict mtdnn-ckpt; do
  grep -q "<!-- cli:$exe -->" README.md || continue
  { echo '```'; "$bin/$exe" --help; echo '```'; } | scripts/readme-block.py "cli:$exe" $mode || status=1
done
exit $status
