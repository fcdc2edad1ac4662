#!/usr/bin/env python3
"""Parity of mtdnn's WordPiece tokenizer with Hugging Face's fast BertTokenizer (the Rust
`tokenizers` core through its Python binding), run by ctest (tests/scripts.cmake).
  GLUE mode: every text column of every row of every GLUE file under the data folder
    goes through mtdnn-bench-tokenizer --ids (C++) and through a Hugging Face tokenizer
    built exactly as BertTokenizerFast builds it; ids and type ids must agree row by row.
  --sweep: every Unicode code point c, as "x" c "x", against a synthetic vocabulary
    holding every code point (as a word start and as a ## continuation), so the ids
    spell out the normalized text; only the code points listed in
    KNOWN_UNICODE_DIVERGENCES may differ.
  --extract OUT: writes the GLUE pairs file only (used by scripts/bench-preprocess.sh).
bench_hf.py and golden_cases.py import this file for the tokenizer builder and the GLUE
extraction. Standard library and the `tokenizers` package only.

Usage (PYTHON: a Python with the `tokenizers` package, e.g. scripts/venv-python):
  PYTHON tests/hf/parity.py --tool BUILD/bin/mtdnn-bench-tokenizer [--data-dir DIR]
         [--vocab uncased,cased] [--max-len 512,128]
  PYTHON tests/hf/parity.py --sweep --tool BUILD/bin/mtdnn-bench-tokenizer [--print-divergences]
  PYTHON tests/hf/parity.py --extract OUT.tsv [--splits train,dev] [--data-dir DIR]
$MTDNN_DATA_DIR, when set, overrides --data-dir. Exit status: 0 parity, 1 mismatch or
error, 77 skipped (no GLUE data).
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from tokenizers import Tokenizer

SKIP = 77
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
HERE = Path(__file__).resolve().parent
# The shared data folder sits next to the repository (tests/hf/../../../shared/data).
DEFAULT_DATA_DIR = HERE.parent.parent.parent / "shared" / "data"


def read_text(path):
    """A file's whole text, its bytes decoded as UTF-8 (invalid bytes become U+FFFD),
    without Python's newline translation, so a CR inside a GLUE row reaches both
    tokenizers exactly as it is in the file."""
    return Path(path).read_bytes().decode("utf-8", errors="replace")


def split_lines(content):
    """Lines separated by LF only (never str.splitlines, which would also split on VT, FF,
    U+0085, U+2028 and U+2029: characters the tokenizers must see); a final newline ends
    the last line (CoLA dev has none)."""
    lines = content.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


# -------------------------------------------------------------------------------------------
# The reference tokenizer: the tokenizer.json that transformers' BertConverter writes for
# BertTokenizerFast (bert-base-uncased ships the same), with truncation at max_len.


def read_vocab(path):
    """vocab.txt as a token list, one token a line, id = line number."""
    return split_lines(read_text(path))


def bert_tokenizer_json(tokens, lowercase, max_len):
    vocab = {}
    for i, t in enumerate(tokens):
        vocab[t] = i  # a repeated token keeps its last id, as the converter's dict does

    def special(name):
        return {"id": name, "ids": [vocab.get(name)], "tokens": [name]}

    return json.dumps({
        "version": "1.0",
        "truncation": ({"direction": "Right", "max_length": max_len, "strategy": "LongestFirst", "stride": 0}
                       if max_len else None),
        "padding": None,
        "added_tokens": [
            {"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for t in SPECIAL_TOKENS if t in vocab
        ],
        # strip_accents None: follows lowercase, as BertTokenizerFast leaves it.
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": lowercase},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
            ],
            "pair": [
                {"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                {"SpecialToken": {"id": "[SEP]", "type_id": 1}},
            ],
            "special_tokens": {"[CLS]": special("[CLS]"), "[SEP]": special("[SEP]")},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {
            "type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100, "vocab": vocab,
        },
    }, ensure_ascii=False)


def load_bert_tokenizer(vocab_file_or_tokens, lowercase, max_len=512):
    """A Hugging Face tokenizer equal to BertTokenizerFast(vocab, do_lower_case=lowercase)
    called with truncation=True, max_length=max_len (no truncation when max_len is 0).
    vocab_file_or_tokens: a vocab.txt path or the token list itself."""
    tokens = vocab_file_or_tokens if isinstance(vocab_file_or_tokens, list) else read_vocab(vocab_file_or_tokens)
    return Tokenizer.from_str(bert_tokenizer_json(tokens, lowercase, max_len))


# -------------------------------------------------------------------------------------------
# GLUE text columns. Quirks (../shared/data/PROVENANCE.md, "Format notes"): MRPC train/dev
# start with a UTF-8 BOM; CoLA train/dev have no header (sentence in column 3); test files
# have their own headers; fields are plain TAB-separated text ('"' is not a quote).

GLUE_TASKS = ["CoLA", "SST-2", "MRPC", "STS-B", "RTE", "WNLI", "QNLI"]
# Header names of the text columns: a pair, or a single sentence (the first that fits).
TEXT_COLUMNS = [["#1 String", "#2 String"], ["sentence1", "sentence2"], ["question", "sentence"], ["sentence"]]


class Row:
    """One example: text a, text b (None for single-sentence tasks), and where it came from
    (file and 1-based line; file None for rows read back from a pairs file)."""
    __slots__ = ("a", "b", "file", "line")

    def __init__(self, a, b=None, file=None, line=None):
        self.a, self.b, self.file, self.line = a, b, file, line


def extract_glue_file(path, task, split):
    """Rows of one GLUE file."""
    content = read_text(path)
    if content.startswith("\ufeff"):
        content = content[1:]
    lines = split_lines(content)
    first = 0
    if task == "CoLA" and split != "test":
        columns = [3]
    else:
        header = lines[0].split("\t")
        names = next((names for names in TEXT_COLUMNS if all(n in header for n in names)), None)
        if names is None:
            raise RuntimeError(f"{path}: no known text columns in header {json.dumps(header, ensure_ascii=False)}")
        columns = [header.index(n) for n in names]
        first = 1
    rows = []
    for i in range(first, len(lines)):
        fields = lines[i].split("\t")
        if len(fields) <= max(columns):
            raise RuntimeError(f"{path}:{i + 1}: {len(fields)} fields, text column {max(columns)} missing")
        rows.append(Row(fields[columns[0]], fields[columns[1]] if len(columns) > 1 else None, str(path), i + 1))
    return rows


def extract_glue_pairs(data_dir, splits=("train", "dev", "test")):
    """Every row of every GLUE file present under data_dir/glue, and [(TASK/split.tsv, rows)]."""
    rows, files = [], []
    for task in GLUE_TASKS:
        for split in splits:
            path = Path(data_dir) / "glue" / task / f"{split}.tsv"
            if not path.exists():
                continue
            part = extract_glue_file(path, task, split)
            files.append((f"{task}/{split}.tsv", len(part)))
            rows.extend(part)
    return rows, files


def write_pairs_file(rows, path):
    """The pairs file of mtdnn-bench-tokenizer: one row a line, "a" or "a<TAB>b", UTF-8."""
    text = "".join((r.a if r.b is None else f"{r.a}\t{r.b}") + "\n" for r in rows)
    Path(path).write_bytes(text.encode("utf-8"))


def read_pairs_file(path):
    rows = []
    for line in split_lines(read_text(path)):
        a, tab, b = line.partition("\t")  # split at the first TAB only
        rows.append(Row(a, b if tab else None))
    return rows


def data_dir_from(args):
    return os.environ.get("MTDNN_DATA_DIR") or args.get("data-dir") or str(DEFAULT_DATA_DIR)


# -------------------------------------------------------------------------------------------
# Comparison.


def run_tool(tool, pairs_file, vocab_file, lowercase, max_len, scratch):
    """Runs the C++ tool on a pairs file; returns its output lines "ids<TAB>type_ids"."""
    out_file = Path(scratch) / "mtdnn.out"
    cmd = [tool, str(pairs_file), str(vocab_file), *([] if lowercase else ["--cased"]), "--max-len", str(max_len), "--ids"]
    with open(out_file, "wb") as out:
        status = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out).returncode
    if status != 0:
        raise RuntimeError(f"{tool} exited with status {status}")
    return split_lines(read_text(out_file))


def encode_all(tokenizer, rows, chunk=4096):
    """Hugging Face's "ids<TAB>type_ids" line of every row, in chunks so that only the
    lines stay in memory, not a million Encoding objects. encode_batch takes single
    texts and (a, b) pairs mixed in one list and gives what encode(a[, b]) gives."""
    for i in range(0, len(rows), chunk):
        inputs = [r.a if r.b is None else (r.a, r.b) for r in rows[i:i + chunk]]
        for enc in tokenizer.encode_batch(inputs):
            yield " ".join(map(str, enc.ids)) + "\t" + " ".join(map(str, enc.type_ids)), len(enc.ids)


class Mismatch:
    __slots__ = ("row", "ours", "expected", "tokenizer")

    def __init__(self, row, ours, expected, tokenizer):
        self.row, self.ours, self.expected, self.tokenizer = row, ours, expected, tokenizer


def compare(label, rows, tool, pairs_file, vocab_file, lowercase, max_len, scratch):
    """Compares one configuration; returns the list of mismatching rows."""
    t0 = time.monotonic()
    ours = run_tool(tool, pairs_file, vocab_file, lowercase, max_len, scratch)
    if len(ours) != len(rows):
        raise RuntimeError(f"{label}: the tool wrote {len(ours)} lines for {len(rows)} rows")
    tokenizer = load_bert_tokenizer(vocab_file, lowercase, max_len)
    mismatches = []
    truncated = 0
    for i, (expected, length) in enumerate(encode_all(tokenizer, rows)):
        if length == max_len:
            truncated += 1
        if ours[i] != expected:
            mismatches.append(Mismatch(rows[i], ours[i], expected, tokenizer))
    print(f"{label}: {len(rows)} rows compared, {len(rows) - len(mismatches)} equal, {len(mismatches)} different "
          f"({truncated} rows at the length limit; {time.monotonic() - t0:.1f} s)", flush=True)
    return mismatches


def show_mismatches(mismatches, limit=5):
    def tokens(m, line):
        ids = line.split("\t")[0].split()
        return " ".join(str(m.tokenizer.id_to_token(int(i))) for i in ids)

    for m in mismatches[:limit]:
        where = f"{m.row.file}:{m.row.line}" if m.row.file and m.row.line is not None else m.row.file or "row"
        text_b = "" if m.row.b is None else f"\n    text_b: {json.dumps(m.row.b, ensure_ascii=False)}"
        print(f"  {where}\n    text_a: {json.dumps(m.row.a, ensure_ascii=False)}{text_b}"
              f"\n    hf:     {tokens(m, m.expected)}\n    mtdnn:  {tokens(m, m.ours)}")


def glue_parity(args):
    data_dir = data_dir_from(args)
    if not (Path(data_dir) / "glue").exists():
        print(f"SKIP: no GLUE data under {data_dir} (set MTDNN_DATA_DIR)")
        return SKIP
    vocabs = args.get("vocab", "uncased,cased").split(",")
    max_lens = [int(n) for n in args.get("max-len", "512,128").split(",")]
    rows, files = extract_glue_pairs(data_dir)
    print(f"GLUE rows from {data_dir}: {len(rows)} ({', '.join(f'{f} {n}' for f, n in files)})", flush=True)
    with tempfile.TemporaryDirectory(prefix="mtdnn-parity-") as scratch:
        pairs_file = Path(scratch) / "pairs.tsv"
        write_pairs_file(rows, pairs_file)
        failed = compared = 0
        for casing in vocabs:
            vocab_file = Path(data_dir) / "vocab" / f"bert-base-{casing}-vocab.txt"
            if not vocab_file.exists():
                print(f"SKIP: {vocab_file} not found")
                return SKIP
            for max_len in max_lens:
                mismatches = compare(f"{casing} max_len={max_len}", rows, args["tool"], pairs_file, vocab_file,
                                     casing == "uncased", max_len, scratch)
                compared += len(rows)
                failed += len(mismatches)
                show_mismatches(mismatches)
        print(f"FAIL: {failed} of {compared} row encodings differ" if failed
              else f"OK: {compared} row encodings identical")
        return 1 if failed else 0


# -------------------------------------------------------------------------------------------
# Unicode sweep.

# Code points where utf8proc (Unicode 15, mtdnn) and Hugging Face disagree, as ranges.
# Hugging Face takes categories from the unicode_categories crate (0.1.1, Unicode 8 tables)
# and lower-cases with Rust's std (Unicode 16), so these are characters added or
# re-categorised after Unicode 8 (Mn marks HF keeps, Po/Ps/Pe/Pd it does not split, Cf
# it keeps; U+1734 and U+11938 were Mn and are Mc now, U+166D was Po and is So now) and
# the capitals of Unicode 16 that utf8proc does not lower-case yet. A listed code point
# may differ (in either casing); one not listed fails the sweep; a listed one that agrees
# is only noted. Regenerate with --sweep --print-divergences.
KNOWN_UNICODE_DIVERGENCES = """
61D 7FD 890-891 898-89F 8CA-8E2 9FD-9FE A76 AFA-AFF B55 C04 C3C C77 C84 D00 D3B-D3C D81 EBA
ECE 166D 1734 180F 1885-1886 1ABF-1ACE 1B7D-1B7E 1C89 1DF6-1DFB 2E43-2E4F 2E52-2E5D A7CB-A7CC
A7CE A7D2 A7D4 A7DA A7DC A82C A8C5 A8FF A9BD 10D24-10D27 10D50-10D65 10EAB-10EAD 10EFD-10EFF
10F46-10F50 10F55-10F59 10F82-10F89 11070 11073-11074 110C2 110CD 111C9 111CF 1123E 11241
1133B 11438-1143F 11442-11444 11446 1144B-1144F 1145A-1145B 1145D-1145E 11660-1166C 116B9
1182F-11837 11839-1183B 11938 1193B-1193C 1193E 11943-11946 119D4-119D7 119DA-119DB 119E0
119E2 11A01-11A0A 11A33-11A38 11A3B-11A47 11A51-11A56 11A59-11A5B 11A8A-11A96 11A98-11A9C
11A9E-11AA2 11B00-11B09 11C30-11C36 11C38-11C3D 11C3F 11C41-11C45 11C70-11C71 11C92-11CA7
11CAA-11CB0 11CB2-11CB3 11CB5-11CB6 11D31-11D36 11D3A 11D3C-11D3D 11D3F-11D45 11D47
11D90-11D91 11D95 11D97 11EF3-11EF4 11EF7-11EF8 11F00-11F01 11F36-11F3A 11F40 11F42-11F4F
11FFF 12FF1-12FF2 13430-13440 13447-13455 16E97-16E9A 16EA0-16EB8 16F4F 16FE2 16FE4
1CF00-1CF2D 1CF30-1CF46 1E000-1E006 1E008-1E018 1E01B-1E021 1E023-1E024 1E026-1E02A 1E08F
1E130-1E136 1E2AE 1E2EC-1E2EF 1E4EC-1E4EF 1E944-1E94A 1E95E-1E95F"""


def parse_ranges(text):
    codes = set()
    for r in text.split():
        lo, _, hi = r.partition("-")
        codes.update(range(int(lo, 16), int(hi or lo, 16) + 1))
    return codes


def format_ranges(code_points):
    """Ascending code points as "61D 890-891 ...", the format of KNOWN_UNICODE_DIVERGENCES."""
    ranges = []
    for c in code_points:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    return " ".join(f"{lo:X}" if lo == hi else f"{lo:X}-{hi:X}" for lo, hi in ranges)


def unicode_sweep(args):
    # Surrogates are not characters; tab, LF and CR would break the line formats (the unit
    # tests cover them).
    code_points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and c not in (0x09, 0x0A, 0x0D)]
    chars = [chr(c) for c in code_points]
    tokens = SPECIAL_TOKENS + chars + ["##" + ch for ch in chars]
    rows = [Row(f"x{ch}x") for ch in chars]
    with tempfile.TemporaryDirectory(prefix="mtdnn-sweep-") as scratch:
        vocab_file = Path(scratch) / "vocab.txt"
        vocab_file.write_bytes(("\n".join(tokens) + "\n").encode("utf-8"))
        pairs_file = Path(scratch) / "pairs.tsv"
        write_pairs_file(rows, pairs_file)
        known = parse_ranges(KNOWN_UNICODE_DIVERGENCES)
        differing = set()
        failed = 0
        for lowercase in (True, False):
            label = f"sweep {'uncased' if lowercase else 'cased'}"
            mismatches = compare(label, rows, args["tool"], pairs_file, vocab_file, lowercase, 512, scratch)
            unexpected = [m for m in mismatches if ord(m.row.a[1]) not in known]
            differing.update(ord(m.row.a[1]) for m in mismatches)
            for m in unexpected:
                m.row.file = f"U+{ord(m.row.a[1]):X}"
            print(f"{label}: {len(mismatches) - len(unexpected)} known divergences, {len(unexpected)} unexpected")
            show_mismatches(unexpected, 10)
            failed += len(unexpected)
        agreeing = sorted(known - differing)
        if agreeing:
            print(f"note: {len(agreeing)} listed code points now agree: {format_ranges(agreeing)}")
        if args.get("print-divergences"):
            print(format_ranges(sorted(differing)))
        print(f"FAIL: {failed} unexpected differences" if failed
              else f"OK: {len(code_points)} code points, no unexpected differences")
        return 1 if failed else 0


# -------------------------------------------------------------------------------------------

FLAGS = {"sweep", "print-divergences"}
OPTIONS = {"tool", "data-dir", "vocab", "max-len", "extract", "splits"}


def parse_args(argv):
    """--flag and --option VALUE pairs; an unknown option is an error (a mistyped --max_len
    must not silently test the defaults)."""
    args = {}
    i = 0
    while i < len(argv):
        key = argv[i][2:] if argv[i].startswith("--") else None
        if key in FLAGS:
            args[key] = True
        elif key in OPTIONS and i + 1 < len(argv):
            i += 1
            args[key] = argv[i]
        elif key in OPTIONS:
            raise RuntimeError(f"{argv[i]} needs a value")
        else:
            raise RuntimeError(f"unexpected argument {argv[i]}")
        i += 1
    return args


def main(argv):
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
        return 0
    args = parse_args(argv)
    if "extract" in args:
        data_dir = data_dir_from(args)
        if not (Path(data_dir) / "glue").exists():
            print(f"no GLUE data under {data_dir} (set MTDNN_DATA_DIR)", file=sys.stderr)
            return SKIP
        rows, files = extract_glue_pairs(data_dir, args.get("splits", "train,dev,test").split(","))
        write_pairs_file(rows, args["extract"])
        print(f"{args['extract']}: {len(rows)} rows from {len(files)} files", file=sys.stderr)
        return 0
    if "tool" not in args:
        raise RuntimeError("--tool PATH (the mtdnn-bench-tokenizer executable) is required")
    return unicode_sweep(args) if args.get("sweep") else glue_parity(args)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (RuntimeError, OSError) as err:  # expected failures (the tool, a file): the message says it
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    except Exception:  # anything else (an unreadable file, a tokenizer error): the trace
        print(f"error: {traceback.format_exc()}", file=sys.stderr)
        sys.exit(1)
