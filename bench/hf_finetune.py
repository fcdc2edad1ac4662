#!/usr/bin/env python3
"""Hugging Face side of scripts/compare-hf-finetune.sh: fine-tunes a pretrained BERT folder on
one GLUE task with a plain PyTorch loop set up as mtdnn-train's AdamW run is, evaluates the dev
split and prints one JSON line (metrics x100, steps, seconds). Every setting is listed in
docs/finetune-comparison.md; the numbered comments below name the mtdnn-train behaviour each
line matches.

  scripts/venv-python bench/hf_finetune.py --task rte --glue GLUE_DIR --encoder DIR --seed 1
      [--lr 1e-4] [--epochs 3] [--max-steps 0] [--batch-size 32] [--max-seq-len 128]
      [--warmup 0.1] [--weight-decay 0.01] [--eps 1e-6] [--grad-clip 1] [--threads 2]
      [--t0 EPOCH_SECONDS] [--check-shards DATA_DIR] [--save DIR]

--t0: the wall clock (time.time()) at which the caller launched this process; "seconds" is then
measured from it (interpreter start and imports included), else from this file's first line.
--check-shards: after the timed part, compares this side's token ids, token types and labels of
train and dev with mtdnn-preprocess's shards of the task (DATA_DIR/<task>/) and exits 1 on any
difference, so both sides provably learn from the same examples.
"""
import time

_START = time.time()

import argparse
import json
import math
import os
import sys

# GLUE's files exactly as preprocess/glue_source.cc reads them: (folder, header?, premise,
# hypothesis, label); without a header, columns are 0-based positions. Labels: the task's
# `labels` list of tasks/glue-linear.yml (RTE), else the class id written in the file, or
# STS-B's float score.
GLUE = {
    "cola": ("CoLA", False, 3, None, 1),
    "sst": ("SST-2", True, "sentence", None, "label"),
    "mrpc": ("MRPC", True, "#1 String", "#2 String", "Quality"),
    "stsb": ("STS-B", True, "sentence1", "sentence2", "score"),
    "rte": ("RTE", True, "sentence1", "sentence2", "label"),
}
LABEL_NAMES = {"rte": ["not_entailment", "entailment"]}
METRICS = {"cola": ["ACC", "MCC"], "sst": ["ACC"], "mrpc": ["ACC", "F1"], "stsb": ["Pearson", "Spearman"],
           "rte": ["ACC"]}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", required=True, choices=sorted(GLUE))
    p.add_argument("--glue", required=True, help="folder with CoLA/, SST-2/, ...")
    p.add_argument("--encoder", required=True, help="Hugging Face BERT folder")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--max-steps", type=int, default=0, help="0: no cap")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--eval-batch-size", type=int, default=64)
    p.add_argument("--max-seq-len", type=int, default=128)
    p.add_argument("--warmup", type=float, default=0.1)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--eps", type=float, default=1e-6)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--dropout", type=float, default=0.1, help="classifier dropout")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--t0", type=float, default=None)
    p.add_argument("--check-shards", default=None)
    p.add_argument("--save", default=None, help="write the fine-tuned model here (save_pretrained)")
    return p.parse_args()


def read_split(glue_dir, task, split):
    """(premises, hypotheses or None, labels) of a GLUE file: plain TSV, no quoting, BOM and
    '\\r' dropped, a last line without '\\n' kept (as preprocess/tsv_reader.h)."""
    folder, header, a_col, b_col, y_col = GLUE[task]
    path = os.path.join(glue_dir, folder, f"{split}.tsv")
    with open(path, encoding="utf-8-sig", newline="") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    rows = [line.rstrip("\r").split("\t") for line in lines]
    if header:
        names = rows.pop(0)
        a_col, y_col = names.index(a_col), names.index(y_col)
        b_col = names.index(b_col) if b_col else None
    width = len(names) if header else 4  # CoLA's headerless files: source, label, mark, sentence
    for i, r in enumerate(rows):
        if len(r) != width:
            sys.exit(f"hf_finetune: {path}:{i + 1 + header}: {len(r)} columns, expected {width}")
    premises = [r[a_col] for r in rows]
    hypotheses = [r[b_col] for r in rows] if b_col is not None else None
    if task == "stsb":
        labels = [float(r[y_col]) for r in rows]
    elif task in LABEL_NAMES:
        labels = [LABEL_NAMES[task].index(r[y_col]) for r in rows]
    else:
        labels = [int(r[y_col]) for r in rows]
    return premises, hypotheses, labels


def encode(tokenizer, premises, hypotheses, max_len):
    # Pairs truncated longest-first to max_len tokens including [CLS] and [SEP]s, as mtdnn-preprocess.
    enc = tokenizer(premises, hypotheses, truncation="longest_first", max_length=max_len)
    return enc["input_ids"], enc["token_type_ids"]


def collate(torch, ids, types, labels, index, regression):
    """One batch padded to its longest example: (B, T) ids, types, mask and (B,) labels."""
    longest = max(len(ids[i]) for i in index)
    x = torch.zeros(len(index), longest, dtype=torch.long)
    tt = torch.zeros_like(x)
    mask = torch.zeros_like(x)
    for row, i in enumerate(index):
        n = len(ids[i])
        x[row, :n] = torch.tensor(ids[i])
        tt[row, :n] = torch.tensor(types[i])
        mask[row, :n] = 1
    y = torch.tensor([labels[i] for i in index], dtype=torch.float if regression else torch.long)
    return x, tt, mask, y


def metrics_of(task, predictions, labels):
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef
    out = {}
    for name in METRICS[task]:
        if name == "ACC":
            v = accuracy_score(labels, predictions)
        elif name == "MCC":
            v = matthews_corrcoef(labels, predictions)
        elif name == "F1":
            v = f1_score(labels, predictions)
        elif name == "Pearson":
            v = pearsonr(predictions, labels)[0]
        else:
            v = spearmanr(predictions, labels)[0]
        out[name] = 100.0 * float(v)
    return out


def check_shards(data_dir, task, split, ids, types, labels):
    """Differences between this side's examples and mtdnn-preprocess's shards (a list of lines)."""
    import h5py
    import numpy as np
    task_dir = os.path.join(data_dir, task)
    with open(os.path.join(task_dir, "manifest.json")) as f:
        manifest = json.load(f)
    entry = next((s for s in manifest["splits"] if s["split"] == split), None)
    if entry is None:
        return [f"{task_dir}/manifest.json has no split '{split}'"]
    m_ids, m_types, m_labels = [], [], []
    for shard in entry["shards"]:
        with h5py.File(os.path.join(task_dir, shard["file"]), "r") as h:
            tok, off, tb, lab = h["token_ids"][:], h["offsets"][:], h["type_boundary"][:], h["labels"][:]
        for i in range(len(off) - 1):
            row = tok[off[i]:off[i + 1]].astype(np.int64).tolist()
            m_ids.append(row)
            m_types.append([0] * int(tb[i]) + [1] * (len(row) - int(tb[i])))
        m_labels.extend(lab.tolist())
    problems = []
    if len(m_ids) != len(ids):
        return [f"{task}/{split}: {len(ids)} examples here, {len(m_ids)} in the shards"]
    bad_ids = [i for i in range(len(ids)) if ids[i] != m_ids[i]]
    bad_types = [i for i in range(len(ids)) if types[i] != m_types[i]]
    bad_labels = [i for i in range(len(ids)) if abs(float(labels[i]) - float(m_labels[i])) > 1e-6]
    for what, bad in (("token ids", bad_ids), ("token types", bad_types), ("labels", bad_labels)):
        if bad:
            problems.append(f"{task}/{split}: {len(bad)} examples differ in {what} (first: example {bad[0]})")
    return problems


def main():
    a = parse_args()
    t0 = a.t0 if a.t0 is not None else _START
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder; never the hub
    import numpy as np
    import torch
    import transformers
    from transformers import AutoTokenizer, BertForSequenceClassification

    torch.set_num_threads(a.threads)
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    regression = a.task == "stsb"

    # 1. Data: the same rows and labels as mtdnn-preprocess, tokenized by the folder's tokenizer.
    tokenizer = AutoTokenizer.from_pretrained(a.encoder)
    train_a, train_b, train_y = read_split(a.glue, a.task, "train")
    dev_a, dev_b, dev_y = read_split(a.glue, a.task, "dev")
    train_ids, train_types = encode(tokenizer, train_a, train_b, a.max_seq_len)
    dev_ids, dev_types = encode(tokenizer, dev_a, dev_b, a.max_seq_len)

    # 2. Steps as mtdnn-train plans them (orchestrator/run_inputs.cc): ceil(n / B) batches per
    # epoch, capped by --max-steps; warm-up = llround(warmup x total), half away from zero.
    n = len(train_ids)
    per_epoch = math.ceil(n / a.batch_size)
    total = per_epoch * a.epochs
    if a.max_steps > 0:
        total = min(total, a.max_steps)
    warmup = int(math.floor(a.warmup * total + 0.5))

    # 3. Model: the encoder's weights, a fresh linear head on the pooled [CLS] (normal(0, 0.02),
    # drawn after the seed), dropout 0.1 before it; MSE on one output for STS-B.
    torch.manual_seed(a.seed)
    model = BertForSequenceClassification.from_pretrained(
        a.encoder, num_labels=1 if regression else 2, classifier_dropout=a.dropout,
        problem_type="regression" if regression else "single_label_classification", attn_implementation="sdpa")
    model.train()

    # 4. AdamW with decoupled weight decay on all but biases and LayerNorm weights, bias
    # correction, eps 1e-6 (worker/optimizer.cc weight_decay_applies).
    decay = [p for name, p in model.named_parameters() if not (name.endswith("bias") or "LayerNorm" in name)]
    no_decay = [p for name, p in model.named_parameters() if name.endswith("bias") or "LayerNorm" in name]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=a.lr, betas=(0.9, 0.999), eps=a.eps)

    # 5. mtdnn's linear schedule (worker/optimizer.cc LrSchedule::at), step s from 0:
    # s < W: lr (s + 1) / W; else lr (T - s) / (T - W). It is transformers'
    # get_linear_schedule_with_warmup except that the warm-up counts from 1, so the first step
    # is not taken at lr 0 (with W = 0 the two are identical).
    def factor(s):
        if s < warmup:
            return (s + 1) / warmup
        return max(0, total - s) / max(1, total - warmup)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)

    # 6. Training: each epoch a fresh random order from a generator seeded once by the seed,
    # batches of B padded to their longest example, global grad-norm clip, one step per batch.
    generator = torch.Generator().manual_seed(a.seed)
    train_start = time.time()
    step, real_tokens, loss_sum = 0, 0, 0.0
    while step < total:
        order = torch.randperm(n, generator=generator).tolist()
        for k in range(0, n, a.batch_size):
            if step >= total:
                break
            x, tt, mask, y = collate(torch, train_ids, train_types, train_y, order[k:k + a.batch_size], regression)
            loss = model(input_ids=x, token_type_ids=tt, attention_mask=mask, labels=y).loss
            loss.backward()
            if a.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), a.grad_clip)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            real_tokens += int(mask.sum())
            loss_sum += float(loss.detach())
    train_seconds = time.time() - train_start

    # 7. Dev evaluation in batches of 64, metrics computed by scikit-learn / scipy, x100.
    model.eval()
    outputs = []
    with torch.inference_mode():
        for k in range(0, len(dev_ids), a.eval_batch_size):
            index = list(range(k, min(k + a.eval_batch_size, len(dev_ids))))
            x, tt, mask, _ = collate(torch, dev_ids, dev_types, dev_y, index, regression)
            logits = model(input_ids=x, token_type_ids=tt, attention_mask=mask).logits
            outputs.append(logits[:, 0] if regression else logits.argmax(dim=1))
    predictions = torch.cat(outputs).numpy()
    metrics = metrics_of(a.task, predictions.astype(np.float64) if regression else predictions, np.array(dev_y))
    if a.save:
        model.save_pretrained(a.save)
    seconds = time.time() - t0  # the end of the timed part

    problems = []
    if a.check_shards:
        problems = (check_shards(a.check_shards, a.task, "train", train_ids, train_types, train_y)
                    + check_shards(a.check_shards, a.task, "dev", dev_ids, dev_types, dev_y))
    print(json.dumps({"side": "hf", "task": a.task, "seed": a.seed, "steps": step, "warmup": warmup,
                      "train_examples": n, "dev_examples": len(dev_ids), "metrics": metrics,
                      "seconds": round(seconds, 3), "train_seconds": round(train_seconds, 3),
                      "real_tokens_per_s": round(real_tokens / max(train_seconds, 1e-9), 1),
                      "mean_loss": loss_sum / max(step, 1), "threads": torch.get_num_threads(),
                      "shards_checked": bool(a.check_shards) and not problems,
                      "transformers": transformers.__version__, "torch": torch.__version__}))
    for line in problems:
        print(f"hf_finetune: {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
