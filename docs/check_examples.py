#!/usr/bin/env python3
"""Checks the examples of a Markdown file of docs/ against a vecvm binary: every ```vec block that is
followed by a ```text block (what it prints: standard output, then standard error) is run as
example.vec in an empty folder, and the output and exit status (`<!-- exit N -->` before the block,
else 0) are compared. --update rewrites the ```text blocks with what the binary printed.

usage: docs/check_examples.py PATH/TO/vecvm docs/language.md [--update]
"""
import difflib
import os
import re
import subprocess
import sys
import tempfile

if len(sys.argv) < 3:
    sys.exit(__doc__)
vecvm, path, update = os.path.abspath(sys.argv[1]), sys.argv[2], "--update" in sys.argv[3:]
text = open(path).read()
pattern = re.compile(r"(<!-- exit (\d+) -->\n)?```vec\n((?:(?!```).*\n)*?)```\n\n```text\n((?:(?!```).*\n)*?)```")
out, last, bad, count = [], 0, 0, 0
with tempfile.TemporaryDirectory() as d:
    for m in pattern.finditer(text):
        count += 1
        status, src, want = int(m.group(2) or 0), m.group(3), m.group(4)
        with open(os.path.join(d, "example.vec"), "w") as f:
            f.write(src)
        env = dict(os.environ)
        env.pop("NO_COLOR", None)
        r = subprocess.run([vecvm, "run", "example.vec"], cwd=d, capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL, env=env)
        got = r.stdout + r.stderr
        if got != want or r.returncode != status:
            bad += 1
            line = text[:m.start()].count("\n") + 1
            print(f"--- {path}:{line}: exit {r.returncode} (want {status})")
            print("".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True), "want", "got")))
            if update and r.returncode == status:
                out.append(text[last:m.start(4)] + got)
                last = m.end(4)
out.append(text[last:])
if update and bad:
    with open(path, "w") as f:
        f.write("".join(out))
print(f"{count} examples, {bad} differ" + (" (those with the right exit status updated)" if update and bad else ""))
sys.exit(1 if bad and not update else 0)
