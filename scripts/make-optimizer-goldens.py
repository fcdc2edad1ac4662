#!/usr/bin/python3
"""Golden values for tests/worker/optimizer_test.cc, from PyTorch's own optimizers.

Run from the repository root with Debian's python3-torch:
    /usr/bin/python3 scripts/make-optimizer-goldens.py
and paste the printed arrays into the test. Independent of worker/optimizer.cc:
  - AdamW is torch.optim.AdamW (decoupled decay) with two parameter groups, decay 0.01
    on `w`, none on `b` (bias) and `ln` (LayerNorm weight);
  - mt-dnn's Adamax is torch.optim.Adamax without weight decay (its update
    u = max(b2 u, |g| + eps), p -= lr / (1 - b1^t) m / u is mt-dnn's) preceded by the
    decoupled decay p *= 1 - lr wd on the decayed group, as mt-dnn's Adamax does;
  - gradients are clipped by torch.nn.utils.clip_grad_norm_(max_norm=1.0) every step;
  - on step 2 the bias has no gradient (None): PyTorch skips it, step count included.
Parameters and gradients are functions of the element index (see init/grad below), so
the C++ test rebuilds them. Three steps at learning rates 0.1, 0.05, 0.02.
"""
import math

import torch

SHAPES = {"w": (3, 4), "b": (4,), "ln": (4,)}
LRS = [0.1, 0.05, 0.02]


def init(name, i):
    k = {"w": 1, "b": 2, "ln": 3}[name]
    return math.sin(0.7 * i + k) * 0.5


def grad(name, i, step):
    k = {"w": 1, "b": 2, "ln": 3}[name]
    return math.cos(1.3 * i + 0.4 * step + k) * (2.0 if step == 0 else 0.3)


def make_params():
    out = {}
    for name, shape in SHAPES.items():
        n = math.prod(shape)
        out[name] = torch.tensor([init(name, i) for i in range(n)], dtype=torch.float32).reshape(shape)
        out[name].requires_grad_(True)
    return out


def set_grads(params, step):
    for name, p in params.items():
        if name == "b" and step == 1:
            p.grad = None
            continue
        n = p.numel()
        p.grad = torch.tensor([grad(name, i, step) for i in range(n)], dtype=torch.float32).reshape(p.shape)


def run(kind):
    params = make_params()
    decay = [params["w"]]
    no_decay = [params["b"], params["ln"]]
    wd = 0.01
    if kind == "adamw":
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}],
                                lr=LRS[0], betas=(0.9, 0.999), eps=1e-6)
    else:
        opt = torch.optim.Adamax(decay + no_decay, lr=LRS[0], betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0)
    norms = []
    for step, lr in enumerate(LRS):
        set_grads(params, step)
        norms.append(float(torch.nn.utils.clip_grad_norm_([p for p in params.values() if p.grad is not None], 1.0)))
        for g in opt.param_groups:
            g["lr"] = lr
        if kind == "adamax":
            with torch.no_grad():
                for p in decay:
                    p.mul_(1 - lr * wd)
        opt.step()
    return params, norms


def fmt(values):
    return ", ".join(f"{v:.9g}f" for v in values)


for kind in ("adamw", "adamax"):
    params, norms = run(kind)
    print(f"// {kind}: gradient norms before clipping {', '.join(f'{n:.9g}' for n in norms)}")
    for name, p in params.items():
        print(f'{{"{kind}", "{name}", {{{fmt(p.detach().reshape(-1).tolist())}}}}},')
