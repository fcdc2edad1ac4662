#!/usr/bin/env python3
"""Replaces a generated block of README.md with the text on stdin, or checks it.

    some-command | scripts/readme-block.py NAME            # rewrite <!-- NAME --> ... <!-- /NAME -->
    some-command | scripts/readme-block.py NAME --check    # exit 1 if the block differs

Every figure and every --help listing in the README lives in such a block, written by the
command that produced it (see scripts/update-readme-cli.sh and the bench scripts).
"""
import pathlib
import sys


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    name, check = sys.argv[1], "--check" in sys.argv[2:]
    readme = pathlib.Path(__file__).resolve().parent.parent / "README.md"
    text = readme.read_text(encoding="utf-8")
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    i, j = text.find(start), text.find(end)
    if i < 0 or j < i:
        print(f"README.md has no block {start} ... {end}", file=sys.stderr)
        return 2
    body = sys.stdin.read().rstrip("\n")
    new = text[: i + len(start)] + "\n" + body + "\n" + text[j:]
    if check:
        if new != text:
            print(f"README.md block '{name}' is out of date; run scripts/update-readme-cli.sh", file=sys.stderr)
            return 1
        return 0
    readme.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
