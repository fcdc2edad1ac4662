"""Hugging Face's side of the model-folder checks (tests/hf/sequence_classifier_test.sh).

  hf_predict.py compare --model DIR --glue GLUE --task T --scores FILE [--rows N] [--tol 1e-4]
      transformers' AutoTokenizer and AutoModelForSequenceClassification load DIR as it is and
      predict the first N rows of T's dev.tsv; their probabilities (softmax of the logits;
      regression: the logit) must equal mtdnn-predict's scores file within --tol.
  hf_predict.py save --from DIR --out DIR [--num-labels N] [--seed S]
      a BertForSequenceClassification saved by transformers itself (save_pretrained, the
      tokenizer too): from an exported folder, or with a seeded fresh classifier on an encoder.
"""
import argparse
import csv
import sys

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, BertForSequenceClassification

# GLUE dev.tsv: (folder, header row?, text columns). The same rows mtdnn-preprocess reads.
DEV = {
    "cola": ("CoLA", False, [3]),
    "sst": ("SST-2", True, [0]),
    "mrpc": ("MRPC", True, [3, 4]),
    "stsb": ("STS-B", True, [7, 8]),
    "rte": ("RTE", True, [1, 2]),
}


def dev_texts(glue, task, rows):
    folder, header, columns = DEV[task]
    with open(f"{glue}/{folder}/dev.tsv", encoding="utf-8", newline="") as f:
        lines = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    lines = lines[1:] if header else lines
    return [[line[c] for c in columns] for line in lines[:rows]]


def compare(args):
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForSequenceClassification.from_pretrained(args.model).eval()
    texts = dev_texts(args.glue, args.task, args.rows)
    columns = list(zip(*texts))
    with torch.no_grad():
        batch = tokenizer(*columns, truncation="longest_first", max_length=args.max_len, padding=True,
                          return_tensors="pt")
        logits = model(**batch).logits.double()
    hf = logits if model.config.problem_type == "regression" else torch.softmax(logits, -1)
    with open(args.scores, encoding="utf-8") as f:
        ours = [[float(v) for v in line.rstrip("\n").split("\t")[1:]] for line in list(f)[1:]][: len(texts)]
    ours = torch.tensor(ours, dtype=torch.float64)
    if ours.shape != hf.shape:
        sys.exit(f"FAIL: {args.scores} gives {tuple(ours.shape)} scores, transformers {tuple(hf.shape)}")
    diff = (hf - ours).abs().max().item()
    agree = (hf.argmax(-1) == ours.argmax(-1)).float().mean().item() if hf.shape[1] > 1 else 1.0
    print(f"{args.task}: {type(model).__name__} from {args.model}, {len(texts)} dev rows: max |transformers - "
          f"mtdnn-predict| = {diff:.2e} (tolerance {args.tol:g}); same class on {agree:.1%}")
    if diff > args.tol:
        sys.exit("FAIL: the scores differ beyond the tolerance")


def save(args):
    torch.manual_seed(args.seed)
    kwargs = {} if args.num_labels is None else {"num_labels": args.num_labels}
    if args.num_labels == 1:
        kwargs["problem_type"] = "regression"
    model = BertForSequenceClassification.from_pretrained(getattr(args, "from"), **kwargs)
    model.save_pretrained(args.out)
    AutoTokenizer.from_pretrained(getattr(args, "from")).save_pretrained(args.out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("compare")
    c.add_argument("--model", required=True)
    c.add_argument("--glue", required=True)
    c.add_argument("--task", required=True, choices=sorted(DEV))
    c.add_argument("--scores", required=True)
    c.add_argument("--rows", type=int, default=200)
    c.add_argument("--max-len", type=int, default=128)
    c.add_argument("--tol", type=float, default=1e-4)
    s = sub.add_parser("save")
    s.add_argument("--from", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--num-labels", type=int)
    s.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(2)
    compare(args) if args.command == "compare" else save(args)


if __name__ == "__main__":
    main()
