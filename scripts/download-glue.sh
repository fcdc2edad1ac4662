#!/usr/bin/env bash
# Fetches GLUE's task files, checks each against scripts/glue-sha256.txt and lays them out
# as mtdnn-preprocess --input reads them: DIR/CoLA/train.tsv, DIR/MNLI/dev_matched.tsv, ...
# Sources are those of GLUE's download_glue_data.py: one zip per task, and for MRPC the
# SentEval copies of the Microsoft files split into train/dev by GLUE's list of dev ids.
#
#   scripts/download-glue.sh [--out DIR] [--tasks LIST] [--base-url URL]
#     --out DIR       the GLUE folder to fill (default: data/glue in the repository, where
#                     scripts/quickstart.sh looks)
#     --tasks LIST    comma-separated, GLUE's folder or mt-dnn's names (default: all nine:
#                     CoLA,SST-2,MRPC,STS-B,QQP,MNLI,QNLI,RTE,WNLI; cola,sst,stsb,... work too)
#     --base-url URL  instead of https://dl.fbaipublicfiles.com; a mirror holds the same paths:
#                       URL/glue/data/{CoLA,SST-2,STS-B,QQP-clean,MNLI,QNLIv2,RTE,WNLI}.zip
#                       URL/glue/data/mrpc_dev_ids.tsv
#                       URL/senteval/senteval_data/msr_paraphrase_{train,test}.txt
#
# Every file is downloaded into DIR/.glue-download.*, checked, and only then moved into
# place, so a wrong or truncated download never replaces or loses a verified file. A file
# already in DIR whose checksum is right is kept and not downloaded again. A file whose
# checksum is wrong is an error naming it (exit status 1, after the other tasks are done).
# Files with no line of their own in the table (MNLI, QQP, QNLI train: too large for the
# copies the table was made from) are accepted only from an archive whose own checksum is
# GLUE's; their checksums then go to DIR/.verified.sha256 for later runs to check against.
# $MTDNN_GLUE_SUMS names another table (tests; a mirror with archives of its own).
set -euo pipefail

usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; }

here=$(cd "$(dirname "$0")" && pwd)
table=${MTDNN_GLUE_SUMS:-$here/glue-sha256.txt}
out=$here/../data/glue
base=https://dl.fbaipublicfiles.com
task_arg=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=${2:?--out needs a folder}; shift 2 ;;
    --tasks) task_arg=${2:?--tasks needs a list}; shift 2 ;;
    --base-url) base=${2:?--base-url needs a URL}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "download-glue: unknown argument $1 (see -h)" >&2; exit 2 ;;
  esac
done
base=${base%/}

all_tasks=(CoLA SST-2 MRPC STS-B QQP MNLI QNLI RTE WNLI)
tasks=()
IFS=, read -r -a asked <<<"${task_arg:-$(IFS=,; echo "${all_tasks[*]}")}"
for t in "${asked[@]}"; do
  case "${t,,}" in
    cola) tasks+=(CoLA) ;;  sst|sst-2|sst2) tasks+=(SST-2) ;;  mrpc) tasks+=(MRPC) ;;
    sts|sts-b|stsb) tasks+=(STS-B) ;;  qqp) tasks+=(QQP) ;;  mnli) tasks+=(MNLI) ;;
    qnli) tasks+=(QNLI) ;;  rte) tasks+=(RTE) ;;  wnli) tasks+=(WNLI) ;;
    *) echo "download-glue: unknown task '$t' (GLUE's are ${all_tasks[*]})" >&2; exit 2 ;;
  esac
done

for tool in curl python3 sha256sum; do
  command -v "$tool" >/dev/null || { echo "download-glue: needs $tool (scripts/setup.sh installs it)" >&2; exit 2; }
done

# The table: path -> expected sha256. Comment lines start with '#'.
declare -A want
while read -r hex path; do
  case "$hex" in ''|'#'*) continue ;; esac
  [[ $hex =~ ^[0-9a-f]{64}$ && -n $path ]] || { echo "download-glue: $table: bad line '$hex $path'" >&2; exit 2; }
  want[$path]=$hex
done <"$table"

files_of() { if [ "$1" = MNLI ]; then echo train dev_matched dev_mismatched test_matched test_mismatched; else echo train dev test; fi; }
archive_of() {
  case "$1" in QQP) echo glue/data/QQP-clean.zip ;; QNLI) echo glue/data/QNLIv2.zip ;; *) echo "glue/data/$1.zip" ;; esac
}
sha() { sha256sum "$1" | cut -d' ' -f1; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
local_sums=$out/.verified.sha256  # checksums of files verified through their archive
declare -A known                  # what a file present in $out must hash to
for k in "${!want[@]}"; do known[$k]=${want[$k]}; done
if [ -f "$local_sums" ]; then
  while read -r hex path; do [ -n "${want[$path]:-}" ] || known[$path]=$hex; done <"$local_sums"
fi

scratch=$(mktemp -d "$out/.glue-download.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
failed=()
fail() { echo "download-glue: ERROR: $1" >&2; failed+=("${1%%:*}"); }

# fetch REL DEST: downloads $base/REL; prints whether its checksum is GLUE's (ok/differs/unknown).
fetch() {
  local rel=$1 dest=$2
  echo "download-glue: fetching $base/$rel" >&2
  curl -fsSL --retry 2 -o "$dest" "$base/$rel" || { echo failed; return; }
  if [ -z "${want[$rel]:-}" ]; then echo unknown
  elif [ "$(sha "$dest")" = "${want[$rel]}" ]; then echo ok
  else echo differs; fi
}

# extract ZIP FOLDER DEST NAME...: GLUE's zips hold FOLDER/NAME; each member read is CRC-checked.
extract() {
  python3 - "$@" <<'PY'
import os, shutil, sys, zipfile
zpath, folder, dest, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
try:
    z = zipfile.ZipFile(zpath)
except (zipfile.BadZipFile, OSError) as e:
    sys.exit(f"{folder}: {os.path.basename(zpath)} is not a readable zip archive (truncated?): {e}")
members = set(z.namelist())
rc = 0
for n in names:
    member, target = f"{folder}/{n}", os.path.join(dest, n)
    if member not in members:
        print(f"{folder}/{n}: not in {os.path.basename(zpath)}", file=sys.stderr); rc = 1; continue
    try:
        with z.open(member) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        print(f"{folder}/{n}: unreadable in {os.path.basename(zpath)}: {e}", file=sys.stderr); rc = 1
        if os.path.exists(target): os.remove(target)
sys.exit(rc)
PY
}

# MRPC as download_glue_data.py's format_mrpc makes it: test.tsv gets an index column and a
# header of its own; train.tsv/dev.tsv keep the train file's header (UTF-8 BOM included) and
# split its rows by the (#1 ID, #2 ID) pairs of mrpc_dev_ids.tsv. Rows are strip()ped and
# re-joined with tabs, as there. Checked against the table: the three files this makes from
# the sources whose checksums are listed equal GLUE's MRPC files byte for byte.
split_mrpc() {
  python3 - "$@" <<'PY'
import io, os, sys
train_src, test_src, ids_src, dest = sys.argv[1:5]
with io.open(test_src, encoding="utf-8") as data_fh, \
     io.open(os.path.join(dest, "test.tsv"), "w", encoding="utf-8") as test_fh:
    data_fh.readline()
    test_fh.write("index\t#1 ID\t#2 ID\t#1 String\t#2 String\n")
    for idx, row in enumerate(data_fh):
        label, id1, id2, s1, s2 = row.strip().split("\t")
        test_fh.write("%d\t%s\t%s\t%s\t%s\n" % (idx, id1, id2, s1, s2))
with io.open(ids_src, encoding="utf-8") as ids_fh:
    dev_ids = [row.strip().split("\t") for row in ids_fh]
with io.open(train_src, encoding="utf-8") as data_fh, \
     io.open(os.path.join(dest, "train.tsv"), "w", encoding="utf-8") as train_fh, \
     io.open(os.path.join(dest, "dev.tsv"), "w", encoding="utf-8") as dev_fh:
    header = data_fh.readline()
    train_fh.write(header)
    dev_fh.write(header)
    for row in data_fh:
        label, id1, id2, s1, s2 = row.strip().split("\t")
        fh = dev_fh if [id1, id2] in dev_ids else train_fh
        fh.write("%s\t%s\t%s\t%s\t%s\n" % (label, id1, id2, s1, s2))
PY
}

for task in "${tasks[@]}"; do
  need=()
  for f in $(files_of "$task"); do
    rel=$task/$f.tsv
    if [ -f "$out/$rel" ] && [ -n "${known[$rel]:-}" ] && [ "$(sha "$out/$rel")" = "${known[$rel]}" ]; then
      continue
    fi
    need+=("$f.tsv")
  done
  if [ ${#need[@]} -eq 0 ]; then echo "download-glue: $task: present and verified"; continue; fi

  work=$scratch/$task
  mkdir -p "$work/files"
  sources_ok=1  # every source's checksum is GLUE's
  if [ "$task" = MRPC ]; then
    srcs=(senteval/senteval_data/msr_paraphrase_train.txt senteval/senteval_data/msr_paraphrase_test.txt
          glue/data/mrpc_dev_ids.tsv)
    got=1
    for rel in "${srcs[@]}"; do
      state=$(fetch "$rel" "$work/${rel##*/}")
      case $state in
        failed) fail "$rel: download from $base/$rel failed"; got=0 ;;
        ok) ;;
        *) sources_ok=0; echo "download-glue: note: $rel is not the file GLUE's checksum names" >&2 ;;
      esac
    done
    if [ $got = 1 ] && ! split_mrpc "$work/msr_paraphrase_train.txt" "$work/msr_paraphrase_test.txt" \
                                    "$work/mrpc_dev_ids.tsv" "$work/files"; then
      fail "MRPC: the sources did not split (malformed or truncated row; see above)"
      rm -f "$work"/files/*
    fi
  else
    rel=$(archive_of "$task")
    state=$(fetch "$rel" "$work/${rel##*/}")
    if [ "$state" = failed ]; then
      fail "$rel: download from $base/$rel failed"
    else
      if [ "$state" != ok ]; then
        sources_ok=0
        echo "download-glue: note: $rel is not the archive GLUE's checksum names; checking its files one by one" >&2
      fi
      extract "$work/${rel##*/}" "$task" "$work/files" "${need[@]}" || fail "$rel: could not extract every file (see above)"
    fi
  fi

  for f in "${need[@]}"; do
    rel=$task/$f
    file=$work/files/$f
    [ -f "$file" ] || { fail "$rel: not obtained (see above)"; continue; }
    got_sha=$(sha "$file")
    if [ -n "${want[$rel]:-}" ]; then
      if [ "$got_sha" != "${want[$rel]}" ]; then
        fail "$rel: sha256 $got_sha ($(stat -c %s "$file") bytes) is not GLUE's ${want[$rel]}: wrong or truncated download; $out/$rel left as it was"
        continue
      fi
    elif [ $sources_ok = 1 ]; then
      { grep -v "  $rel\$" "$local_sums" 2>/dev/null || true; echo "$got_sha  $rel"; } >"$scratch/sums"
      mv "$scratch/sums" "$local_sums"
    else
      fail "$rel: has no checksum in $table and its archive is not GLUE's, so it cannot be verified"
      continue
    fi
    mkdir -p "$out/$task"
    mv -f "$file" "$out/$rel"
    echo "download-glue: $rel verified"
  done
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "download-glue: FAILED: ${failed[*]} (verified files stay in $out; re-run to fetch the rest)" >&2
  exit 1
fi
echo "download-glue: GLUE is in $out"
