#!/usr/bin/python3
"""Golden values for the LAMB optimizer test (tests/worker/optimizer_test.cc, Lamb*).

Regenerate from the repository root with Debian's python3-torch:
    /usr/bin/python3 scripts/make-lamb-goldens.py
It rewrites tests/worker/golden/lamb/golden.json and steps.safetensors.

An independent implementation of LAMB (You et al. 2019, "Large Batch Optimization for
Deep Learning", with decoupled weight decay and Adam's bias correction, as NVIDIA's BERT
pretraining uses it), written from the formula and sharing nothing with worker/*.cc. Per
parameter tensor p with gradient g, already multiplied by the global clipping factor
min(1, max_norm / (||all gradients|| + 1e-6)):
    m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
    m_hat = m / (1-b1^t);  v_hat = v / (1-b2^t)
    u = m_hat / (sqrt(v_hat) + eps) + wd p      (wd = 0 for names with a `bias` or
                                                 `LayerNorm` component)
    trust = ||p|| / ||u|| when both norms are > 0, else 1
    p -= lr trust u
t counts the updates this parameter received: a parameter without a gradient on a step
(the query bias on step 2 below) is skipped entirely, its t included. Everything is
computed in float64 from float32 inputs; the outputs are stored as float32.

steps.safetensors (written by scripts/make-model-goldens.py's writer):
    init.<param>            initial value (the bias starts at zero: trust 1 on its first step)
    grad.<step>.<param>     gradient of step 0, 1, ... (absent: no gradient that step)
    param.<step>.<param>    value after the step
    exp_avg.<param>, exp_sec.<param>   m and v after the last step
golden.json: hyperparameters, learning rates, parameter names and shapes, gradient norms
and clipping factors per step, each parameter's final step count and whether it decays.
"""
import importlib.util
import json
import math
import os

import torch

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
HERE = os.path.join(SCRIPTS, "..", "tests", "worker", "golden", "lamb")


def _model_goldens():
    """scripts/make-model-goldens.py as a module: its safetensors writer."""
    spec = importlib.util.spec_from_file_location("make_model_goldens", os.path.join(SCRIPTS, "make-model-goldens.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


write_safetensors = _model_goldens().write_safetensors

BETA1, BETA2, EPS = 0.9, 0.999, 1e-6
WEIGHT_DECAY = 0.1
MAX_GRAD_NORM = 1.0
LRS = [0.05, 0.02, 0.01, 0.005]
# Gradient scales per step: large steps are clipped (factor < 1), the last one is not.
GRAD_SCALES = [3.0, 1.0, 0.8, 0.05]
# (name, shape); named like the model's parameters so that the no-decay rule applies.
PARAMS = [
    ("bert.encoder.layer.0.attention.self.query.weight", (8, 6)),
    ("bert.encoder.layer.0.attention.self.query.bias", (8,)),
    ("bert.embeddings.LayerNorm.weight", (6,)),
    ("heads.san.rnn.bias_ih", (12,)),  # decays: no component is exactly "bias"
    ("heads.cls.weight", (3, 2, 5)),
]
MISSING = {(1, "bert.encoder.layer.0.attention.self.query.bias")}  # (step, name): no gradient


def decays(name):
    return not any(part in ("bias", "LayerNorm") for part in name.split("."))


def initial(gen, name, shape):
    if name.endswith(".bias"):
        return torch.zeros(shape, dtype=torch.float32)
    x = torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1
    if "LayerNorm" in name:
        return (1 + 0.1 * x).float()
    return (0.5 * x).float()


def main():
    gen = torch.Generator().manual_seed(20190401)
    out = {}
    p64, m, v, t = {}, {}, {}, {}
    for name, shape in PARAMS:
        init = initial(gen, name, shape)
        out[f"init.{name}"] = init
        p64[name] = init.double()
        m[name] = torch.zeros(shape, dtype=torch.float64)
        v[name] = torch.zeros(shape, dtype=torch.float64)
        t[name] = 0
    norms, factors = [], []
    for step, lr in enumerate(LRS):
        grads = {}
        for name, shape in PARAMS:
            g = (torch.randn(shape, generator=gen, dtype=torch.float64) * GRAD_SCALES[step]).float()
            if (step, name) in MISSING:
                continue
            grads[name] = g
            out[f"grad.{step}.{name}"] = g
        norm = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads.values()))
        factor = min(1.0, MAX_GRAD_NORM / (norm + 1e-6))
        norms.append(norm)
        factors.append(factor)
        for name, _ in PARAMS:
            if name not in grads:
                continue
            g = grads[name].double() * factor
            t[name] += 1
            m[name] = BETA1 * m[name] + (1 - BETA1) * g
            v[name] = BETA2 * v[name] + (1 - BETA2) * g * g
            m_hat = m[name] / (1 - BETA1 ** t[name])
            v_hat = v[name] / (1 - BETA2 ** t[name])
            wd = WEIGHT_DECAY if decays(name) else 0.0
            u = m_hat / (torch.sqrt(v_hat) + EPS) + wd * p64[name]
            p_norm = float(torch.linalg.vector_norm(p64[name]))
            u_norm = float(torch.linalg.vector_norm(u))
            trust = p_norm / u_norm if p_norm > 0 and u_norm > 0 else 1.0
            p64[name] = p64[name] - lr * trust * u
        for name, _ in PARAMS:
            out[f"param.{step}.{name}"] = p64[name].float()
    for name, _ in PARAMS:
        out[f"exp_avg.{name}"] = m[name].float()
        out[f"exp_sec.{name}"] = v[name].float()

    write_safetensors(os.path.join(HERE, "steps.safetensors"), out)
    golden = {
        "optimizer": "lamb",
        "beta1": BETA1, "beta2": BETA2, "eps": EPS, "weight_decay": WEIGHT_DECAY,
        "max_grad_norm": MAX_GRAD_NORM,
        "lrs": LRS,
        "grad_norms": norms,
        "clip_factors": factors,
        "params": [{"name": name, "shape": list(shape), "decay": decays(name), "steps": t[name]}
                   for name, shape in PARAMS],
        "torch": torch.__version__,
    }
    with open(os.path.join(HERE, "golden.json"), "w") as f:
        json.dump(golden, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
