#!/usr/bin/env python3
"""Writes the tutorial's example data (docs/custom-task.md) into this folder.

Small, made-up rows following fixed patterns; deterministic (fixed seed). The .tsv files
are committed: re-run only to change them.  python3 docs/custom-task/make_data.py
"""
import os
import random

here = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(7)

# ticket: classification, string labels (premise only)
ticket_templates = {
    "billing": ["I was charged twice for my {m} invoice", "Please refund the {m} payment",
                "My credit card was billed the wrong amount in {m}", "Why is my {m} bill so high",
                "Can I get a receipt for the {m} charge"],
    "technical": ["The app crashes when I open the {d} screen", "I get an error 500 on the {d} page",
                  "The {d} button does nothing", "Sync stopped working on my {d}",
                  "The {d} page loads forever"],
    "account": ["How do I change the email on my {a} account", "I forgot the password of my {a} account",
                "Please delete my {a} account", "I want to add a second user to my {a} account",
                "How do I rename my {a} account"],
}
months = ["january", "february", "march", "april", "may", "june", "july", "august"]
devices = ["phone", "tablet", "laptop", "settings", "dashboard", "upload", "login", "report"]
accounts = ["family", "business", "trial", "student", "team", "personal", "school", "premium"]

def ticket_row(label):
    t = rng.choice(ticket_templates[label])
    return t.format(m=rng.choice(months), d=rng.choice(devices), a=rng.choice(accounts))

# urgency: regression, score 0-5 (premise and hypothesis: subject and body)
urgency_parts = [
    (0.0, "question about the newsletter", "just curious when the next issue comes out"),
    (1.0, "small typo on the website", "there is a spelling mistake on the about page"),
    (2.0, "feature request", "it would be nice to export reports as csv"),
    (3.0, "slow dashboard", "the dashboard takes a minute to load every morning"),
    (4.0, "cannot log in", "none of my team can log in since this morning"),
    (5.0, "production is down", "our whole shop is offline and customers cannot pay"),
]
urgency_suffix = ["", " please help", " thanks", " asap", " any news", " regards"]

# faq: ranking, a question and 3 candidate answers, label = index of the right one
faq = [
    ("how do i reset my password", "use the forgot password link on the login page"),
    ("how do i get a refund", "refunds are requested from the billing page within 30 days"),
    ("can i change my plan", "plans can be changed at any time under subscription"),
    ("how do i export my data", "the export button on the settings page makes a zip file"),
    ("is there a mobile app", "yes, the app is in both app stores"),
    ("how do i contact support", "write to support through the help menu"),
    ("how do i delete my account", "account deletion is under settings then privacy"),
    ("which payment methods do you accept", "we accept credit cards and bank transfer"),
]
faq_prefix = ["", "please tell me ", "quick question: ", "hi, "]

def write(name, rows):
    with open(os.path.join(here, name), "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write("\t".join(r) + "\n")

for split, n in (("train", 60), ("dev", 24), ("test", 12)):
    labels = ["billing", "technical", "account"]
    rows = []
    for i in range(n):
        label = labels[i % 3]
        rows.append((f"{split}-{i}", label if split != "test" else "billing", ticket_row(label)))
    write(f"ticket_{split}.tsv", rows)

    rows = []
    for i in range(n):
        score, subject, body = urgency_parts[rng.randrange(len(urgency_parts))]
        s = min(5.0, max(0.0, score + rng.choice([-0.5, 0.0, 0.0, 0.5])))
        rows.append((f"{split}-{i}", f"{s:.1f}" if split != "test" else "0", subject, body + rng.choice(urgency_suffix)))
    write(f"urgency_{split}.tsv", rows)

    rows = []
    for i in range(n // 2):
        q, a = faq[i % len(faq)]
        others = [x[1] for x in faq if x[1] != a]
        cands = rng.sample(others, 2)
        pos = rng.randrange(3)
        cands.insert(pos, a)
        cuids = ",".join(f"{split}-{i}-{k}" for k in range(3))
        rows.append((f"{split}-{i}", cuids, str(pos) if split != "test" else "0",
                     rng.choice(faq_prefix) + q, *cands))
    write(f"faq_{split}.tsv", rows)
