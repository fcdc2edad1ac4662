#!/usr/bin/python3
"""The numbers behind scripts/reproduce.sh: its plan (budgets and cells), the estimate of
its duration from measured step rates, each cell's result, and the report.

    reproduce.py plan full|quick                 the budgets as shell assignments
    reproduce.py cells full|quick                one cell per line: NAME [DEPENDENCY...]
    reproduce.py estimate OUT full|quick JOBS    print the duration estimate (OUT/estimate.json)
    reproduce.py cell-result CELL_DIR NAME SECONDS   CELL_DIR/result.json from its metrics.jsonl
    reproduce.py cell-line CELL_DIR              one line on a finished cell
    reproduce.py report OUT                      OUT/results.json, results.md, results.png
    reproduce.py readme OUT                      the README's results block (full runs only)

Standard library only, but `report` draws the PNG with matplotlib (Debian's
python3-matplotlib, as scripts/plot-metrics.py).
"""
import json
import math
import os
import pathlib
import statistics
import sys

TASKS = ["cola", "sst", "mrpc", "stsb", "rte"]
TASK_NAMES = {"cola": "CoLA", "sst": "SST-2", "mrpc": "MRPC", "stsb": "STS-B", "rte": "RTE"}
# GLUE's metrics of each task (CoLA's accuracy is reported by the runs but is not GLUE's).
METRICS = {"cola": ["MCC"], "sst": ["ACC"], "mrpc": ["ACC", "F1"], "stsb": ["Pearson", "Spearman"], "rte": ["ACC"]}
SMALL_TASKS = ["rte", "mrpc", "stsb"]
SETTINGS = [
    ("mtdnn", "MT-DNN", "pretrained, multi-task refinement, fine-tuned per task"),
    ("single", "single-task", "pretrained, fine-tuned per task (the paper's BERT column)"),
    ("mtdnn-scratch", "multi-task, no pretraining", "random init, multi-task refinement, fine-tuned per task"),
    ("single-scratch", "single-task, no pretraining", "random init, trained per task"),
]

# configs/bert-tiny.json: BERT-tiny's shape (Turc et al., 2019: the smallest of Google's
# compact BERTs) with the uncased BERT vocabulary; docs/reproduce.md says why.
MODEL_CONFIG = pathlib.Path(__file__).resolve().parents[2] / "configs" / "bert-tiny.json"
MODEL = json.loads(MODEL_CONFIG.read_text(encoding="utf-8"))

COMMON = {
    "max_seq_len": 128,
    "batch_size": 32,           # stages 2 and 3, every setting
    "optimizer": "adamw",       # stages 2 and 3; warm-up 10% then linear decay (the defaults)
    "lr_init": 3e-4,            # an encoder that was pretrained or refined
    "lr_scratch": 1e-3,         # a randomly initialised encoder (scripts/quickstart.sh's)
    "bucket_window": 16,
    "pt_batch": 128,            # stage 1: sentence pairs per step
    "pt_lr": 1e-2,              # stage 1: LAMB
    "pt_warmup": 0.05,
    "pt_seed": 12345,
}
PLANS = {
    # stage 1 steps; stage 2 epochs over all five tasks (0: no step cap); stage 3 epochs per
    # task, capped (SST-2's 67k rows: about one epoch)
    "full": dict(COMMON, seeds=3, pt_steps=10000, mt_epochs=3, mt_max_steps=0, ft_epochs=5, ft_max_steps=2000),
    "quick": dict(COMMON, seeds=2, pt_steps=150, mt_epochs=3, mt_max_steps=100, ft_epochs=5, ft_max_steps=40),
}


def plan(mode):
    if mode not in PLANS:
        sys.exit(f"reproduce.py: mode '{mode}' is neither full nor quick")
    return PLANS[mode]


def cells(mode):
    """(name, dependencies) in the order the runner starts them: the stages that gate others first."""
    seeds = range(1, plan(mode)["seeds"] + 1)
    out = [("pretrain", [])]
    out += [(f"mtdnn/seed{s}/refine", ["pretrain"]) for s in seeds]
    out += [(f"mtdnn-scratch/seed{s}/refine", []) for s in seeds]
    for s in seeds:
        out += [(f"mtdnn/seed{s}/{t}", [f"mtdnn/seed{s}/refine"]) for t in TASKS]
        out += [(f"single/seed{s}/{t}", ["pretrain"]) for t in TASKS]
        out += [(f"mtdnn-scratch/seed{s}/{t}", [f"mtdnn-scratch/seed{s}/refine"]) for t in TASKS]
        out += [(f"single-scratch/seed{s}/{t}", []) for t in TASKS]
    return out


def write_json(path, value):
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def records(metrics_path):
    with open(metrics_path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# --- the estimate --------------------------------------------------------------------------

def data_summary(out):
    """task -> split -> (examples, tokens), from mtdnn-preprocess's tables (task split rows examples tokens ...)."""
    table, columns = {}, None
    for line in (out / "data" / "summary.txt").read_text(encoding="utf-8").splitlines():
        f = line.split()
        if f[:2] == ["task", "split"] or (len(f) > 1 and f[1] == "split"):
            columns = f if f[0] == "task" else None
        elif columns and len(f) == len(columns):
            row = dict(zip(columns, f))
            table.setdefault(row["task"], {})[row["split"]] = (int(row["examples"]), int(row["tokens"]))
    return table


def probe(out, name):
    """(seconds per step, real tokens per step, seconds besides the steps) of a probe run."""
    train = [r for r in records(out / "probe" / name / "metrics.jsonl") if r["type"] == "train"]
    last = train[-1]
    sec_per_step = 1.0 / last["steps_per_s"]  # the last log window: start-up excluded
    wall = float((out / "probe" / f"{name}.seconds").read_text())
    return sec_per_step, last["real_tokens"] / last["step"], max(0.0, wall - last["step"] * sec_per_step)


def steps_of(p, summary):
    """Steps of each kind of cell: stage 2 (per task, within the cap) and stage 3 per task."""
    b = p["batch_size"]
    epoch = {t: math.ceil(summary[t]["train"][0] / b) for t in TASKS}
    ft = {t: min(p["ft_epochs"] * epoch[t], p["ft_max_steps"] or math.inf) for t in TASKS}
    mt = {t: p["mt_epochs"] * epoch[t] for t in TASKS}
    total = sum(mt.values())
    if p["mt_max_steps"] and total > p["mt_max_steps"]:
        mt = {t: n * p["mt_max_steps"] / total for t, n in mt.items()}
    return mt, ft


def cell_seconds(mode, out, summary):
    p = plan(mode)
    pt_step, _, pt_extra = probe(out, "pretrain")
    (s1, t1, e1), (s2, t2, e2) = probe(out, "sst"), probe(out, "rte")
    slope = max(0.0, (s2 - s1) / (t2 - t1)) if t2 != t1 else 0.0
    fixed = max(0.0, s1 - slope * t1)
    extra = (e1 + e2) / 2
    per_step = {t: fixed + slope * p["batch_size"] * summary[t]["train"][1] / summary[t]["train"][0] for t in TASKS}
    mt, ft = steps_of(p, summary)
    seconds, steps = {}, {}
    for name, _ in cells(mode):
        if name == "pretrain":
            steps[name], seconds[name] = p["pt_steps"], p["pt_steps"] * pt_step + pt_extra
        elif name.endswith("/refine"):
            steps[name] = round(sum(mt.values()))
            seconds[name] = sum(mt[t] * per_step[t] for t in TASKS) + 2 * extra  # five dev sets
        else:
            t = name.rsplit("/", 1)[1]
            steps[name], seconds[name] = ft[t], ft[t] * per_step[t] + extra
    rates = {"pretrain_s_per_step": pt_step, "s_per_step": per_step, "run_overhead_s": extra}
    return seconds, steps, rates


def schedule(mode, seconds, done, jobs):
    """Wall seconds of the runner's schedule: stage 1 alone (on every job's core), then the
    first ready cell whenever a job is free."""
    finish, running, t = {}, [], 0.0
    pending = [(n, d) for n, d in cells(mode) if n not in done]
    for n in done:
        finish[n] = 0.0
    if "pretrain" not in done:
        t = finish["pretrain"] = seconds["pretrain"]
        pending = [(n, d) for n, d in pending if n != "pretrain"]
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
    out, jobs = pathlib.Path(out), int(jobs)
    summary = data_summary(out)
    lines, est = [], {}
    for m in ([mode] if mode == "full" else [mode, "full"]):
        seconds, steps, rates = cell_seconds(m, out, summary)
        done = {n for n, _ in cells(m) if m == mode and (out / n / "result.json").exists()}
        pending = [n for n, _ in cells(m) if n not in done]
        # stage 1's run holds every job's core
        core = sum(seconds[n] * (jobs if n == "pretrain" else 1) for n in pending)
        wall = schedule(m, seconds, done, jobs)
        est[m] = {"cells": len(cells(m)), "done": len(done), "core_seconds": core, "wall_seconds": wall,
                  "jobs": jobs, "rates": rates, "steps": steps, "seconds": seconds}
        if m == mode:
            lines.append(f"Measured on this machine: stage 1 {1 / rates['pretrain_s_per_step']:.2f} steps/s (batch "
                         f"{plan(m)['pt_batch']}, alone on {jobs} thread(s)); stages 2-3 per step ({jobs} run(s) side "
                         "by side, one thread each) "
                         + ", ".join(f"{TASK_NAMES[t]} {rates['s_per_step'][t]:.3f} s" for t in TASKS)
                         + f"; {rates['run_overhead_s']:.1f} s per run besides its steps (start-up, evaluation, saving)")
            stages = {"stage 1 (pretraining)": [n for n in pending if n == "pretrain"],
                      "stage 2 (multi-task refinement)": [n for n in pending if n.endswith("/refine")],
                      "stage 3 and single-task runs": [n for n in pending if n != "pretrain" and not n.endswith("/refine")]}
            for stage, names in stages.items():
                if names:
                    lines.append(f"  {stage:34s} {len(names):3d} runs {sum(steps[n] for n in names):8.0f} steps "
                                 f"{sum(seconds[n] for n in names) / 60:7.1f} min of runs")
            lines.append(f"Estimate ({m}, {len(pending)} of {len(cells(m))} runs to go): about {hours(wall)} on "
                         f"{jobs} core(s): stage 1 alone, then {jobs} run(s) at a time")
        else:
            lines.append(f"The full run (scripts/reproduce.sh) would take about {hours(wall)} on {jobs} core(s) at "
                         "these rates")
    write_json(out / "estimate.json", est)
    print("\n".join(lines))


# --- results ---------------------------------------------------------------------------------

def cmd_cell_result(cell_dir, name, seconds):
    cell_dir = pathlib.Path(cell_dir)
    evals, steps = {}, 0
    for r in records(cell_dir / "metrics.jsonl"):
        if r["type"] == "train":
            steps = max(steps, r["step"])
        elif r["type"] == "eval" and r["split"] == "dev":
            if r["task"] not in evals or r["step"] >= evals[r["task"]]["step"]:
                evals[r["task"]] = r
    skip = {"type", "step", "epoch", "task", "split", "examples", "seconds"}
    metrics = {t: {k: v for k, v in r.items() if k not in skip} for t, r in evals.items()}
    if not metrics:
        sys.exit(f"reproduce.py: {cell_dir}/metrics.jsonl has no dev evaluation")
    write_json(cell_dir / "result.json", {"cell": name, "seconds": float(seconds), "steps": steps, "metrics": metrics})


def cmd_cell_line(cell_dir):
    r = json.loads((pathlib.Path(cell_dir) / "result.json").read_text(encoding="utf-8"))
    shown = "; ".join(f"{t} " + " ".join(f"{k} {v:.2f}" for k, v in m.items() if isinstance(v, (int, float)))
                      for t, m in r["metrics"].items())
    print(f"{r['seconds']:.0f} s, {r['steps']} steps; {shown}")


def stats(values):
    values = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not values:
        return None
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "n": len(values), "values": values}


def fmt(s):
    return "–" if s is None else f"{s['mean']:.1f} ± {s['std']:.1f}"


def task_score(summary, setting, task):
    """GLUE's score of a task: the mean of its metrics' means."""
    parts = [summary[setting][task].get(m) for m in METRICS[task]]
    return None if any(p is None for p in parts) else statistics.fmean(p["mean"] for p in parts)


def claim(summary):
    held, parts = {}, []
    for t in SMALL_TASKS:
        a, b = task_score(summary, "mtdnn", t), task_score(summary, "single", t)
        if a is None or b is None:
            return None, None
        held[t] = {"mtdnn": a, "single": b, "held": a >= b}
        what = METRICS[t][0] if len(METRICS[t]) == 1 else "mean of " + " and ".join(METRICS[t])
        parts.append((t, f"{TASK_NAMES[t]} ({what}: {a:.1f} vs {b:.1f})"))
    yes = [p for t, p in parts if held[t]["held"]]
    no = [p for t, p in parts if not held[t]["held"]]
    if not no:
        s = f"held on all three small tasks: {', '.join(yes)}"
    elif not yes:
        s = f"held on none of the three small tasks: {', '.join(no)}"
    else:
        s = f"held on {' and '.join(yes)} but not on {' and '.join(no)}"
    return held, f"MT-DNN ≥ single-task fine-tuning {s}; MT-DNN first, means over seeds."


def cmd_report(out):
    out = pathlib.Path(out)
    p_path = out / "plan.json"
    meta = json.loads(p_path.read_text(encoding="utf-8"))
    mode, p = meta["mode"], meta["plan"]
    seeds = range(1, p["seeds"] + 1)
    runs, summary, refined, missing, seconds = {}, {}, {}, [], 0.0

    def result(name):
        nonlocal seconds
        path = out / name / "result.json"
        if not path.exists():
            missing.append(name)
            return None
        r = json.loads(path.read_text(encoding="utf-8"))
        seconds += r["seconds"]
        return r

    result("pretrain")
    for key, _, _ in SETTINGS:
        runs[key], summary[key], refined[key] = {}, {}, {}
        before = {s: result(f"{key}/seed{s}/refine") for s in seeds} if key.startswith("mtdnn") else {}
        for t in TASKS:
            per_seed = {}
            for s in seeds:
                r = result(f"{key}/seed{s}/{t}")
                if r is not None:
                    per_seed[f"seed{s}"] = {m: r["metrics"][t].get(m) for m in METRICS[t]}
            runs[key][t] = per_seed
            summary[key][t] = {m: stats([v[m] for v in per_seed.values()]) for m in METRICS[t]}
            if before:
                refined[key][t] = {m: stats([b["metrics"][t].get(m) for b in before.values() if b is not None])
                                   for m in METRICS[t]}
    held, sentence = claim(summary)
    wall = None
    if (out / "wall.seconds").exists():
        wall = float((out / "wall.seconds").read_text())
    estimate = None
    if (out / "estimate.json").exists():
        estimate = json.loads((out / "estimate.json").read_text(encoding="utf-8")).get(mode)
    results = {
        "command": meta["command"], "mode": mode, "complete": not missing, "missing": missing,
        "model": MODEL, "plan": p,
        "settings": [{"key": k, "name": n, "recipe": r} for k, n, r in SETTINGS],
        "tasks": [{"key": t, "name": TASK_NAMES[t], "metrics": METRICS[t]} for t in TASKS],
        "runs": runs, "summary": summary, "multi_task_model_before_fine_tuning": refined,
        "small_tasks": held, "small_tasks_sentence": sentence,
        "seconds": {"runs_total": seconds, "wall_last_invocation": wall,
                    "estimated_wall": estimate["wall_seconds"] if estimate else None},
    }
    write_json(out / "results.json", results)
    (out / "results.md").write_text(markdown(results), encoding="utf-8")
    plot(results, out / "results.png")
    print(table(results))
    if sentence:
        print(sentence)
    if missing:
        print(f"({len(missing)} runs missing, e.g. {missing[0]}: rerun scripts/reproduce.sh to finish them)")


def table(results):
    head = "| task | metric | " + " | ".join(n for _, n, _ in SETTINGS) + " |"
    lines = [head, "|---|---|" + "---:|" * len(SETTINGS)]
    for t in TASKS:
        for m in METRICS[t]:
            lines.append(f"| {TASK_NAMES[t]} | {m} | "
                         + " | ".join(fmt(results["summary"][k][t][m]) for k, _, _ in SETTINGS) + " |")
    return "\n".join(lines)


def lr(x):
    """1e-2, 3e-4: a learning rate as one writes it."""
    mantissa, exponent = f"{x:e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


def describe(results):
    p = results["plan"]
    m = results["model"]
    cap = f", at most {p['mt_max_steps']} steps" if p["mt_max_steps"] else ""
    return (f"BERT-tiny (L={m['num_hidden_layers']}, H={m['hidden_size']}, A={m['num_attention_heads']}, "
            f"uncased vocabulary) pretrained once (stage 1: {p['pt_steps']} steps of {p['pt_batch']} sentence pairs, "
            f"masked LM + next sentence, LAMB lr {lr(p['pt_lr'])}) on the unlabeled text of GLUE's tasks plus the Python "
            f"documentation; stage 2: {p['mt_epochs']} epochs over CoLA, SST-2, MRPC, STS-B and RTE at once{cap} "
            f"(SAN heads for MRPC and RTE, as tasks/glue.yml asks); stage 3 and the single-task runs: "
            f"{p['ft_epochs']} epochs per task, at most {p['ft_max_steps']} steps; batch {p['batch_size']}, "
            f"AdamW, lr {lr(p['lr_init'])} from a pretrained or refined encoder and {lr(p['lr_scratch'])} from a random one, "
            f"10% warm-up then linear decay; {p['seeds']} seeds")


def markdown(results):
    out = [f"# MT-DNN in miniature: `{results['command']}`", ""]
    if results["mode"] != "full":
        out += ["**Quick mode: a test of the pipeline with tiny budgets; these numbers are not results.**", ""]
    if not results["complete"]:
        out += [f"**Incomplete: {len(results['missing'])} runs missing** (rerun the command to finish them).", ""]
    out += [describe(results) + ".", "",
            "Dev sets, GLUE's metrics x100, mean ± sample standard deviation over seeds "
            "(each run's evaluation at its last step):", "", table(results), ""]
    if results["small_tasks_sentence"]:
        out += [results["small_tasks_sentence"], ""]
    out += ["Settings:", ""]
    out += [f"- **{n}** (`{k}/seed<s>/<task>/`): {r}" for k, n, r in SETTINGS]
    out += ["", "The multi-task models before stage 3 (`<setting>/seed<s>/refine/`), for reference:", "",
            "| task | metric | " + " | ".join(n for k, n, _ in SETTINGS if k.startswith("mtdnn")) + " |",
            "|---|---|---:|---:|"]
    for t in TASKS:
        for m in METRICS[t]:
            out.append(f"| {TASK_NAMES[t]} | {m} | " + " | ".join(
                fmt(results["multi_task_model_before_fine_tuning"][k][t][m]) for k, _, _ in SETTINGS
                if k.startswith("mtdnn")) + " |")
    s = results["seconds"]
    out += ["", f"Every run's command line is in its folder (`command.txt`), with `metrics.jsonl`, "
            f"`predictions/` (submission and scores files) and `model/` (quick runs: only the pretrained and "
            f"refined ones). The runs' wall-clock times add up to {s['runs_total'] / 3600:.2f} h (the "
            f"pretraining's on all the cores, the others' on one each)" + (
                f"; the estimate before starting was {hours(s['estimated_wall'])} of wall clock"
                if s["estimated_wall"] else "") + ".", ""]
    return "\n".join(out)


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(t, m) for t in TASKS for m in METRICS[t]]
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
    fig, axes = plt.subplots(1, len(panels), figsize=(2.2 * len(panels), 3.4))
    for ax, (t, m) in zip(axes, panels):
        for i, (k, name, _) in enumerate(SETTINGS):
            s = results["summary"][k][t][m]
            if s is None:
                continue
            # each seed a dot, the mean a bar, the sample standard deviation a whisker
            ax.scatter([i] * len(s["values"]), s["values"], color=colors[i], alpha=0.6, s=16, zorder=2)
            ax.errorbar(i, s["mean"], yerr=s["std"], fmt="_", color=colors[i], markersize=18, capsize=4,
                        elinewidth=1.2, markeredgewidth=2, zorder=3, label=name)
        ax.set_title(f"{TASK_NAMES[t]} {m}", fontsize=9)
        ax.set_xticks([])
        ax.set_xlim(-0.6, len(SETTINGS) - 0.4)
        ax.tick_params(labelsize=8)
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(SETTINGS), fontsize=8, frameon=False)
    title = "MT-DNN in miniature: dev metrics x100 per seed (dots), mean ± std over seeds"
    if results["mode"] != "full":
        title += " — QUICK MODE, not results"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.08, 1, 0.94))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cmd_readme(out):
    results = json.loads((pathlib.Path(out) / "results.json").read_text(encoding="utf-8"))
    if results["mode"] != "full":
        sys.exit("reproduce.py: these are quick-mode numbers (a pipeline test); the README takes full runs only")
    if not results["complete"]:
        sys.exit(f"reproduce.py: {len(results['missing'])} runs are missing; finish the run first")
    print(f"Dev-set results of `scripts/reproduce.sh --update-readme` ([docs/reproduce.md](docs/reproduce.md)): "
          f"GLUE's metrics x100, mean ± standard deviation over {results['plan']['seeds']} seeds, each run's "
          f"last evaluation.")
    print()
    print(table(results))
    print()
    print(results["small_tasks_sentence"])
    print()
    print("![dev metrics per task and setting, each seed a dot](docs/images/reproduce.png)")
    print()
    print(f"Setup: {describe(results)}. The runs' wall-clock times add up to "
          f"{results['seconds']['runs_total'] / 3600:.1f} h.")


def main(argv):
    commands = {"plan": 1, "cells": 1, "estimate": 3, "cell-result": 3, "cell-line": 1, "report": 1, "readme": 1}
    if len(argv) < 2 or argv[1] not in commands or len(argv) != 2 + commands[argv[1]]:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "plan":
        p = plan(args[0])
        print("\n".join(f"{k}={v}" for k, v in p.items()))
        print("tasks='" + " ".join(TASKS) + "'")
    elif cmd == "cells":
        for name, deps in cells(args[0]):
            print(" ".join([name, *deps]))
    elif cmd == "estimate":
        cmd_estimate(*args)
    elif cmd == "cell-result":
        cmd_cell_result(*args)
    elif cmd == "cell-line":
        cmd_cell_line(*args)
    elif cmd == "report":
        cmd_report(*args)
    else:
        cmd_readme(*args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
