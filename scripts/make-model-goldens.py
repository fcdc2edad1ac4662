#!/usr/bin/python3
"""Golden values for the model tests: an independent BERT + MT-DNN heads in plain torch ops.

Regenerate (from the repository root, with Debian's python3-torch):
    /usr/bin/python3 scripts/make-model-goldens.py
It rewrites tests/worker/golden/{tiny,mini}/ (a few hundred KB in all). No Hugging Face
package is used: the encoder is written from the BERT paper's equations (Devlin et al.
2019, with Hugging Face's post-LayerNorm layout and exact GELU) and the heads from the
MT-DNN paper, without sharing any structure with worker/*.cc.

Weights are a pure function of the parameter name and element index (a 32-bit integer
hash, see weight_values), so the C++ tests rebuild the BERT-mini weights instead of
reading 45 MB; the tiny config's encoder is also written as a Hugging Face
model.safetensors + config.json (the round-trip and strict-load tests read it).
Files per config, all safetensors (written by write_safetensors below, the reference
byte layout):
    golden.json          config, tasks (name, kind, n_class), weight source, tolerances
    model.safetensors    tiny only: encoder weights under BertModel keys
    inputs.safetensors   input_ids, token_type_ids, attention_mask (with padding),
                         labels.<task>, group_sizes.rank
    outputs.safetensors  sequence_output, pooled_output, logits.<task>, loss.<task>,
                         mlm_logits_all (tiny), grad.<parameter> of the summed losses
Everything runs in eval mode (no dropout) in float32.
"""
import json
import math
import os
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "worker", "golden")

CONFIGS = {
    "tiny": dict(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=64, max_position_embeddings=64, type_vocab_size=2,
                 batch=6, seq=12, lengths=[12, 9, 5, 12, 7, 3], groups=[3, 2, 1],
                 mlm_stride=3, grads="all"),
    "mini": dict(vocab_size=30522, hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                 intermediate_size=1024, max_position_embeddings=512, type_vocab_size=2,
                 batch=4, seq=20, lengths=[20, 13, 17, 6], groups=[2, 2], mlm_stride=7,
                 grads=["embeddings.token_type_embeddings.weight",
                        "embeddings.LayerNorm.weight",
                        "encoder.layer.0.attention.self.query.weight",
                        "encoder.layer.1.attention.output.LayerNorm.bias",
                        "encoder.layer.3.intermediate.dense.bias",
                        "encoder.layer.3.output.dense.bias",
                        "pooler.dense.weight",
                        "heads.cls.weight", "heads.san.classifier.weight",
                        "heads.san.rnn.bias_hh", "heads.mlm.transform.dense.bias"]),
}
LAYER_NORM_EPS = 1e-12
SAN_STEPS = 5
# Tasks of the golden model, in task-id order: (name, kind, n_class).
TASKS = [("cls", "classification", 3), ("reg", "regression", 1), ("rank", "ranking", 1),
         ("san", "san", 3), ("mlm", "masked_lm", 0), ("nsp", "next_sentence", 2)]

# ---------------------------------------------------------------- deterministic weights
MASK32 = 0xFFFFFFFF


def mul32(x, c):
    """(x * c) mod 2^32 for int64 tensors holding uint32 values, without int64 overflow."""
    lo, hi = c & 0xFFFF, c >> 16
    return (x * lo + (((x * hi) & 0xFFFF) << 16)) & MASK32


def hash32(x):
    """Chris Wellons' lowbias32 on uint32 values held in int64."""
    x = x ^ (x >> 16)
    x = mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = mul32(x, 0x846CA68B)
    return x ^ (x >> 16)


def fnv1a32(name):
    h = 0x811C9DC5
    for b in name.encode():
        h = ((h ^ b) * 0x01000193) & MASK32
    return h


def weight_values(name, shape):
    """The golden weights: base + scale * u, u in (-1, 1) from a hash of (name, index).

    u = (2 * (h >> 8) + 1) / 2^24 - 1 with h = hash32(hash32(i ^ fnv1a32(name)) ^ 0x9E3779B9);
    (base, scale): LayerNorm weights (1, 0.1); other vectors (0, 0.1); embedding tables
    (0, 1); matrices (0, 1 / sqrt(columns)), the scale rounded to float32.
    """
    n = math.prod(shape)
    i = torch.arange(n, dtype=torch.int64)
    h = hash32(hash32(i ^ fnv1a32(name)) ^ 0x9E3779B9)
    u = ((2 * (h >> 8) + 1).double() / 2.0 ** 24 - 1).float()  # exact in float32
    if name.endswith("LayerNorm.weight"):
        return (torch.tensor(1.0) + torch.tensor(0.1) * u).reshape(shape)
    if len(shape) == 1:
        scale = 0.1
    elif name.endswith("embeddings.weight"):
        scale = 1.0
    else:
        scale = 1.0 / math.sqrt(shape[-1])
    return (torch.tensor(scale, dtype=torch.float32) * u).reshape(shape)


# ---------------------------------------------------------------- safetensors writer
# Dtype order of the reference implementation's enum: data laid out largest rank first.
DTYPES = {torch.bool: ("BOOL", 0), torch.uint8: ("U8", 1), torch.int8: ("I8", 2),
          torch.int16: ("I16", 5), torch.float16: ("F16", 7), torch.bfloat16: ("BF16", 8),
          torch.int32: ("I32", 9), torch.float32: ("F32", 11), torch.float64: ("F64", 12),
          torch.int64: ("I64", 13)}


def write_safetensors(path, tensors, metadata=None):
    items = sorted(tensors.items(), key=lambda kv: (-DTYPES[kv[1].dtype][1], kv[0]))
    header, offset, blobs = {}, 0, []
    if metadata:
        header["__metadata__"] = dict(sorted(metadata.items()))
    for name, t in items:
        data = t.detach().contiguous().numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype][0], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------- the model, from equations
def layer_norm(x, g, b):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + LAYER_NORM_EPS) * g + b


def gelu(x):
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


def dense(x, P, name):
    return x @ P[name + ".weight"].t() + P[name + ".bias"]


def encoder(P, c, ids, types, mask):
    """BERT: E = LN(word + position + segment); L x post-LN Transformer; pooler."""
    B, T = ids.shape
    H, NH = c["hidden_size"], c["num_attention_heads"]
    D = H // NH
    # Embedding lookup as a one-hot product; the [PAD] row (id 0) gets no gradient.
    word = P["embeddings.word_embeddings.weight"]
    word = torch.cat([word[:1].detach(), word[1:]], 0)
    x = torch.nn.functional.one_hot(ids, c["vocab_size"]).float() @ word
    x = x + P["embeddings.position_embeddings.weight"][:T][None]
    x = x + P["embeddings.token_type_embeddings.weight"][types]
    x = layer_norm(x, P["embeddings.LayerNorm.weight"], P["embeddings.LayerNorm.bias"])
    for l in range(c["num_hidden_layers"]):
        p = f"encoder.layer.{l}."
        q = dense(x, P, p + "attention.self.query").reshape(B, T, NH, D).permute(0, 2, 1, 3)
        k = dense(x, P, p + "attention.self.key").reshape(B, T, NH, D).permute(0, 2, 3, 1)
        v = dense(x, P, p + "attention.self.value").reshape(B, T, NH, D).permute(0, 2, 1, 3)
        scores = (q @ k) / math.sqrt(D)  # (B, NH, T, T)
        scores = scores.masked_fill(~mask[:, None, None, :], float("-inf"))
        a = torch.exp(scores - scores.amax(-1, keepdim=True))
        a = a / a.sum(-1, keepdim=True)
        ctx = (a @ v).permute(0, 2, 1, 3).reshape(B, T, H)
        x = layer_norm(dense(ctx, P, p + "attention.output.dense") + x,
                       P[p + "attention.output.LayerNorm.weight"],
                       P[p + "attention.output.LayerNorm.bias"])
        f = dense(gelu(dense(x, P, p + "intermediate.dense")), P, p + "output.dense")
        x = layer_norm(f + x, P[p + "output.LayerNorm.weight"], P[p + "output.LayerNorm.bias"])
    pooled = torch.tanh(dense(x[:, 0], P, "pooler.dense"))
    return x, pooled


def softmax(x, dim):
    e = torch.exp(x - x.amax(dim, keepdim=True))
    return e / e.sum(dim, keepdim=True)


def log_softmax(x, dim):
    m = x.amax(dim, keepdim=True)
    return x - m - torch.log(torch.exp(x - m).sum(dim, keepdim=True))


def cross_entropy(logits, target):
    return -log_softmax(logits, 1)[torch.arange(len(target)), target].mean()


def san(P, seq, mask, types, K):
    """Stochastic answer network in inference mode: average of the K step probabilities."""
    pre = mask & (types == 0)
    hyp = mask & (types == 1)
    hyp = torch.where(hyp.any(1, keepdim=True), hyp, pre)
    h = "heads.san."

    def attend(scores, m):  # softmax over the tokens of m, then weighted sum of seq
        w = softmax(scores.masked_fill(~m, float("-inf")), 1)
        return torch.einsum("bt,bth->bh", w, seq)

    s = attend(dense(seq, P, h + "query_wsum")[..., 0], hyp)
    Hd = seq.shape[-1]
    probs = []
    for t in range(K):
        x = attend(torch.einsum("bth,bh->bt", seq, dense(s, P, h + "attn")), pre)
        feats = torch.cat([x, s, (x - s).abs(), x * s], 1)
        probs.append(softmax(dense(feats, P, h + "classifier"), 1))
        # GRU: r, z, n gates (PyTorch's GRUCell equations and gate order).
        gi = x @ P[h + "rnn.weight_ih"].t() + P[h + "rnn.bias_ih"]
        gh = s @ P[h + "rnn.weight_hh"].t() + P[h + "rnn.bias_hh"]
        r = torch.sigmoid(gi[:, :Hd] + gh[:, :Hd])
        z = torch.sigmoid(gi[:, Hd:2 * Hd] + gh[:, Hd:2 * Hd])
        n = torch.tanh(gi[:, 2 * Hd:] + r * gh[:, 2 * Hd:])
        s = (1 - z) * n + z * s
    return torch.log(torch.stack(probs, 0).mean(0))  # (B, C) log of the mean probability


def head_shapes(c):
    H, V = c["hidden_size"], c["vocab_size"]
    return {"heads.cls.weight": (3, H), "heads.cls.bias": (3,),
            "heads.reg.weight": (1, H), "heads.reg.bias": (1,),
            "heads.rank.weight": (1, H), "heads.rank.bias": (1,),
            "heads.san.query_wsum.weight": (1, H), "heads.san.query_wsum.bias": (1,),
            "heads.san.attn.weight": (H, H), "heads.san.attn.bias": (H,),
            "heads.san.rnn.weight_ih": (3 * H, H), "heads.san.rnn.weight_hh": (3 * H, H),
            "heads.san.rnn.bias_ih": (3 * H,), "heads.san.rnn.bias_hh": (3 * H,),
            "heads.san.classifier.weight": (3, 4 * H), "heads.san.classifier.bias": (3,),
            "heads.mlm.transform.dense.weight": (H, H), "heads.mlm.transform.dense.bias": (H,),
            "heads.mlm.transform.LayerNorm.weight": (H,), "heads.mlm.transform.LayerNorm.bias": (H,),
            "heads.mlm.bias": (V,),
            "heads.nsp.weight": (2, H), "heads.nsp.bias": (2,)}


def encoder_shapes(c):
    H, I = c["hidden_size"], c["intermediate_size"]
    s = {"embeddings.word_embeddings.weight": (c["vocab_size"], H),
         "embeddings.position_embeddings.weight": (c["max_position_embeddings"], H),
         "embeddings.token_type_embeddings.weight": (c["type_vocab_size"], H),
         "embeddings.LayerNorm.weight": (H,), "embeddings.LayerNorm.bias": (H,),
         "pooler.dense.weight": (H, H), "pooler.dense.bias": (H,)}
    for l in range(c["num_hidden_layers"]):
        p = f"encoder.layer.{l}."
        for m in ("attention.self.query", "attention.self.key", "attention.self.value",
                  "attention.output.dense"):
            s[p + m + ".weight"], s[p + m + ".bias"] = (H, H), (H,)
        s[p + "intermediate.dense.weight"], s[p + "intermediate.dense.bias"] = (I, H), (I,)
        s[p + "output.dense.weight"], s[p + "output.dense.bias"] = (H, I), (H,)
        for m in ("attention.output.LayerNorm", "output.LayerNorm"):
            s[p + m + ".weight"], s[p + m + ".bias"] = (H,), (H,)
    return s


def make_inputs(c, gen):
    B, T = c["batch"], c["seq"]
    ids = torch.zeros(B, T, dtype=torch.int64)
    types = torch.zeros(B, T, dtype=torch.int64)
    mask = torch.zeros(B, T, dtype=torch.int64)
    for b, n in enumerate(c["lengths"]):
        ids[b, :n] = torch.randint(5, c["vocab_size"], (n,), generator=gen)
        ids[b, 0], ids[b, n - 1] = 2, 3  # [CLS] ... [SEP]
        a = max(2, n // 2)  # [CLS] A [SEP] has type 0, B [SEP] type 1 (row 5: A only)
        ids[b, a - 1] = 3
        if b != len(c["lengths"]) - 1:
            types[b, a:n] = 1
        mask[b, :n] = 1
    groups = torch.tensor(c["groups"], dtype=torch.int64)
    mlm = torch.full((B, T), -100, dtype=torch.int64)
    for b, n in enumerate(c["lengths"]):
        for t in range(1, n - 1, c["mlm_stride"]):
            mlm[b, t] = int(torch.randint(0, c["vocab_size"], (1,), generator=gen))
    labels = {"cls": torch.randint(0, 3, (B,), generator=gen),
              "reg": torch.rand(B, generator=gen) * 5,
              "rank": torch.tensor([int(torch.randint(0, int(g), (1,), generator=gen))
                                    for g in c["groups"]]),
              "san": torch.randint(0, 3, (B,), generator=gen),
              "mlm": mlm,
              "nsp": torch.randint(0, 2, (B,), generator=gen)}
    return ids, types, mask, groups, labels


def run(name, c):
    out_dir = os.path.join(OUT, name)
    os.makedirs(out_dir, exist_ok=True)
    gen = torch.Generator().manual_seed(1234)
    shapes = {**encoder_shapes(c), **head_shapes(c)}
    P = {k: weight_values(k, s).requires_grad_() for k, s in shapes.items()}
    ids, types, mask, groups, labels = make_inputs(c, gen)
    m = mask.bool()

    seq, pooled = encoder(P, c, ids, types, m)
    out = {"sequence_output": seq, "pooled_output": pooled}
    logits, losses = {}, {}
    logits["cls"] = dense(pooled, P, "heads.cls")
    losses["cls"] = cross_entropy(logits["cls"], labels["cls"])
    logits["reg"] = dense(pooled, P, "heads.reg")[:, 0]
    losses["reg"] = ((logits["reg"] - labels["reg"]) ** 2).mean()
    logits["rank"] = dense(pooled, P, "heads.rank")[:, 0]
    rank_terms, start = [], 0
    for g, lab in zip(c["groups"], labels["rank"].tolist()):
        rank_terms.append(-log_softmax(logits["rank"][start:start + g], 0)[lab])
        start += g
    losses["rank"] = torch.stack(rank_terms).mean()
    logits["san"] = san(P, seq, m, types, SAN_STEPS)
    losses["san"] = -logits["san"][torch.arange(len(ids)), labels["san"]].mean()
    # MLM: transform (dense, GELU, LayerNorm) and the decoder tied to the word embeddings.
    t = gelu(dense(seq, P, "heads.mlm.transform.dense"))
    t = layer_norm(t, P["heads.mlm.transform.LayerNorm.weight"],
                   P["heads.mlm.transform.LayerNorm.bias"])
    all_logits = t @ P["embeddings.word_embeddings.weight"].t() + P["heads.mlm.bias"]
    sel = labels["mlm"].reshape(-1) != -100
    logits["mlm"] = all_logits.reshape(-1, c["vocab_size"])[sel]
    losses["mlm"] = cross_entropy(logits["mlm"], labels["mlm"].reshape(-1)[sel])
    logits["nsp"] = dense(pooled, P, "heads.nsp")
    losses["nsp"] = cross_entropy(logits["nsp"], labels["nsp"])

    sum(losses.values()).backward()
    for k in logits:
        out["logits." + k] = logits[k]
        out["loss." + k] = losses[k].reshape(())
    if name == "tiny":
        out["mlm_logits_all"] = all_logits
    grad_names = sorted(P) if c["grads"] == "all" else c["grads"]
    for k in grad_names:
        out["grad." + k] = P[k].grad
    out = {k: v.detach().float() for k, v in out.items()}

    inputs = {"input_ids": ids, "token_type_ids": types, "attention_mask": mask,
              "group_sizes.rank": groups}
    for k, v in labels.items():
        inputs["labels." + k] = v
    write_safetensors(os.path.join(out_dir, "inputs.safetensors"), inputs)
    write_safetensors(os.path.join(out_dir, "outputs.safetensors"), out)
    config = {k: c[k] for k in ("vocab_size", "hidden_size", "num_hidden_layers",
                                "num_attention_heads", "intermediate_size",
                                "max_position_embeddings", "type_vocab_size")}
    config.update(hidden_act="gelu", layer_norm_eps=LAYER_NORM_EPS, model_type="bert",
                  hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                  initializer_range=0.02, pad_token_id=0)
    if name == "tiny":
        enc = {k: P[k].detach() for k in encoder_shapes(c)}
        write_safetensors(os.path.join(out_dir, "model.safetensors"), enc, {"format": "pt"})
        with open(os.path.join(out_dir, "config.json"), "w") as f:
            json.dump(config, f, indent=2, sort_keys=True)
            f.write("\n")
    golden = {"config": config,
              "weights": "model.safetensors + hash" if name == "tiny" else "hash",
              "tasks": [{"name": n, "kind": k, "n_class": nc} for n, k, nc in TASKS],
              "san_steps": SAN_STEPS}
    with open(os.path.join(out_dir, "golden.json"), "w") as f:
        json.dump(golden, f, indent=2)
        f.write("\n")
    print(f"{name}: wrote {out_dir} ({len(out)} outputs)")


if __name__ == "__main__":
    torch.set_num_threads(1)
    for name in (sys.argv[1:] or CONFIGS):
        run(name, CONFIGS[name])
