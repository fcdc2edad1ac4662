#!/usr/bin/python3
"""The numbers behind scripts/reproduce.sh: its plan (budgets, runs and each run's
command line), the estimate of its duration from measured step rates and each run's result
(docs/reproduce.md).

    reproduce.py plan full|quick                  the budgets as shell assignments
    reproduce.py task-defs OUT                    OUT/tasks.yml and OUT/tasks-linear.yml
    reproduce.py cells full|quick                 one run per line: NAME [DEPENDENCY...]
    reproduce.py args OUT NAME                    NAME's mtdnn-train arguments, one per line
    reproduce.py estimate OUT full|quick JOBS     print the duration estimate (OUT/estimate.json)
    reproduce.py cell-result CELL_DIR NAME SECONDS    CELL_DIR/result.json from its metrics.jsonl
    reproduce.py cell-line CELL_DIR               one line on a finished run

The statistics and the report: reproduce_report.py. Debian's interpreter, standard library.
"""
import json
import math
import os
import pathlib
import statistics
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The tasks every arm trains and scores with every seed: GLUE's small ones.
TASKS = ["rte", "mrpc", "stsb", "cola"]
# Multi-task refinement: every labeled task at hand (QNLI: half of its dev pairs; see glue_splits.py).
REFINE_TASKS = ["cola", "sst", "mrpc", "stsb", "rte", "qnli"]
ADAPT_TASK = "stsb"  # held out of the adaptation curve's refinement (glue_splits.py writes its reduced data)
TASK_NAMES = {"cola": "CoLA", "sst": "SST-2", "mrpc": "MRPC", "stsb": "STS-B", "rte": "RTE", "qnli": "QNLI"}
METRICS = {"cola": ["MCC"], "sst": ["ACC"], "mrpc": ["ACC", "F1"], "stsb": ["Pearson", "Spearman"], "rte": ["ACC"],
           "qnli": ["ACC"]}
ARMS = [
    ("bert", "BERT", "the packaged encoder, a linear head on [CLS] (tasks/glue-linear.yml), one task"),
    ("stdnn", "ST-DNN", "the packaged encoder, tasks/glue.yml's heads (SAN on RTE and MRPC), one task"),
    ("mtdnn", "MT-DNN", "the packaged encoder refined on every labeled task at once, then fine-tuned per task"),
    ("mtdnn-noft", "MT-DNN, no fine-tuning", "the refined model as it is (the paper's column)"),
    ("exposure", "ST-DNN, exposure-matched",
     "ST-DNN with as many passes over the task's rows as MT-DNN's refinement and fine-tuning gave it"),
]
# (arm, against): "first ahead" only where the 95% interval of the paired difference is above 0.
COMPARISONS = [("mtdnn", "stdnn"), ("mtdnn", "bert"), ("mtdnn", "exposure"), ("mtdnn-noft", "stdnn"),
               ("stdnn", "bert")]
# The BERT and ST-DNN heads are the same on STS-B (linear regression on [CLS] in both task
# definitions): one set of runs serves both arms there.
SAME_AS_STDNN = {("bert", "stsb")}
GRID_ARMS = ["bert", "stdnn", "mtdnn", "exposure"]


def runs_arm(arm, task):
    """The arm whose runs stand for `arm` on `task` (ST-DNN's where BERT's would be the same)."""
    return "stdnn" if (arm, task) in SAME_AS_STDNN else arm

COMMON = {
    "max_seq_len": 128,
    "batch_size": 16,             # RoBERTa's for RTE, MRPC, STS-B and CoLA: more updates per row at equal compute
    "optimizer": "adamw",         # 10% warm-up then linear decay (mtdnn-train's defaults)
    "lrs": [5e-5, 1e-4],          # the grid, the same for every arm's per-task runs
    "refine_lr": 1e-4,            # refinement (not on the grid: one refinement per seed)
    "temperature": 3.0,           # refinement's task sampling: p(task) ~ rows^(1/T)
    "bucket_window": 16,
    "probe_steps": 60,            # the estimate's SST-2 probe (RTE's: half), logged in 3 windows
}
PLANS = {
    # seeds; steps of every per-task run (every arm, every adaptation run: the same compute);
    # refinement steps; rows kept per split (quick: a few)
    "full": dict(COMMON, seeds=5, ft_steps=64, refine_steps=400, adapt_percents=[1, 10], row_limit=0),
    "quick": dict(COMMON, seeds=2, ft_steps=2, refine_steps=6, adapt_percents=[1, 10], row_limit=40, probe_steps=6),
}


def plan(mode):
    if mode not in PLANS:
        sys.exit(f"reproduce.py: mode '{mode}' is neither full nor quick")
    return PLANS[mode]


def lr_text(x):
    """5e-5, 1e-4: a learning rate as one writes it."""
    mantissa, exponent = f"{x:e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


# --- the runs ----------------------------------------------------------------------------------

def grid_cells(arm, task):
    return [f"{arm}/{task}/lr{i}/seed1" for i in range(len(COMMON["lrs"]))]


def cells(mode):
    """(name, dependencies) in the order the runner starts them: the runs that gate others first."""
    p = plan(mode)
    seeds = range(1, p["seeds"] + 1)
    out = [(f"refine/seed{s}", []) for s in seeds]
    out += [(f"refine-no{ADAPT_TASK}/seed{s}", []) for s in seeds]
    for arm in GRID_ARMS:
        for t in TASKS:
            if runs_arm(arm, t) != arm:
                continue
            start = ["refine/seed1"] if arm == "mtdnn" else []
            out += [(c, start) for c in grid_cells(arm, t)]
    for s in seeds[1:]:
        for arm in GRID_ARMS:
            for t in TASKS:
                if runs_arm(arm, t) != arm:
                    continue
                start = [f"refine/seed{s}"] if arm == "mtdnn" else []
                out.append((f"{arm}/{t}/seed{s}", start + grid_cells(arm, t)))
    for s in seeds:
        for start in ("packaged", "refined"):
            for pct in p["adapt_percents"] + ([100] if start == "refined" else []):
                deps = grid_cells("stdnn", ADAPT_TASK) + ([f"refine-no{ADAPT_TASK}/seed{s}"] if start == "refined" else [])
                out.append((f"adapt/{start}/{pct}pct/seed{s}", deps))
    return out


def data_summary(out):
    """data folder -> task -> split -> (examples, tokens), from mtdnn-preprocess's tables."""
    tables = {}
    for path in sorted(pathlib.Path(out).glob("data*/summary.txt")):
        table, columns = {}, None
        for line in path.read_text(encoding="utf-8").splitlines():
            f = line.split()
            if f[:2] == ["task", "split"]:
                columns = f
            elif columns and len(f) == len(columns):
                row = dict(zip(columns, f))
                table.setdefault(row["task"], {})[row["split"]] = (int(row["examples"]), int(row["tokens"]))
        tables[path.parent.name] = table
    return tables


def batches(examples, p):
    return math.ceil(examples / p["batch_size"])


def refine_share(summary, p, tasks):
    """Each task's expected share of the refinement's steps under temperature sampling."""
    weights = {t: summary[t]["train"][0] ** (1 / p["temperature"]) for t in tasks}
    total = sum(weights.values())
    return {t: w / total for t, w in weights.items()}


def exposure_steps(summary, p, task):
    """The batches of a task's rows that MT-DNN gives it: refinement's expected share plus fine-tuning."""
    return p["ft_steps"] + round(p["refine_steps"] * refine_share(summary, p, REFINE_TASKS)[task])


def steps_of(summary, p, arm, task):
    return exposure_steps(summary, p, task) if arm == "exposure" else p["ft_steps"]


def result_of(out, name):
    path = pathlib.Path(out) / name / "result.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def task_score(metrics, task):
    """GLUE's score of a task: the mean of its metrics (None when one is missing)."""
    parts = [metrics.get(task, {}).get(m) for m in METRICS[task]]
    ok = all(isinstance(v, (int, float)) and math.isfinite(v) for v in parts)
    return statistics.fmean(parts) if ok else None


def chosen_lr(out, arm, task):
    """(index, rate) of the grid's rate with the best held-out score of seed 1; ties: the lower rate."""
    arm = runs_arm(arm, task)
    best = None
    for i, c in enumerate(grid_cells(arm, task)):
        r = result_of(out, c)
        if r is None:
            return None
        score = task_score(r["metrics"].get("heldout", {}), task)
        score = -math.inf if score is None else score
        if best is None or score > best[0]:
            best = (score, i)
    return best[1], COMMON["lrs"][best[1]]


def args_of(out, name):
    """mtdnn-train's arguments of run NAME (besides those every run shares: see reproduce.sh)."""
    out = pathlib.Path(out)
    meta = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    p, encoder = meta["plan"], meta["encoder"]
    data = data_summary(out)
    parts = name.split("/")
    glue = ["--task-def", str(out / "tasks.yml"), "--data", str(out / "data")]
    common = ["--batch-size", p["batch_size"], "--optimizer", p["optimizer"], "--bucket-window", p["bucket_window"]]
    if parts[0].startswith("refine"):
        tasks = [t for t in REFINE_TASKS if not (parts[0] != "refine" and t == ADAPT_TASK)]
        total = sum(batches(data["data"][t]["train"][0], p) for t in tasks)
        return glue + common + ["--tasks", ",".join(tasks), "--init-checkpoint", encoder,
                                "--temperature", p["temperature"], "--lr", p["refine_lr"],
                                "--epochs", math.ceil(p["refine_steps"] / total), "--max-steps", p["refine_steps"],
                                "--seed", parts[1][4:]]
    if parts[0] == "adapt":
        start, pct, seed = parts[1], int(parts[2][:-3]), parts[3][4:]
        folder = "data" if pct == 100 else f"data-{ADAPT_TASK}{pct}"
        examples = data[folder][ADAPT_TASK]["train"][0]
        steps = p["ft_steps"]
        init = encoder if start == "packaged" else str(out / f"refine-no{ADAPT_TASK}/seed{seed}/model")
        return ["--task-def", str(out / "tasks.yml"), "--data", str(out / folder)] + common + [
            "--tasks", ADAPT_TASK, "--init-checkpoint", init, "--lr", chosen_lr(out, "stdnn", ADAPT_TASK)[1],
            "--epochs", math.ceil(steps / batches(examples, p)), "--max-steps", steps, "--seed", seed]
    arm, task, seed = parts[0], parts[1], parts[-1][4:]
    rate = p["lrs"][int(parts[2][2:])] if len(parts) == 4 else chosen_lr(out, arm, task)[1]
    examples = data["data"][task]["train"][0]
    steps = steps_of(data["data"], p, arm, task)
    if arm == "bert":
        base = ["--task-def", str(out / "tasks-linear.yml"), "--data", str(out / "data-linear")]
    else:
        base = glue
    init = ["--init-checkpoint", str(out / f"refine/seed{seed}/model"), "--init-heads"] if arm == "mtdnn" \
        else ["--init-checkpoint", encoder]
    return base + common + ["--tasks", task] + init + ["--lr", rate, "--epochs", math.ceil(steps / batches(examples, p)),
                                                       "--max-steps", steps, "--seed", seed]


def task_defs(out):
    """OUT/tasks.yml (tasks/glue.yml's definitions) and OUT/tasks-linear.yml (tasks/glue-linear.yml's)
    of the tasks used, with the splits each is scored on: heldout (choosing rates) and dev."""
    for src, dst, tasks in (("glue.yml", "tasks.yml", REFINE_TASKS), ("glue-linear.yml", "tasks-linear.yml", TASKS)):
        blocks, current = {}, None
        for line in (ROOT / "tasks" / src).read_text(encoding="utf-8").splitlines():
            if line and not line[0].isspace() and not line.startswith("#"):
                current = line.rstrip(":")
                blocks[current] = []
            elif current:
                blocks[current].append(line)
        text = [f"# {src}'s definitions with the splits of scripts/reproduce.sh (scripts/lib/glue_splits.py)"]
        for t in tasks:
            splits = ["train", "heldout", "dev"] if t in TASKS else ["train", "dev"]
            text += [f"{t}:"] + blocks[t] + ["  split_names:"] + [f"  - {s}" for s in splits]
        (pathlib.Path(out) / dst).write_text("\n".join(text) + "\n", encoding="utf-8")


# --- the estimate --------------------------------------------------------------------------

def records(metrics_path):
    with open(metrics_path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def probe(out, name):
    """(seconds per step, real tokens per step, seconds besides steps and evaluation, evaluation
    seconds per token) of a probe run."""
    rs = records(out / "probe" / name / "metrics.jsonl")
    train = [r for r in rs if r["type"] == "train"]
    first, last = train[0], train[-1]
    # the log windows after the first (start-up and warm-up excluded), pooled
    seconds = sum((b["step"] - a["step"]) / b["steps_per_s"] for a, b in zip(train, train[1:]))
    sec_per_step = seconds / (last["step"] - first["step"])
    tokens_per_step = (last["real_tokens"] - first["real_tokens"]) / (last["step"] - first["step"])
    wall = float((out / "probe" / f"{name}.seconds").read_text())
    tables = data_summary(out)["data"]
    evals = [r for r in rs if r["type"] == "eval"]
    eval_s = sum(r["seconds"] for r in evals)
    eval_tokens = sum(tables[r["task"]][r["split"]][1] for r in evals)
    extra = max(0.0, wall - last["step"] * sec_per_step - eval_s)
    return sec_per_step, tokens_per_step, extra, eval_s / max(1, eval_tokens)


def cell_seconds(mode, out):
    """Seconds and steps of every run at the probes' rates: per step, fixed + slope x real tokens."""
    p = plan(mode)
    tables = data_summary(out)
    (s1, t1, e1, v1), (s2, t2, e2, v2) = probe(out, "sst"), probe(out, "rte")
    slope = max(0.0, (s2 - s1) / (t2 - t1)) if t2 != t1 else 0.0
    fixed = max(0.0, s1 - slope * t1)
    extra, eval_per_token = (e1 + e2) / 2, (v1 + v2) / 2

    def per_step(table, t):
        return fixed + slope * p["batch_size"] * table[t]["train"][1] / table[t]["train"][0]

    def eval_s(table, tasks):
        return eval_per_token * sum(tok for t in tasks for s, (_, tok) in table[t].items() if s != "train")

    seconds, steps = {}, {}
    main = tables["data"]
    for name, _ in cells(mode):
        parts = name.split("/")
        if parts[0].startswith("refine"):
            tasks = [t for t in REFINE_TASKS if not (parts[0] != "refine" and t == ADAPT_TASK)]
            share = refine_share(main, p, tasks)
            steps[name] = p["refine_steps"]
            seconds[name] = steps[name] * sum(share[t] * per_step(main, t) for t in tasks) + eval_s(main, tasks)
        elif parts[0] == "adapt":
            pct = int(parts[2][:-3])
            table = main if pct == 100 else tables[f"data-{ADAPT_TASK}{pct}"]
            steps[name] = p["ft_steps"]
            seconds[name] = steps[name] * per_step(table, ADAPT_TASK) + eval_s(table, [ADAPT_TASK])
        else:
            arm, t = parts[0], parts[1]
            steps[name] = steps_of(main, p, arm, t)
            seconds[name] = steps[name] * per_step(main, t) + eval_s(main, [t])
        seconds[name] += extra
    rates = {"s_per_step_fixed": fixed, "s_per_real_token": slope, "run_overhead_s": extra,
             "eval_s_per_token": eval_per_token,
             "s_per_step": {t: per_step(main, t) for t in REFINE_TASKS}}
    return seconds, steps, rates


def schedule(mode, seconds, done, jobs):
    """Wall seconds of the runner's schedule: the first ready run whenever a job is free."""
    finish, running, t = {n: 0.0 for n in done}, [], 0.0
    pending = [(n, d) for n, d in cells(mode) if n not in done]
    while pending or running:
        started = True
        while started and len(running) < jobs:
            started = False
            for i, (n, deps) in enumerate(pending):
                if all(d in finish and finish[d] <= t for d in deps):
                    running.append((t + seconds[n], n))
                    pending.pop(i)
                    started = True
                    break
        running.sort()
        t, n = running.pop(0)
        finish[n] = t
    return t


def hours(s):
    return f"{s / 3600:.1f} h" if s >= 5400 else f"{s / 60:.0f} min"


def cmd_estimate(out, mode, jobs):
    """The estimate of this plan on this data (quick mode's tiny data say nothing of the full run's)."""
    out, jobs = pathlib.Path(out), int(jobs)
    seconds, steps, rates = cell_seconds(mode, out)
    done = {n for n, _ in cells(mode) if (out / n / "result.json").exists()}
    pending = [n for n, _ in cells(mode) if n not in done]
    wall = schedule(mode, seconds, done, jobs)
    lines = [f"Measured on this machine ({jobs} run(s) side by side, one thread each): per step "
             + ", ".join(f"{TASK_NAMES[t]} {rates['s_per_step'][t]:.2f} s" for t in REFINE_TASKS)
             + f"; evaluation {rates['eval_s_per_token'] * 1e3:.2f} ms per token; "
             f"{rates['run_overhead_s']:.1f} s per run besides (start-up, saving)"]
    groups = {"refinements": [n for n in pending if n.startswith("refine")],
              "per-task runs of the arms": [n for n in pending if not n.startswith(("refine", "adapt"))],
              "adaptation curve": [n for n in pending if n.startswith("adapt")]}
    for group, names in groups.items():
        if names:
            lines.append(f"  {group:28s} {len(names):4d} runs {sum(steps[n] for n in names):8.0f} steps "
                         f"{sum(seconds[n] for n in names) / 60:7.1f} min of runs")
    lines.append(f"Estimate ({mode}, {len(pending)} of {len(cells(mode))} runs to go): about {hours(wall)} on "
                 f"{jobs} core(s), {jobs} run(s) at a time")
    write_json(out / "estimate.json", {mode: {"cells": len(cells(mode)), "done": len(done), "wall_seconds": wall,
                                              "core_seconds": sum(seconds[n] for n in pending), "jobs": jobs,
                                              "rates": rates, "steps": steps, "seconds": seconds}})
    print("\n".join(lines))


# --- results ---------------------------------------------------------------------------------

def write_json(path, value):
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def cmd_cell_result(cell_dir, name, seconds):
    """result.json: split -> task -> metrics of the run's last evaluation of each."""
    cell_dir = pathlib.Path(cell_dir)
    evals, steps = {}, 0
    for r in records(cell_dir / "metrics.jsonl"):
        if r["type"] == "train":
            steps = max(steps, r["step"])
        elif r["type"] == "eval":
            key = (r["split"], r["task"])
            if key not in evals or r["step"] >= evals[key]["step"]:
                evals[key] = r
    skip = {"type", "step", "epoch", "task", "split", "examples", "seconds"}
    metrics = {}
    for (split, task), r in evals.items():
        metrics.setdefault(split, {})[task] = {k: v for k, v in r.items() if k not in skip}
    if "dev" not in metrics:
        sys.exit(f"reproduce.py: {cell_dir}/metrics.jsonl has no dev evaluation")
    write_json(cell_dir / "result.json", {"cell": name, "seconds": float(seconds), "steps": steps, "metrics": metrics})


def cmd_cell_line(cell_dir):
    r = json.loads((pathlib.Path(cell_dir) / "result.json").read_text(encoding="utf-8"))
    shown = "; ".join(f"{t} " + " ".join(f"{k} {v:.1f}" for k, v in m.items() if k in METRICS[t])
                      for t, m in r["metrics"]["dev"].items())
    print(f"{r['seconds']:.0f} s, {r['steps']} steps; dev {shown}")


def main(argv):
    commands = {"plan": 1, "task-defs": 1, "cells": 1, "args": 2, "estimate": 3, "cell-result": 3, "cell-line": 1}
    if len(argv) < 2 or argv[1] not in commands or len(argv) != 2 + commands[argv[1]]:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "plan":
        p = plan(args[0])
        print("\n".join(f"{k}={v}" for k, v in p.items() if not isinstance(v, list)))
        print("adapt_percents='" + " ".join(str(x) for x in p["adapt_percents"]) + "'")
        print("refine_tasks='" + " ".join(REFINE_TASKS) + "' adapt_task=" + ADAPT_TASK)
        print("linear_tasks='" + " ".join(t for t in TASKS if runs_arm("bert", t) == "bert") + "'")
    elif cmd == "task-defs":
        task_defs(*args)
    elif cmd == "cells":
        for name, deps in cells(args[0]):
            print(" ".join([name, *deps]))
    elif cmd == "args":
        print("\n".join(str(a) for a in args_of(*args)))
    elif cmd == "estimate":
        cmd_estimate(*args)
    elif cmd == "cell-result":
        cmd_cell_result(*args)
    else:
        cmd_cell_line(*args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
