#!/usr/bin/env python3
"""The numbers behind scripts/compare-hf-finetune.sh: the duration estimate, an mtdnn-train
run's result line, and the report (mean +- sd per task, metric and side, Welch's t-test,
wall-clock times and their ratio).

    compare_finetune.py estimate OUT            print the estimate from OUT/settings.json and
                                                the shards' token counts (OUT/data/<task>/manifest.json)
    compare_finetune.py mtdnn-result RUN_DIR TASK SEED SECONDS
                                                one JSON result line from RUN_DIR/metrics.jsonl
                                                and RUN_DIR/config.json
    compare_finetune.py line RESULT.json...     one line per run: side, steps, seconds, metrics
    compare_finetune.py report OUT [--markdown] OUT/results.tsv and OUT/results.json from
                                                OUT/runs/*/*.json; prints the table (markdown:
                                                the README block, caption included)

Result lines (one per run, both sides): {"side", "task", "seed", "steps", "warmup",
"metrics": {name: value x100}, "seconds"}. Run with scripts/venv-python (scipy for the test).
"""
import json
import math
import pathlib
import statistics
import sys

TASKS = ["cola", "sst", "mrpc", "stsb", "rte"]
TASK_NAMES = {"cola": "CoLA", "sst": "SST-2", "mrpc": "MRPC", "stsb": "STS-B", "rte": "RTE"}
METRICS = {"cola": ["MCC", "ACC"], "sst": ["ACC"], "mrpc": ["ACC", "F1"], "stsb": ["Pearson", "Spearman"],
           "rte": ["ACC"]}
SIDES = ["mtdnn", "hf"]
SIDE_NAMES = {"mtdnn": "mtdnn-train", "hf": "Hugging Face"}
ALPHA = 0.05


def load_settings(out):
    return json.loads((pathlib.Path(out) / "settings.json").read_text())


def split_tokens(out, task, split):
    manifest = json.loads((pathlib.Path(out) / "data" / task / "manifest.json").read_text())
    entry = next(s for s in manifest["splits"] if s["split"] == split)
    return entry["tokens"], entry["examples"]


def estimate(out):
    """Seconds per run of each side: real training tokens / measured rate + evaluation (the dev
    tokens at three times the training rate, forward only) + start-up."""
    s = load_settings(out)
    rows, totals = [], {side: 0.0 for side in SIDES}
    for task in s["tasks"]:
        train_tokens, train_n = split_tokens(out, task, "train")
        dev_tokens, _ = split_tokens(out, task, "dev")
        per_epoch = math.ceil(train_n / s["batch_size"])
        steps = per_epoch * s["epochs"][task]
        if s["max_steps"][task] > 0:
            steps = min(steps, s["max_steps"][task])
        tokens = train_tokens * steps / per_epoch
        secs = {side: tokens / s["tokens_per_s"][side] + dev_tokens / (3 * s["tokens_per_s"][side])
                + s["startup_s"][side] for side in SIDES}
        for side in SIDES:
            totals[side] += secs[side] * s["seeds"]
        rows.append((task, steps, tokens, secs))
    print(f"Estimate ({s['seeds']} seed(s); from the shards' token counts at mtdnn "
          f"{s['tokens_per_s']['mtdnn']:.0f} and Hugging Face {s['tokens_per_s']['hf']:.0f} real tokens/s):")
    print(f"  {'task':<6} {'steps':>6} {'train tokens':>13} {'mtdnn s/run':>12} {'HF s/run':>9}")
    for task, steps, tokens, secs in rows:
        print(f"  {task:<6} {steps:>6} {tokens:>13.0f} {secs['mtdnn']:>12.0f} {secs['hf']:>9.0f}")
    total = totals["mtdnn"] + totals["hf"]
    print(f"  total: mtdnn {totals['mtdnn'] / 60:.0f} min + Hugging Face {totals['hf'] / 60:.0f} min "
          f"= about {total / 60:.0f} min")
    return 0


def mtdnn_result(run_dir, task, seed, seconds):
    run = pathlib.Path(run_dir)
    config = json.loads((run / "config.json").read_text())
    metrics = {}
    for line in (run / "metrics.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r.get("type") == "eval" and r.get("task") == task and r.get("split") == "dev":
            metrics = {m: float(r[m]) for m in METRICS[task] if m in r}  # the last evaluation wins
    missing = [m for m in METRICS[task] if m not in metrics]
    if missing:
        print(f"compare_finetune: {run}/metrics.jsonl has no dev {', '.join(missing)} for {task}", file=sys.stderr)
        return 1
    print(json.dumps({"side": "mtdnn", "task": task, "seed": int(seed), "steps": config["total-steps"],
                      "warmup": config["warmup-steps"], "metrics": metrics, "seconds": round(float(seconds), 3),
                      "threads": f"{config['world-size']} ranks x {config['threads']}"}))
    return 0


def welch(a, b):
    """(p, note) of Welch's two-sided t-test; None where it is undefined."""
    if len(a) < 2 or len(b) < 2:
        return None, "n < 2"
    sa, sb = statistics.stdev(a), statistics.stdev(b)
    if sa == 0 and sb == 0:  # constant on both sides: equal or not, no variance to weigh it by
        return (1.0, "constant, equal") if statistics.mean(a) == statistics.mean(b) else (0.0, "constant, unequal")
    from scipy.stats import ttest_ind
    return float(ttest_ind(a, b, equal_var=False).pvalue), ""


def fmt_ms(values):
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def collect(out):
    results = []
    for path in sorted((pathlib.Path(out) / "runs").glob("*/*.json")):
        if path.name in ("mtdnn.json", "hf.json"):
            results.append(json.loads(path.read_text()))
    return results


def report(out, markdown):
    s = load_settings(out)
    results = collect(out)
    if not results:
        print(f"compare_finetune: no results under {out}/runs", file=sys.stderr)
        return 1
    rows, times = [], []
    for task in [t for t in TASKS if any(r["task"] == t for r in results)]:
        by_side = {side: [r for r in results if r["task"] == task and r["side"] == side] for side in SIDES}
        for metric in METRICS[task]:
            v = {side: [r["metrics"][metric] for r in by_side[side] if metric in r["metrics"]] for side in SIDES}
            p, note = welch(v["mtdnn"], v["hf"])
            diff = statistics.mean(v["mtdnn"]) - statistics.mean(v["hf"]) if v["mtdnn"] and v["hf"] else None
            agree = "n/a" if p is None else ("yes" if p >= ALPHA else "no")
            rows.append({"task": task, "metric": metric, "mtdnn": v["mtdnn"], "hf": v["hf"],
                         "mtdnn_mean": statistics.mean(v["mtdnn"]) if v["mtdnn"] else None,
                         "hf_mean": statistics.mean(v["hf"]) if v["hf"] else None,
                         "mtdnn_sd": statistics.stdev(v["mtdnn"]) if len(v["mtdnn"]) > 1 else None,
                         "hf_sd": statistics.stdev(v["hf"]) if len(v["hf"]) > 1 else None,
                         "diff": diff, "p": p, "note": note, "agree": agree})
        secs = {side: sum(r["seconds"] for r in by_side[side]) for side in SIDES}
        runs = {side: len(by_side[side]) for side in SIDES}
        steps = {side: sorted({r["steps"] for r in by_side[side]}) for side in SIDES}
        times.append({"task": task, "runs": runs, "seconds": secs, "steps": steps,
                      "ratio": secs["hf"] / secs["mtdnn"] if secs["mtdnn"] > 0 and runs["hf"] else None})
    total = {side: sum(t["seconds"][side] for t in times) for side in SIDES}
    total_ratio = total["hf"] / total["mtdnn"] if total["mtdnn"] > 0 else None

    out_dir = pathlib.Path(out)
    (out_dir / "results.json").write_text(json.dumps(
        {"settings": s, "alpha": ALPHA, "metrics": rows, "times": times, "total_seconds": total,
         "total_ratio": total_ratio, "runs": results}, indent=2) + "\n")
    with open(out_dir / "results.tsv", "w") as f:
        f.write("task\tmetric\tside\tseed\tvalue\tseconds\tsteps\n")
        for r in sorted(results, key=lambda r: (TASKS.index(r["task"]), r["side"], r["seed"])):
            for metric, value in r["metrics"].items():
                f.write(f"{r['task']}\t{metric}\t{r['side']}\t{r['seed']}\t{value:.4f}\t{r['seconds']:.2f}\t{r['steps']}\n")

    def p_text(r):
        if r["p"] is None:
            return "n/a"
        return f"{r['p']:.3f}" + (f" ({r['note']})" if r["note"] else "")

    def ratio_text(x):
        return "-" if x is None else f"{x:.2f}x"

    lines = []
    if markdown:
        lines += [caption(s, total, total_ratio), ""]
    lines += ["| task | metric | mtdnn-train | Hugging Face | difference | Welch p | agree |",
              "|---|---|---:|---:|---:|---:|---|"]
    for r in rows:
        d = "-" if r["diff"] is None else f"{r['diff']:+.2f}"
        lines.append(f"| {TASK_NAMES[r['task']]} | {r['metric']} | {fmt_ms(r['mtdnn'])} | {fmt_ms(r['hf'])} | {d} "
                     f"| {p_text(r)} | {r['agree']} |")
    lines += ["", "| task | steps per run | runs per side | mtdnn-train s | Hugging Face s | HF / mtdnn |",
              "|---|---:|---:|---:|---:|---:|"]
    for t in times:
        steps = ",".join(str(x) for x in sorted(set(t["steps"]["mtdnn"]) | set(t["steps"]["hf"])))
        lines.append(f"| {TASK_NAMES[t['task']]} | {steps} | {t['runs']['mtdnn']} / {t['runs']['hf']} "
                     f"| {t['seconds']['mtdnn']:.0f} | {t['seconds']['hf']:.0f} | {ratio_text(t['ratio'])} |")
    lines.append(f"| total | | | {total['mtdnn']:.0f} | {total['hf']:.0f} | {ratio_text(total_ratio)} |")
    print("\n".join(lines))
    mismatched = [t["task"] for t in times if t["steps"]["mtdnn"] and t["steps"]["hf"]
                  and t["steps"]["mtdnn"] != t["steps"]["hf"]]
    if mismatched:
        print(f"compare_finetune: the sides took different step counts on {', '.join(mismatched)}", file=sys.stderr)
        return 1
    return 0


def caption(s, total, total_ratio):
    epochs = ", ".join(f"{TASK_NAMES[t]} {s['epochs'][t]}" + (f" (at most {s['max_steps'][t]} steps)"
                                                             if s["max_steps"][t] > 0 else "")
                       for t in s["tasks"])
    return (f"Dev-set results of `scripts/compare-hf-finetune.sh --update-readme`: {s['encoder_name']} fine-tuned "
            f"on each task alone by mtdnn-train ({s['ranks']} ranks x 1 thread) and by a plain PyTorch loop over "
            f"Hugging Face's BertForSequenceClassification (transformers {s.get('transformers', '?')}, "
            f"torch.set_num_threads({s['hf_threads']})) on the same {s['cores']}-core machine, runs of the two "
            f"sides interleaved. Same settings on both sides: AdamW lr {s['lr']:g}, batch {s['batch_size']}, "
            f"max length {s['max_seq_len']}, warm-up {s['warmup']:g} of the steps then linear decay, weight "
            f"decay {s['weight_decay']:g}, eps {s['eps']:g}, grad-norm clip {s['grad_clip']:g}, dropout 0.1; "
            f"epochs: {epochs}. Seeds {', '.join(str(x) for x in s['seed_list'])}; mean ± sample sd over seeds, "
            f"x100. Difference = mtdnn-train - Hugging Face; the sides agree when Welch's two-sided t-test "
            f"(unequal variances) gives p >= {ALPHA}. Wall-clock time of each run from launch to the end of "
            f"its dev evaluation, tokenization included on both sides (mtdnn-preprocess's time per task added "
            f"to each of its runs); time ratio Hugging Face / mtdnn-train: {total_ratio:.2f}x in total "
            f"({total['hf'] / 60:.1f} min against {total['mtdnn'] / 60:.1f} min), per task below.")


def lines(paths):
    for path in paths:
        r = json.loads(pathlib.Path(path).read_text())
        metrics = "  ".join(f"{k} {v:.2f}" for k, v in r["metrics"].items())
        print(f"  {SIDE_NAMES[r['side']]:<13} {r['steps']:>5} steps {r['seconds']:8.1f} s  {metrics}")
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "line":
        return lines(argv[1:])
    if len(argv) >= 2 and argv[0] == "estimate":
        return estimate(argv[1])
    if len(argv) == 5 and argv[0] == "mtdnn-result":
        return mtdnn_result(*argv[1:])
    if len(argv) >= 2 and argv[0] == "report":
        return report(argv[1], "--markdown" in argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
