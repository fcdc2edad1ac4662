#!/usr/bin/python3
"""The statistics and the report of scripts/reproduce.sh (docs/reproduce.md): every arm's dev
scores per task and seed, the paired differences with their 95% intervals, the adaptation
curve, the sentences generated from the intervals, the tables and the figure.

    reproduce_report.py report OUT     OUT/results.json, results.md, results.png
    reproduce_report.py readme OUT     the README's results block (full runs only)

Debian's interpreter: scipy (Student's t) and matplotlib (the figure).
"""
import json
import math
import pathlib
import statistics
import sys

from reproduce import (ADAPT_TASK, ARMS, COMPARISONS, GRID_ARMS, METRICS, TASK_NAMES, TASKS, chosen_lr, grid_cells,
                       hours, lr_text, result_of, runs_arm, task_score, write_json)


def interval(diffs):
    """Mean and 95% confidence interval (Student's t) of paired differences."""
    from scipy import stats as st

    n = len(diffs)
    mean = statistics.fmean(diffs)
    if n < 2:
        return {"mean": mean, "low": None, "high": None, "n": n, "diffs": diffs}
    half = st.t.ppf(0.975, n - 1) * statistics.stdev(diffs) / math.sqrt(n)
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": n, "diffs": diffs}


def verdict(ci):
    if ci["low"] is None:
        return "too few seeds"
    if ci["low"] > 0:
        return "ahead"
    if ci["high"] < 0:
        return "behind"
    return "no difference shown"


def collect(out, p):
    """arm -> task -> seed -> {metric: value} of the dev sets, from the runs' results."""
    seeds = range(1, p["seeds"] + 1)
    runs, missing, seconds = {a: {t: {} for t in TASKS} for a, _, _ in ARMS}, [], 0.0
    seen = set()

    def metrics_of(name, split="dev"):
        nonlocal seconds
        r = result_of(out, name)
        if r is None:
            missing.append(name)
            return None
        if name not in seen:
            seen.add(name)
            seconds += r["seconds"]
        return r["metrics"].get(split, {})

    for s in seeds:
        refined = metrics_of(f"refine/seed{s}")
        for t in TASKS:
            if refined is not None:
                runs["mtdnn-noft"][t][s] = refined.get(t)
            for arm in GRID_ARMS:
                src = runs_arm(arm, t)
                if s == 1:
                    choice = chosen_lr(out, src, t)
                    if choice is None:
                        missing.extend(c for c in grid_cells(src, t) if result_of(out, c) is None)
                        continue
                    for c in grid_cells(src, t):
                        metrics_of(c)
                    name = grid_cells(src, t)[choice[0]]
                else:
                    name = f"{src}/{t}/seed{s}"
                m = metrics_of(name)
                if m is not None:
                    runs[arm][t][s] = m.get(t)
    adapt = {start: {} for start in ("packaged", "refined")}
    for s in seeds:
        for start in adapt:
            for pct in p["adapt_percents"] + [100]:
                if start == "packaged" and pct == 100:
                    m = {ADAPT_TASK: runs["stdnn"][ADAPT_TASK].get(s)} if s in runs["stdnn"][ADAPT_TASK] else None
                else:
                    m = metrics_of(f"adapt/{start}/{pct}pct/seed{s}")
                if m is not None and m.get(ADAPT_TASK) is not None:
                    adapt[start].setdefault(pct, {})[s] = m[ADAPT_TASK]
        metrics_of(f"refine-no{ADAPT_TASK}/seed{s}")
    extra = {t: [] for t in ("sst", "qnli")}  # the refinement's other tasks, for reference
    for s in seeds:
        r = result_of(out, f"refine/seed{s}")
        if r:
            for t in extra:
                if task_score(r["metrics"]["dev"], t) is not None:
                    extra[t].append(task_score(r["metrics"]["dev"], t))
    return runs, adapt, extra, sorted(set(missing)), seconds


def summarize(values):
    values = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not values:
        return None
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "n": len(values)}


def paired(a, b, task):
    """Paired differences of the task score, seed by seed (seeds where both have a score)."""
    diffs = []
    for s in sorted(set(a) & set(b)):
        x, y = task_score({task: a[s] or {}}, task), task_score({task: b[s] or {}}, task)
        if x is not None and y is not None:
            diffs.append(x - y)
    return interval(diffs) if diffs else None


def grouped(items):
    """[(label, interval)] -> verdict -> ["label (+1.2, 95% CI +0.3 to +2.1)", ...]"""
    groups = {"ahead": [], "behind": [], "no difference shown": [], "too few seeds": []}
    for label, ci in items:
        if ci:
            groups[verdict(ci)].append(f"{label} ({ci['mean']:+.1f}, 95% CI {ci['low']:+.1f} to {ci['high']:+.1f})"
                                       if ci["low"] is not None else label)
    return groups


def said(groups, first, second, none, at="on"):
    """One sentence from grouped intervals: where `first` is ahead of `second`, where not."""
    parts = [f"{first} is ahead of {second} {at} " + ", ".join(groups["ahead"]) if groups["ahead"]
             else f"{first} is ahead of {second} {none}"]
    if groups["no difference shown"]:
        parts.append(f"the difference is not distinguishable from 0 {at} " + ", ".join(groups["no difference shown"]))
    if groups["behind"]:
        parts.append(f"{first} is behind {at} " + ", ".join(groups["behind"]))
    return "; ".join(parts) + "."


def sentences(comparisons, curve):
    """The README's sentences on the three claims, generated from the intervals (GLUE score x100)."""
    c = comparisons
    mt = said(grouped([(TASK_NAMES[t], c["mtdnn:stdnn"].get(t)) for t in TASKS]),
              "MT-DNN", "single-task fine-tuning (ST-DNN)", "on none of the small tasks")
    san = said(grouped([(TASK_NAMES[t], c["stdnn:bert"].get(t)) for t in ("rte", "mrpc")]),
               "SAN (ST-DNN)", "a linear head (BERT)", "on neither pair task")
    adapt = said(grouped([(f"{pct}% of the rows", row["difference"]) for pct, row in curve.items()]),
                 f"The encoder refined without {TASK_NAMES[ADAPT_TASK]}", "the packaged one",
                 "with no fraction of the rows", at="with")
    return [mt, san, adapt]


def cmd_report(out):
    out = pathlib.Path(out)
    meta = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    mode, p = meta["mode"], meta["plan"]
    runs, adapt, extra, missing, seconds = collect(out, p)
    summary = {a: {t: {m: summarize([(v or {}).get(m) for v in runs[a][t].values()]) for m in METRICS[t]}
                   for t in TASKS} for a, _, _ in ARMS}
    comparisons = {}
    for a, b in COMPARISONS:
        key = f"{a}:{b}"
        comparisons[key] = {}
        for t in TASKS:
            if runs_arm(a, t) == runs_arm(b, t):
                continue  # the same runs
            comparisons[key][t] = paired(runs[a][t], runs[b][t], t)
    curve = {}
    for pct in p["adapt_percents"] + [100]:
        row = {start: summarize([task_score({ADAPT_TASK: v}, ADAPT_TASK) for v in adapt[start].get(pct, {}).values()])
               for start in adapt}
        row["difference"] = paired(adapt["refined"].get(pct, {}), adapt["packaged"].get(pct, {}), ADAPT_TASK)
        curve[pct] = row
    base = json.loads((out / "glue" / "baselines.json").read_text(encoding="utf-8"))
    wall, whole = None, False
    if (out / "wall.seconds").exists():  # seconds, runs it ran, runs of the plan
        seconds_text, ran, total = (out / "wall.seconds").read_text().split()
        wall, whole = float(seconds_text), ran == total
    estimate = json.loads((out / "estimate.json").read_text(encoding="utf-8")).get(mode) \
        if (out / "estimate.json").exists() else None
    results = {
        "command": meta["command"], "mode": mode, "complete": not missing, "missing": missing,
        "encoder": meta["encoder_name"], "plan": p,
        "arms": [{"key": k, "name": n, "recipe": r} for k, n, r in ARMS],
        "tasks": [{"key": t, "name": TASK_NAMES[t], "metrics": METRICS[t]} for t in TASKS],
        "runs": {a: {t: {f"seed{s}": v for s, v in runs[a][t].items()} for t in TASKS} for a in runs},
        "summary": summary, "baselines": base, "comparisons": comparisons,
        "adaptation": {"task": ADAPT_TASK, "curve": {str(k): v for k, v in curve.items()}},
        "refinement_other_tasks": {t: summarize(v) for t, v in extra.items()},
        "chosen_lr": {f"{a}:{t}": (chosen_lr(out, a, t) or [None, None])[1] for a in GRID_ARMS for t in TASKS},
        "sentences": sentences(comparisons, curve),
        "seconds": {"runs_total": seconds, "wall": wall, "wall_is_whole_run": whole,
                    "estimated_wall": estimate["wall_seconds"] if estimate else None},
        "plan_jobs": estimate["jobs"] if estimate else None,
    }
    write_json(out / "results.json", results)
    (out / "results.md").write_text(markdown(results), encoding="utf-8")
    plot(results, out / "results.png")
    print(table(results))
    print()
    print(comparison_table(results))
    print()
    print(adaptation_table(results))
    print()
    print(" ".join(results["sentences"]))
    if missing:
        print(f"({len(missing)} runs missing, e.g. {missing[0]}: rerun scripts/reproduce.sh to finish them)")


def fmt(s):
    return "–" if s is None else f"{s['mean']:.1f} ± {s['std']:.1f}"


def table(results):
    head = "| task | metric | majority / constant | " + " | ".join(n for _, n, _ in ARMS) + " |"
    lines = [head, "|---|---|---:|" + "---:|" * len(ARMS)]
    for t in TASKS:
        for m in METRICS[t]:
            b = results["baselines"][t]
            lines.append(f"| {TASK_NAMES[t]} | {m} | {b['metrics'][m]:.1f} | "
                         + " | ".join(fmt(results["summary"][k][t][m]) for k, _, _ in ARMS) + " |")
    return "\n".join(lines)


def comparison_table(results):
    names = {k: n for k, n, _ in ARMS}
    lines = ["| comparison | " + " | ".join(TASK_NAMES[t] for t in TASKS) + " |", "|---|" + "---|" * len(TASKS)]
    for a, b in COMPARISONS:
        cells = []
        for t in TASKS:
            ci = results["comparisons"][f"{a}:{b}"].get(t)
            if ci is None:
                cells.append("same runs")
            elif ci["low"] is None:
                cells.append(f"{ci['mean']:+.1f}")
            else:
                mark = {"ahead": " **ahead**", "behind": " behind"}.get(verdict(ci), "")
                cells.append(f"{ci['mean']:+.1f} [{ci['low']:+.1f}, {ci['high']:+.1f}]{mark}")
        lines.append(f"| {names[a]} − {names[b]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def adaptation_table(results):
    a = results["adaptation"]
    lines = [f"| {TASK_NAMES[a['task']]} training rows | packaged encoder | refined without {TASK_NAMES[a['task']]} | "
             "refined − packaged [95% CI] |", "|---|---:|---:|---|"]
    for pct, row in a["curve"].items():
        ci = row["difference"]
        diff = "–" if ci is None else (f"{ci['mean']:+.1f}" if ci["low"] is None else
                                       f"{ci['mean']:+.1f} [{ci['low']:+.1f}, {ci['high']:+.1f}]")
        lines.append(f"| {pct}% ({results['baselines'][a['task']]['train_rows'][pct]}) | {fmt(row['packaged'])} | "
                     f"{fmt(row['refined'])} | {diff} |")
    return "\n".join(lines)


def describe(results):
    p = results["plan"]
    lrs = " and ".join(lr_text(x) for x in p["lrs"])
    return (f"{results['encoder']} from its PyPI wheel; every per-task run {p['ft_steps']} steps of batch "
            f"{p['batch_size']}, AdamW, rate chosen per arm and task from {lrs} on a tenth of the training rows "
            f"(at most 300) held out (seed 1); refinement: {p['refine_steps']} steps over CoLA, SST-2, MRPC, STS-B, RTE and half of "
            f"QNLI's dev pairs, tasks sampled at temperature {p['temperature']:g}, rate {lr_text(p['refine_lr'])}; "
            f"{p['seeds']} seeds")


def markdown(results):
    out = [f"# MT-DNN's claims on a pretrained encoder: `{results['command']}`", ""]
    if results["mode"] != "full":
        out += ["**Quick mode: a test of the pipeline with tiny budgets and data; these numbers are not results.**", ""]
    if not results["complete"]:
        out += [f"**Incomplete: {len(results['missing'])} runs missing** (rerun the command to finish them).", ""]
    out += [describe(results) + ".", "",
            "GLUE dev sets, metrics x100, mean ± sample standard deviation over seeds:", "", table(results), "",
            "Paired differences of the GLUE score (the mean of the task's metrics), seed by seed: mean "
            "[95% confidence interval, Student's t]; **ahead** where the whole interval is above 0:", "",
            comparison_table(results), "", " ".join(results["sentences"]) + " (GLUE score x100, paired by seed.)", "",
            f"Adaptation: {TASK_NAMES[results['adaptation']['task']]} (GLUE score) from the packaged encoder and from "
            "one refined on the other tasks:", "", adaptation_table(results), ""]
    other = results["refinement_other_tasks"]
    out += ["The refined models on the refinement's other tasks: " + ", ".join(
        f"{TASK_NAMES[t]} {fmt(s)}" for t, s in other.items() if s) + " (SST-2: GLUE's dev; QNLI: the half of its "
        "dev pairs held out of refinement).", ""]
    out += ["Arms:", ""] + [f"- **{n}**: {r}" for _, n, r in ARMS]
    chosen = results["chosen_lr"]
    out += ["", "Rates chosen on the held-out slice: " + "; ".join(
        f"{n} " + ", ".join(f"{TASK_NAMES[t]} {lr_text(chosen[f'{k}:{t}'])}" for t in TASKS if chosen[f"{k}:{t}"])
        for k, n, _ in ARMS if k in GRID_ARMS) + "."]
    s = results["seconds"]
    out += ["", f"The runs' own times add up to {s['runs_total'] / 3600:.2f} h" + (
        f"; wall clock {hours(s['wall'])}" + ("" if s["wall_is_whole_run"] else " (of the last, resumed part)")
        if s["wall"] else "") + (
        f", estimated before starting {hours(s['estimated_wall'])}" if s["estimated_wall"] else "") + ".", ""]
    return "\n".join(out)


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = ["#7f7f7f", "#1f77b4", "#d62728", "#ff7f0e", "#2ca02c"]
    fig, axes = plt.subplots(1, len(TASKS) + 1, figsize=(3.0 * (len(TASKS) + 1), 3.6))
    for ax, t in zip(axes, TASKS):
        for i, (k, name, _) in enumerate(ARMS):
            vals = [task_score({t: v or {}}, t) for v in results["runs"][k][t].values()]
            vals = [v for v in vals if v is not None]
            if not vals:
                continue
            mean = statistics.fmean(vals)
            ax.scatter([i] * len(vals), vals, color=colors[i], alpha=0.6, s=16, zorder=2)
            ax.plot([i - 0.3, i + 0.3], [mean, mean], color=colors[i], lw=2, zorder=3, label=name)
        ax.axhline(statistics.fmean(results["baselines"][t]["metrics"][m] for m in METRICS[t]), color="black",
                   ls=":", lw=1, label="majority / constant")
        ax.set_title(f"{TASK_NAMES[t]} ({' / '.join(METRICS[t])})", fontsize=9)
        ax.set_xticks([])
        ax.tick_params(labelsize=8)
        ax.grid(axis="y", alpha=0.3)
    ax = axes[-1]
    a = results["adaptation"]
    pcts = [int(x) for x in a["curve"]]
    for start, color, label in (("packaged", "#1f77b4", "packaged encoder"),
                                ("refined", "#d62728", f"refined without {TASK_NAMES[a['task']]}")):
        pts = [(x, a["curve"][str(x)][start]) for x in pcts if a["curve"][str(x)][start]]
        ax.errorbar([x for x, _ in pts], [s["mean"] for _, s in pts], yerr=[s["std"] for _, s in pts],
                    color=color, marker="o", capsize=3, label=label)
    ax.set_xscale("log")
    ax.set_xticks(pcts)
    ax.set_xticklabels([f"{x}%" for x in pcts])
    ax.set_title(f"adaptation: {TASK_NAMES[a['task']]} with less data", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    title = "GLUE dev score x100 per seed (dots; line: mean) and the adaptation curve (mean ± std)"
    if results["mode"] != "full":
        title += " — QUICK MODE, not results"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.08, 1, 0.93))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cmd_readme(out):
    results = json.loads((pathlib.Path(out) / "results.json").read_text(encoding="utf-8"))
    if results["mode"] != "full":
        sys.exit("reproduce.py: these are quick-mode numbers (a pipeline test); the README takes full runs only")
    if not results["complete"]:
        sys.exit(f"reproduce.py: {len(results['missing'])} runs are missing; finish the run first")
    s = results["seconds"]
    print(f"Dev-set results of `scripts/reproduce.sh --update-readme` ([docs/reproduce.md](docs/reproduce.md)), "
          f"GLUE's metrics x100, mean ± standard deviation over {results['plan']['seeds']} seeds:")
    print()
    print(table(results))
    print()
    print(" ".join(results["sentences"]) + " (GLUE score x100, paired by seed.)")
    print()
    print("Paired differences of the GLUE score, mean [95% CI]:")
    print()
    print(comparison_table(results))
    print()
    print(adaptation_table(results))
    print()
    print("![dev scores per task and arm, each seed a dot; the adaptation curve](docs/images/reproduce.png)")
    print()
    whole = "" if s["wall_is_whole_run"] else ", of its last part after a resume"
    print(f"Setup: {describe(results)}. Wall clock of the run{whole}: {s['wall'] / 60:.0f} min on "
          f"{results['plan_jobs']} cores (estimated before starting: {s['estimated_wall'] / 60:.0f} min).")


def main(argv):
    if len(argv) != 3 or argv[1] not in ("report", "readme"):
        print(__doc__, file=sys.stderr)
        return 2
    (cmd_report if argv[1] == "report" else cmd_readme)(argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
