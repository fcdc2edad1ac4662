#!/usr/bin/env python3
"""The unlabeled text of GLUE's tasks as a pretraining corpus (BERT's text format).

    scripts/glue-corpus.py GLUE_DIR OUT.txt

Reads every <Task>/<split>.tsv under GLUE_DIR (train, dev and test files alike) and keeps
only the text columns, found by their header names (sentence, sentence1/2, question,
question1/2, #1/#2 String; CoLA's headerless train and dev files: the fourth column).
Label columns are never read. Each row becomes one document: its first text field split
into sentences (a multi-sentence premise), then its second; one sentence per line, a blank
line between documents, as mtdnn-preprocess reads for a MaskLM task. Rows whose text was
already seen (the same pair in two files) are written once. Prints one line per file and
the totals to stderr. Standard library only.
"""
import pathlib
import re
import sys

TEXT_COLUMNS = ["sentence", "sentence1", "question", "question1", "#1 String",
                "sentence2", "question2", "#2 String"]
HEADERLESS = {"CoLA": [3]}  # CoLA's train/dev files: source, label, original label, sentence
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(]?[A-Z])")


def sentences(text: str):
    text = " ".join(text.split())
    return [s for s in SENTENCE_END.split(text) if s] if text else []


def text_columns(task: str, first_line: str):
    names = [n.strip().lstrip("\ufeff") for n in first_line.rstrip("\n").split("\t")]
    found = [names.index(c) for c in TEXT_COLUMNS if c in names]
    if found:
        # the premise's column first, then the hypothesis's, as they appear in the file
        return sorted(found), True
    if task in HEADERLESS:
        return HEADERLESS[task], False
    return None, False


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    glue, out_path = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    seen = set()
    docs = lines = 0
    with open(out_path, "w", encoding="utf-8") as out:
        for path in sorted(glue.glob("*/*.tsv")):
            task = path.parent.name
            with open(path, encoding="utf-8", newline="\n") as f:
                first = f.readline()
                columns, has_header = text_columns(task, first)
                if columns is None:
                    print(f"glue-corpus: {path}: no text column known, skipped", file=sys.stderr)
                    continue
                rows = f if has_header else [first, *f]
                file_docs = 0
                for row in rows:
                    fields = row.rstrip("\n").split("\t")
                    if len(fields) <= max(columns):
                        continue
                    doc = [s for c in columns for s in sentences(fields[c])]
                    key = "\n".join(doc)
                    if not doc or key in seen:
                        continue
                    seen.add(key)
                    out.write(key + "\n\n")
                    file_docs += 1
                    lines += len(doc)
            docs += file_docs
            print(f"glue-corpus: {task}/{path.name}: {file_docs} documents", file=sys.stderr)
    print(f"glue-corpus: {docs} documents, {lines} sentences -> {out_path}", file=sys.stderr)
    return 0 if docs else 1


if __name__ == "__main__":
    sys.exit(main())
