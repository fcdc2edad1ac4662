#!/usr/bin/env python3
"""Peer reference: MT-DNN training steps in PyTorch eager, as a user would otherwise run them.

BERT-style post-LayerNorm encoder, one head per task, AdamW, global-norm clipping, one task
per mini-batch, padding to the longest row of the batch. Prints throughput as
  steps/s S tokens/s T sequences/s Q padded_tokens/s P
where tokens are real (non-pad) tokens. Run with Debian's python3-torch.

--device cuda [--bf16]: the same steps on the GPU (batches made on the host and copied, as a data
loader does), optionally under torch.autocast(bf16); timings synchronise the device. (This is the
repository's copy of the peer script, with this mode and the warm-up time added; the workload is
unchanged.)

--compile (torch 2.x): the encoder under torch.compile (mode "default", dynamic shapes). The
warm-up steps (--warmup, default 3) hold the compilation; the printed line ends with warmup_s W,
their seconds, and the step rate is of the timed steps only.

--pretrain: BERT pretraining steps instead (masked LM + next sentence, as Hugging Face's
BertForPreTraining computes them): sequences of --seq tokens, 10% of them shorter (BERT's
short_seq_prob), 15% of the real tokens masked (at most --max-predictions), MLM transform +
decoder tied to the word embeddings, NSP on the pooled vector. --mlm-positions all scores every
position as Hugging Face does; masked gathers the masked positions first (NVIDIA's BERT).
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
p.add_argument("--warmup", type=int, default=3, help="untimed steps first")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--pretrain", action="store_true", help="MLM + NSP pretraining steps")
p.add_argument("--max-predictions", type=int, default=20, help="--pretrain: masked tokens per sequence at most")
p.add_argument("--mlm-positions", choices=["all", "masked"], default="all",
               help="--pretrain: decoder over every position (Hugging Face) or the masked ones only (NVIDIA)")
p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
               help="where the model and the batches live (cuda: the GPU peer of mtdnn-bench-gpu-torch)")
p.add_argument("--bf16", action="store_true",
               help="torch.autocast to bf16 around forward and loss (fp32 weights and AdamW), as AMP users do")
p.add_argument("--compile", action="store_true",
               help="torch 2.x: run the encoder under torch.compile (compile time falls in the warm-up steps)")
p.add_argument("--blas-threads", type=int, default=0,
               help="OpenBLAS threads (0 = its default); 1 avoids OpenBLAS and OpenMP threads competing")
a = p.parse_args()
if a.pretrain and (a.device != "cpu" or a.bf16):
    p.error("--pretrain runs on the CPU in fp32 only")
if a.blas_threads:
    os.environ["OPENBLAS_NUM_THREADS"] = str(a.blas_threads)  # must be set before torch loads OpenBLAS
import torch, torch.nn as nn, torch.nn.functional as F
torch.manual_seed(a.seed)
random.seed(a.seed)
torch.set_num_threads(a.threads)

# Task name -> number of classes (1 = regression). Unknown tasks default to 2 classes.
N_CLASS = {"STS-B": 1, "MNLI": 3}


class Bert(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(a.vocab, a.hidden)
        self.pos = nn.Embedding(512, a.hidden)
        self.seg = nn.Embedding(2, a.hidden)
        self.ln = nn.LayerNorm(a.hidden, eps=1e-12)
        self.drop = nn.Dropout(0.1)
        layer = nn.TransformerEncoderLayer(a.hidden, a.heads, a.intermediate, 0.1,
                                           activation="gelu", batch_first=True)
        self.enc = nn.TransformerEncoder(layer, a.layers, enable_nested_tensor=False)
        self.pool = nn.Linear(a.hidden, a.hidden)

    def forward(self, ids, segs, mask):  # ids, segs, mask: (B, T)
        x = self.tok(ids) + self.pos(torch.arange(ids.shape[1], device=ids.device))[None] + self.seg(segs)
        h = self.enc(self.drop(self.ln(x)), src_key_padding_mask=~mask)  # (B, T, H)
        return torch.tanh(self.pool(h[:, 0]))  # (B, H)


class PretrainHeads(nn.Module):
    """BERT's pretraining heads: MLM transform + tied decoder with its own bias, NSP classifier."""
    def __init__(self, word_embeddings):
        super().__init__()
        self.transform = nn.Linear(a.hidden, a.hidden)
        self.ln = nn.LayerNorm(a.hidden, eps=1e-12)
        self.word = word_embeddings                      # (V, H), tied
        self.bias = nn.Parameter(torch.zeros(a.vocab))
        self.nsp = nn.Linear(a.hidden, 2)

    def mlm_logits(self, h):  # h: (N, H) -> (N, V)
        return F.linear(self.ln(F.gelu(self.transform(h))), self.word.weight, self.bias)


def compiled(m):
    if not a.compile:
        return m
    if not hasattr(torch, "compile"):
        raise SystemExit("--compile needs torch 2.x (this is torch %s)" % torch.__version__)
    m.enc = torch.compile(m.enc, dynamic=True)
    return m


def pretrain_step(bert, heads, opt, params):
    B, T = a.batch, a.seq
    ls = [T if random.random() >= 0.1 else random.randint(8, T) for _ in range(B)]
    mask = torch.arange(T)[None] < torch.tensor(ls)[:, None]                      # (B, T)
    ids = torch.randint(1000, a.vocab, (B, T)) * mask
    segs = (torch.arange(T)[None] >= (torch.tensor(ls) // 2)[:, None]).long() * mask
    labels = torch.full((B, T), -100, dtype=torch.long)
    for b, n in enumerate(ls):
        k = min(a.max_predictions, max(1, round(0.15 * (n - 3))))
        pos = torch.randperm(n - 2)[:k] + 1                                       # never [CLS] or the last [SEP]
        labels[b, pos] = ids[b, pos]
        ids[b, pos] = 103                                                         # [MASK] (80/10/10 costs the same)
    h = bert.enc(bert.drop(bert.ln(bert.tok(ids) + bert.pos(torch.arange(T))[None] + bert.seg(segs))),
                 src_key_padding_mask=~mask)                                      # (B, T, H)
    pooled = torch.tanh(bert.pool(h[:, 0]))
    if a.mlm_positions == "all":
        mlm = F.cross_entropy(heads.mlm_logits(h).view(B * T, a.vocab), labels.view(-1), ignore_index=-100)
    else:
        sel = labels.view(-1) != -100
        mlm = F.cross_entropy(heads.mlm_logits(h.reshape(B * T, a.hidden)[sel]), labels.view(-1)[sel])
    loss = mlm + F.cross_entropy(heads.nsp(pooled), torch.randint(2, (B,)))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    return sum(ls), B * T, B


if a.pretrain:
    bert = compiled(Bert())
    heads = PretrainHeads(bert.tok)
    params = list(bert.parameters()) + [q for n, q in heads.named_parameters() if not n.startswith("word.")]
    opt = torch.optim.AdamW(params, lr=1e-4)
    w0 = time.perf_counter()
    for k in range(a.warmup):
        pretrain_step(bert, heads, opt, params)
    t0 = time.perf_counter()
    real = padded = seqs = 0
    for k in range(a.steps):
        r, pd, b = pretrain_step(bert, heads, opt, params)
        real, padded, seqs = real + r, padded + pd, seqs + b
    dt = time.perf_counter() - t0
    print(f"steps/s {a.steps / dt:.3f} tokens/s {real / dt:.0f} sequences/s {seqs / dt:.1f} "
          f"padded_tokens/s {padded / dt:.0f} warmup_s {t0 - w0:.1f}")
    raise SystemExit(0)

# Workload: per task, a list of row lengths; batches are contiguous runs of rows of one task.
if a.lengths:
    tasks = {f[:-4]: [int(x) for x in open(os.path.join(a.lengths, f))]
             for f in sorted(os.listdir(a.lengths)) if f.endswith(".txt")}
else:
    tasks = {"fixed": [a.seq] * (a.batch * 64)}
batches = [(t, i) for t, ls in tasks.items() for i in range(0, len(ls), a.batch)]
random.shuffle(batches)  # mt-dnn default mix: every batch of every task once, shuffled

dev = torch.device(a.device)
bert = compiled(Bert()).to(dev)
heads = nn.ModuleDict({t.replace("-", "_"): nn.Linear(a.hidden, N_CLASS.get(t, 2)) for t in tasks}).to(dev)
params = list(bert.parameters()) + list(heads.parameters())
opt = torch.optim.AdamW(params, lr=5e-5)


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()


def step(k):
    task, start = batches[k % len(batches)]
    ls = tasks[task][start:start + a.batch]
    B, T = len(ls), max(ls)
    mask = torch.arange(T)[None] < torch.tensor(ls)[:, None]  # (B, T)
    ids = torch.randint(1000, a.vocab, (B, T)) * mask
    ids, mask = ids.to(dev, non_blocking=True), mask.to(dev, non_blocking=True)
    with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=a.bf16):
        out = heads[task.replace("-", "_")](F.dropout(bert(ids, torch.zeros_like(ids), mask), 0.1, True))
    out = out.float()
    if out.shape[1] == 1:
        loss = F.mse_loss(out.squeeze(-1), (torch.rand(B) * 5).to(dev))
    else:
        loss = F.cross_entropy(out, torch.randint(out.shape[1], (B,)).to(dev))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    return sum(ls), B * T, B


w0 = time.perf_counter()
for k in range(a.warmup):
    step(k)
sync()
t0 = time.perf_counter()
real = padded = seqs = 0
for k in range(a.warmup, a.warmup + a.steps):
    r, pd, b = step(k)
    real, padded, seqs = real + r, padded + pd, seqs + b
sync()
dt = time.perf_counter() - t0
print(f"steps/s {a.steps / dt:.3f} tokens/s {real / dt:.0f} sequences/s {seqs / dt:.1f} "
      f"padded_tokens/s {padded / dt:.0f} warmup_s {t0 - w0:.1f}")
