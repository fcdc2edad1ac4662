#!/usr/bin/env python3
"""Single-core throughput of Hugging Face's fast BertTokenizer (Rust core, Python binding)
on a pairs file, measured like bench/tokenizer_bench.cc: every row encoded as
[CLS] A [SEP] (B [SEP]) with truncation to --max-len, tokens = ids of those inputs, best of
--repeats rounds, one JSON line. scripts/bench-preprocess.sh runs it pinned to one CPU
(taskset) with RAYON_NUM_THREADS=1, so that encode_batch's thread pool has one thread.
Modes (both give the same ids, those of tests/hf/parity.py's reference tokenizer):
  batch  (default): one encode_batch call on all rows, a row being its text or its (a, b)
         pair, the loop in Rust: what BertTokenizerFast calls for a list of texts.
  single: encode(a) or encode(a, b) row after row, one Python call per row.
On one core their speeds are close; batch is the default because it is the call that
BertTokenizerFast makes. The input list is built once, outside the timed rounds; both
modes compute offsets and return Encoding objects, as BertTokenizerFast does.
Usage: PYTHON tests/hf/bench_hf.py PAIRS VOCAB [--cased] [--max-len 512] [--repeats 5]
         [--mode batch|single]
(PYTHON: a Python with the `tokenizers` package, e.g. scripts/venv-python). Standard
library and the `tokenizers` package only.
"""
import json
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tokenizers  # noqa: E402
from parity import load_bert_tokenizer, read_pairs_file  # noqa: E402

USAGE = "usage: bench_hf.py PAIRS VOCAB [--cased] [--max-len N] [--repeats N] [--mode batch|single]"


def parse_args(argv):
    args = {"positional": [], "cased": False, "max_len": 512, "repeats": 5, "mode": "batch"}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--cased":
            args["cased"] = True
        elif a == "--uncased":
            args["cased"] = False
        elif a in ("--max-len", "--repeats", "--mode") and i + 1 < len(argv):
            i += 1
            key = a[2:].replace("-", "_")
            args[key] = argv[i] if key == "mode" else int(argv[i])
        elif a.startswith("--"):
            raise ValueError(USAGE)
        else:
            args["positional"].append(a)
        i += 1
    if len(args["positional"]) != 2 or args["mode"] not in ("batch", "single") or args["repeats"] < 1:
        raise ValueError(USAGE)
    return args


def round_batch(tokenizer, inputs):
    return sum(len(enc.ids) for enc in tokenizer.encode_batch(inputs))


def round_single(tokenizer, inputs):
    tokens = 0
    for x in inputs:
        enc = tokenizer.encode(x) if isinstance(x, str) else tokenizer.encode(x[0], x[1])
        tokens += len(enc.ids)
    return tokens


def main(argv):
    args = parse_args(argv)
    rows = read_pairs_file(args["positional"][0])
    inputs = [r.a if r.b is None else (r.a, r.b) for r in rows]
    tokenizer = load_bert_tokenizer(args["positional"][1], lowercase=not args["cased"], max_len=args["max_len"])
    encode_round = round_batch if args["mode"] == "batch" else round_single
    best, best_cpu, tokens = math.inf, 0.0, 0
    for _ in range(args["repeats"]):
        cpu0, t0 = time.process_time(), time.perf_counter()  # process_time: all threads, user + system
        tokens = encode_round(tokenizer, inputs)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        if seconds < best:
            best, best_cpu = seconds, cpu
    print(json.dumps({
        "impl": f"hf-tokenizers-{tokenizers.__version__}", "binding": "python", "mode": args["mode"],
        "vocab": "cased" if args["cased"] else "uncased",
        "rayon_threads": os.environ.get("RAYON_NUM_THREADS") or "default", "rows": len(rows), "tokens": tokens,
        "repeats": args["repeats"], "seconds": round(best, 4), "cpu_seconds": round(best_cpu, 4),
        "tokens_per_s": math.floor(tokens / best + 0.5),
    }, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception as err:  # usage errors included: status 1
        print(f"bench_hf.py: {err}", file=sys.stderr)
        sys.exit(1)
