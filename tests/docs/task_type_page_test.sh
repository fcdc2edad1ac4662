#!/usr/bin/env bash
# docs/adding-a-task-type.md shows code from the MaskLM kind and the registry: every line of
# its ```cpp blocks (but "..." and comment lines) must be a line of task_kinds/, the code CI
# compiles, so the page cannot drift from what builds.
#   tests/docs/task_type_page_test.sh SOURCE_DIR
set -euo pipefail
src=$1
page=$src/docs/adding-a-task-type.md
code=$(find "$src/task_kinds" -name '*.h' -o -name '*.cc' | sort | xargs cat | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
checked=0 missing=0
while IFS= read -r line; do
  line=$(printf '%s' "$line" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
  case "$line" in ''|'...'|//*) continue ;; esac
  checked=$((checked + 1))
  if ! grep -qxF -- "$line" <<<"$code"; then
    echo "not in task_kinds/: $line" >&2
    missing=$((missing + 1))
  fi
done < <(awk '/^```cpp$/ {on = 1; next} /^```/ {on = 0} on' "$page")
echo "$checked code lines of the page checked, $missing not found"
[ "$checked" -gt 10 ] && [ "$missing" -eq 0 ]
