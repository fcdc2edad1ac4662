#!/usr/bin/env python3
"""Hugging Face peer: the steps of bench/ref_mtdnn.py, with the transformers library's BERT.

The same workloads as ref_mtdnn.py, built from Hugging Face's classes as a user of that library
would write them, attention through scaled_dot_product_attention (attn_implementation="sdpa"):

- fine-tuning steps (default): BertModel and, per task, BertForSequenceClassification's head
  (dropout 0.1 and a linear layer on the pooled [CLS] vector; MSE for a 1-output task, cross
  entropy otherwise), AdamW, global-norm clipping at 1.0, one task per mini-batch padded to its
  longest row. --lengths draws real GLUE batches as ref_mtdnn.py does; else every row is --seq
  tokens long.
- --pretrain: BertForPreTraining, masked LM + next sentence, on ref_mtdnn.py's sequences.
  --mlm-positions all passes the labels to the model, which scores every position;
  masked runs model.bert, gathers the masked positions and scores only those with model.cls.

--compile MODE puts the model under torch.compile(mode=MODE) (dynamic shapes with --lengths or
--pretrain, static otherwise). The 3 untimed warm-up steps hold the compilation; the printed
line is ref_mtdnn.py's,
  steps/s S tokens/s T sequences/s Q padded_tokens/s P warmup_s W
where tokens are real (non-pad) tokens and W the warm-up's seconds.
"""
import argparse, os, random, time

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--layers", type=int, default=4)
p.add_argument("--hidden", type=int, default=256)
p.add_argument("--heads", type=int, default=4)
p.add_argument("--intermediate", type=int, default=1024)
p.add_argument("--vocab", type=int, default=30522)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--seq", type=int, default=128, help="fixed length when --lengths is not given")
p.add_argument("--lengths", default="", help="folder of <TASK>.txt token-length files: real GLUE batches")
p.add_argument("--steps", type=int, default=20, help="timed steps (after --warmup steps)")
p.add_argument("--warmup", type=int, default=3, help="untimed steps first (they hold the compilation)")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--pretrain", action="store_true", help="MLM + NSP pretraining steps (BertForPreTraining)")
p.add_argument("--max-predictions", type=int, default=20, help="--pretrain: masked tokens per sequence at most")
p.add_argument("--mlm-positions", choices=["all", "masked"], default="all",
               help="--pretrain: the model's own loss over every position, or the masked positions only")
p.add_argument("--compile", default="", metavar="MODE",
               help="torch.compile mode (default, reduce-overhead, max-autotune); empty: eager")
a = p.parse_args()

import torch, torch.nn as nn, torch.nn.functional as F
from transformers import BertConfig, BertForPreTraining, BertModel

torch.manual_seed(a.seed)
random.seed(a.seed)
torch.set_num_threads(a.threads)

# Task name -> number of classes (1 = regression), as ref_mtdnn.py. Unknown tasks: 2 classes.
N_CLASS = {"STS-B": 1, "MNLI": 3}
config = BertConfig(vocab_size=a.vocab, hidden_size=a.hidden, num_hidden_layers=a.layers,
                    num_attention_heads=a.heads, intermediate_size=a.intermediate,
                    max_position_embeddings=512, attn_implementation="sdpa")
dynamic = bool(a.lengths) or a.pretrain


def compiled(m):
    return torch.compile(m, mode=a.compile, dynamic=dynamic) if a.compile else m


def pretrain_batch():
    """ref_mtdnn.py's pretraining sequences: ids, segments, mask, MLM labels (-100: not scored)."""
    B, T = a.batch, a.seq
    ls = [T if random.random() >= 0.1 else random.randint(8, T) for _ in range(B)]
    mask = torch.arange(T)[None] < torch.tensor(ls)[:, None]
    ids = torch.randint(1000, a.vocab, (B, T)) * mask
    segs = (torch.arange(T)[None] >= (torch.tensor(ls) // 2)[:, None]).long() * mask
    labels = torch.full((B, T), -100, dtype=torch.long)
    for b, n in enumerate(ls):
        k = min(a.max_predictions, max(1, round(0.15 * (n - 3))))
        pos = torch.randperm(n - 2)[:k] + 1
        labels[b, pos] = ids[b, pos]
        ids[b, pos] = 103
    return ls, ids, segs, mask, labels


if a.pretrain:
    model = BertForPreTraining(config)
    run = compiled(model)
    encoder = compiled(model.bert)

    def loss_of(ls, ids, segs, mask, labels):
        nsp = torch.randint(2, (len(ls),))
        if a.mlm_positions == "all":
            return run(input_ids=ids, token_type_ids=segs, attention_mask=mask.long(),
                       labels=labels, next_sentence_label=nsp).loss
        out = encoder(input_ids=ids, token_type_ids=segs, attention_mask=mask.long())
        sel = labels.view(-1) != -100
        h = out.last_hidden_state.reshape(-1, a.hidden)[sel]
        mlm = F.cross_entropy(model.cls.predictions(h), labels.view(-1)[sel])
        return mlm + F.cross_entropy(model.cls.seq_relationship(out.pooler_output), nsp)

    def make_step(k):
        ls, *batch = pretrain_batch()
        return ls, a.seq, lambda: loss_of(ls, *batch)

    params = list(model.parameters())
    lr = 1e-4
else:
    if a.lengths:
        tasks = {f[:-4]: [int(x) for x in open(os.path.join(a.lengths, f))]
                 for f in sorted(os.listdir(a.lengths)) if f.endswith(".txt")}
    else:
        tasks = {"fixed": [a.seq] * (a.batch * 64)}
    batches = [(t, i) for t, ls in tasks.items() for i in range(0, len(ls), a.batch)]
    random.shuffle(batches)  # every batch of every task once, shuffled (ref_mtdnn.py's mix)
    encoder = compiled(BertModel(config))
    heads = nn.ModuleDict({t.replace("-", "_"): nn.Linear(a.hidden, N_CLASS.get(t, 2)) for t in tasks})

    def loss_of(task, ls):
        B, T = len(ls), max(ls)
        mask = torch.arange(T)[None] < torch.tensor(ls)[:, None]
        ids = torch.randint(1000, a.vocab, (B, T)) * mask
        pooled = encoder(input_ids=ids, attention_mask=mask.long()).pooler_output
        out = heads[task.replace("-", "_")](F.dropout(pooled, config.hidden_dropout_prob, True))
        if out.shape[1] == 1:
            return F.mse_loss(out.squeeze(-1), torch.rand(B) * 5)
        return F.cross_entropy(out, torch.randint(out.shape[1], (B,)))

    def make_step(k):
        task, start = batches[k % len(batches)]
        ls = tasks[task][start:start + a.batch]
        return ls, max(ls), lambda: loss_of(task, ls)

    params = list(encoder.parameters()) + list(heads.parameters())
    lr = 5e-5

opt = torch.optim.AdamW(params, lr=lr)


def step(k):
    ls, T, loss = make_step(k)
    opt.zero_grad(set_to_none=True)
    loss().backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    return sum(ls), len(ls) * T, len(ls)


w0 = time.perf_counter()
for k in range(a.warmup):
    step(k)
t0 = time.perf_counter()
real = padded = seqs = 0
for k in range(a.warmup, a.warmup + a.steps):
    r, pd, b = step(k)
    real, padded, seqs = real + r, padded + pd, seqs + b
dt = time.perf_counter() - t0
print(f"steps/s {a.steps / dt:.3f} tokens/s {real / dt:.0f} sequences/s {seqs / dt:.1f} "
      f"padded_tokens/s {padded / dt:.0f} warmup_s {t0 - w0:.1f}")
