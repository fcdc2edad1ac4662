#!/usr/bin/env bash
# scripts/download-glue.sh against a local mirror (python3 -m http.server on 127.0.0.1; no
# other network): GLUE's zips rebuilt from the GLUE files in DATA_DIR/glue, and SentEval-style
# MRPC sources made so that GLUE's split gives back DATA_DIR's MRPC files.
#   1. every file lands and equals DATA_DIR's, byte for byte; a re-run requests nothing;
#   2. QNLI's archive lacks train.tsv (as DATA_DIR does): an error naming it, dev/test land;
#   3. a file with no line in the table (MNLI) is refused from an archive the table does not
#      name, accepted from one it does, recorded in .verified.sha256 and not fetched again;
#   4. a byte changed (WNLI/train.tsv), a truncated file (RTE/dev.tsv, MRPC's test source),
#      a truncated archive (CoLA.zip): errors naming each, exit 1, the files already verified
#      untouched and nothing unverified in place; a damaged file in place is replaced.
#   tests/scripts/download_glue_test.sh DATA_DIR SCRATCH_DIR    (77: no GLUE in DATA_DIR)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
data=${1:?usage: download_glue_test.sh DATA_DIR SCRATCH_DIR}/glue
scratch=${2:?usage: download_glue_test.sh DATA_DIR SCRATCH_DIR}
script=$repo/scripts/download-glue.sh
for tool in curl python3; do
  command -v $tool >/dev/null || { echo "FAIL: $tool is missing (scripts/setup.sh installs it)"; exit 1; }
done

small=(CoLA SST-2 MRPC STS-B RTE WNLI)  # the tasks whose three files DATA_DIR holds
for t in "${small[@]}"; do
  for f in train dev test; do
    [ -f "$data/$t/$f.tsv" ] || { echo "skip: $data/$t/$f.tsv is absent"; exit 77; }
  done
done
for f in dev test; do
  [ -f "$data/QNLI/$f.tsv" ] || { echo "skip: $data/QNLI/$f.tsv is absent"; exit 77; }
done

rm -rf "$scratch"
mkdir -p "$scratch/mirror/glue/data" "$scratch/mirror/senteval/senteval_data"
mirror=$scratch/mirror
out=$scratch/out
fails=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fails=$((fails + 1)); fi; }

# zip_task ARCHIVE FOLDER DIR: ARCHIVE holds FOLDER/<name> for each file of DIR, as GLUE's do.
zip_task() {
  python3 - "$mirror/glue/data/$1" "$2" "$3" <<'PY'
import os, sys, zipfile
archive, folder, src = sys.argv[1:4]
with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
    for name in sorted(os.listdir(src)):
        z.write(os.path.join(src, name), f"{folder}/{name}")
PY
}
zip_task CoLA.zip CoLA "$data/CoLA"
zip_task SST-2.zip SST-2 "$data/SST-2"
zip_task STS-B.zip STS-B "$data/STS-B"
zip_task RTE.zip RTE "$data/RTE"
zip_task WNLI.zip WNLI "$data/WNLI"
mkdir -p "$scratch/qnli" && cp "$data/QNLI/dev.tsv" "$data/QNLI/test.tsv" "$scratch/qnli/"
zip_task QNLIv2.zip QNLI "$scratch/qnli"

# MRPC's sources: the train file is train.tsv's header (BOM included) and rows, then dev's
# rows; the dev ids are dev's id pairs; the test file has a label column in place of index.
senteval=$mirror/senteval/senteval_data
{ cat "$data/MRPC/train.tsv"; tail -n +2 "$data/MRPC/dev.tsv"; } >"$senteval/msr_paraphrase_train.txt"
tail -n +2 "$data/MRPC/dev.tsv" | cut -f2,3 >"$mirror/glue/data/mrpc_dev_ids.tsv"
{ printf '\xef\xbb\xbfQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n'
  tail -n +2 "$data/MRPC/test.tsv" | awk -F'\t' -v OFS='\t' '{ $1 = NR % 2; print }'; } >"$senteval/msr_paraphrase_test.txt"

# A made-up MNLI (no checksum of its files in the table) and a table that names its archive.
mkdir -p "$scratch/mnli"
for f in train dev_matched dev_mismatched test_matched test_mismatched; do
  printf 'index\tsentence1\tsentence2\tgold_label\n0\tA %s premise .\tA hypothesis .\tneutral\n' "$f" \
    >"$scratch/mnli/$f.tsv"
done
zip_task MNLI.zip MNLI "$scratch/mnli"
{ grep -v ' glue/data/MNLI.zip$' "$repo/scripts/glue-sha256.txt"
  echo "$(sha256sum "$mirror/glue/data/MNLI.zip" | cut -d' ' -f1)  glue/data/MNLI.zip"; } >"$scratch/sums.txt"

# The server, on a free port of 127.0.0.1; its log counts the requests.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$mirror" "$port" >"$scratch/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
url=http://127.0.0.1:$port
for _ in $(seq 50); do curl -fs -o /dev/null "$url/" && break; sleep 0.2; done
requests() { grep -c '"GET ' "$scratch/server.log" || true; }

run() {  # run NAME ARGS...: the script's status, stdout+stderr in $scratch/NAME.log
  local name=$1; shift
  set +e; "$@" >"$scratch/$name.log" 2>&1; local rc=$?; set -e
  echo "$rc"
}
same_as_data() {  # every file of tasks $@ in $out equals DATA_DIR's
  local t f
  for t in "$@"; do for f in train dev test; do cmp -s "$out/$t/$f.tsv" "$data/$t/$f.tsv" || return 1; done; done
}
small_list=$(IFS=,; echo "${small[*]}")

# --- 1. everything lands, verified; a re-run fetches nothing ---------------------------------
rc=$(run first bash "$script" --out "$out" --base-url "$url" --tasks "$small_list")
check "first run succeeds (status $rc)" '[ "$rc" = 0 ]'
check "18 files land, byte-identical to the GLUE files (MRPC's split included)" 'same_as_data "${small[@]}"'
check "no download folder is left behind" '[ -z "$(ls -A "$out" | grep glue-download)" ]'
before=$(requests)
rc=$(run rerun bash "$script" --out "$out" --base-url "$url" --tasks "$small_list")
check "re-run succeeds (status $rc)" '[ "$rc" = 0 ]'
check "re-run requests nothing ($before requests before, $(requests) after)" '[ "$(requests)" = "$before" ]'
check "re-run says each task is present and verified" '[ "$(grep -c "present and verified" "$scratch/rerun.log")" = 6 ]'

# --- 2. an archive without a file --------------------------------------------------------------
rc=$(run qnli bash "$script" --out "$out" --base-url "$url" --tasks qnli)
check "QNLI without train.tsv fails (status $rc)" '[ "$rc" = 1 ]'
check "the error names QNLI/train.tsv" 'grep -q "ERROR: QNLI/train.tsv" "$scratch/qnli.log"'
check "QNLI dev and test land" 'cmp -s "$out/QNLI/dev.tsv" "$data/QNLI/dev.tsv" && cmp -s "$out/QNLI/test.tsv" "$data/QNLI/test.tsv"'

# --- 3. files verified through their archive -------------------------------------------------
rc=$(run mnli_refused bash "$script" --out "$out" --base-url "$url" --tasks mnli)
check "MNLI from an archive the table does not name fails (status $rc)" '[ "$rc" = 1 ]'
check "the error names MNLI/train.tsv" 'grep -q "ERROR: MNLI/train.tsv: has no checksum" "$scratch/mnli_refused.log"'
check "no MNLI file is put in place" '[ ! -e "$out/MNLI" ]'
rc=$(MTDNN_GLUE_SUMS=$scratch/sums.txt run mnli bash "$script" --out "$out" --base-url "$url" --tasks mnli)
check "MNLI from the archive the table names succeeds (status $rc)" '[ "$rc" = 0 ]'
check "its five files land and are recorded in .verified.sha256" \
  '(cd "$out" && [ "$(grep -c "  MNLI/" .verified.sha256)" = 5 ] && sha256sum --quiet -c .verified.sha256)'
before=$(requests)
rc=$(MTDNN_GLUE_SUMS=$scratch/sums.txt run mnli_rerun bash "$script" --out "$out" --base-url "$url" --tasks mnli)
check "MNLI re-run requests nothing (status $rc)" '[ "$rc" = 0 ] && [ "$(requests)" = "$before" ]'

# --- 4. wrong and truncated files --------------------------------------------------------------
cp -a "$mirror" "$scratch/mirror.good"
mkdir -p "$scratch/bad"
cp -r "$data/WNLI" "$data/RTE" "$scratch/bad/"
printf 'X' | dd of="$scratch/bad/WNLI/train.tsv" bs=1 seek=1000 conv=notrunc status=none
truncate -s $(($(stat -c %s "$scratch/bad/RTE/dev.tsv") / 2)) "$scratch/bad/RTE/dev.tsv"
rm "$mirror/glue/data/WNLI.zip" "$mirror/glue/data/RTE.zip"
zip_task WNLI.zip WNLI "$scratch/bad/WNLI"
zip_task RTE.zip RTE "$scratch/bad/RTE"
truncate -s $(($(stat -c %s "$mirror/glue/data/CoLA.zip") / 2)) "$mirror/glue/data/CoLA.zip"
head -n -100 "$scratch/mirror.good/senteval/senteval_data/msr_paraphrase_test.txt" >"$senteval/msr_paraphrase_test.txt"
# What is in place: the files those would replace are gone, one good file is damaged.
rm "$out/WNLI/train.tsv" "$out/RTE/dev.tsv" "$out/CoLA/dev.tsv" "$out/MRPC/test.tsv"
printf 'X' | dd of="$out/SST-2/dev.tsv" bs=1 seek=10 conv=notrunc status=none
(cd "$out" && find . -name '*.tsv' ! -path './SST-2/dev.tsv' | sort | xargs sha256sum) >"$scratch/kept.sha256"

rc=$(run damaged bash "$script" --out "$out" --base-url "$url" --tasks "$small_list")
check "damaged downloads fail (status $rc)" '[ "$rc" = 1 ]'
for name in WNLI/train.tsv RTE/dev.tsv glue/data/CoLA.zip CoLA/dev.tsv MRPC/test.tsv; do
  check "the error names $name" 'grep -q "ERROR: $name" "$scratch/damaged.log"'
done
check "the one-byte change is reported as a wrong checksum" 'grep -q "ERROR: WNLI/train.tsv: sha256 .* is not GLUE" "$scratch/damaged.log"'
check "nothing unverified is put in place" \
  '[ ! -e "$out/WNLI/train.tsv" ] && [ ! -e "$out/RTE/dev.tsv" ] && [ ! -e "$out/CoLA/dev.tsv" ] && [ ! -e "$out/MRPC/test.tsv" ]'
check "every verified file stays as it was" '(cd "$out" && sha256sum --quiet -c "$scratch/kept.sha256")'
check "the damaged SST-2/dev.tsv in place is replaced by GLUE's" 'cmp -s "$out/SST-2/dev.tsv" "$data/SST-2/dev.tsv"'
check "no download folder is left behind" '[ -z "$(ls -A "$out" | grep glue-download)" ]'

rm -rf "$mirror"
cp -a "$scratch/mirror.good" "$mirror"
rc=$(run repaired bash "$script" --out "$out" --base-url "$url" --tasks "$small_list")
check "with the mirror repaired, a re-run completes (status $rc)" '[ "$rc" = 0 ] && same_as_data "${small[@]}"'
check "and fetches only the four tasks that missed files" '[ "$(grep -c "present and verified" "$scratch/repaired.log")" = 2 ]'

rc=$(run usage bash "$script" --no-such-option)
check "an unknown option is refused (status $rc)" '[ "$rc" = 2 ]'

if [ $fails -gt 0 ]; then
  echo "download_glue_test: $fails check(s) failed; logs in $scratch"
  exit 1
fi
echo "download_glue_test: all checks passed"
