#!/usr/bin/env python3
"""corpus: the seed programs of the fuzzers, one file each, written to a folder.

Sources: programs/*.vec, the conformance programs beside the checkout (../shared/conformance and
its v1/), Tests/FuzzRegressions/*.vec, the programs embedded in the tests' Swift sources (every
multi-line string literal that compiles as a program is kept by the fuzzers; the others are still
useful inputs for the front end), the ```vec blocks of docs/*.md, and --generated programs of
fuzz/vecgen.py.

    python3 fuzz/corpus.py OUT_DIR [--generated N] [--v1]
"""

import argparse
import glob
import hashlib
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "fuzz"))


def swift_multiline_strings(text):
    """The contents of the \"\"\" ... \"\"\" literals of a Swift file, with their indentation removed."""
    out = []
    for m in re.finditer(r'"""\n(.*?)\n([ \t]*)"""', text, re.S):
        body, indent = m.group(1), m.group(2)
        lines = [l[len(indent):] if l.startswith(indent) else l.lstrip() for l in body.split("\n")]
        s = "\n".join(lines) + "\n"
        if "\\(" in s:  # an interpolated literal: not a fixed program
            continue
        out.append(s.replace('\\"', '"').replace("\\\\", "\\"))
    return out


def swift_line_strings(text):
    """One-line Swift string literals that look like programs (they print, declare or define)."""
    out = []
    for m in re.finditer(r'"((?:[^"\\\n]|\\.)*)"', text):
        s = m.group(1)
        if "\\(" in s or not re.search(r"\b(print|let|var|fn|spawn|chan)\b", s):
            continue
        out.append(s.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\") + "\n")
    return out


def markdown_vec_blocks(text):
    return [m.group(1) for m in re.finditer(r"```vec\n(.*?)```", text, re.S)]


def seeds(generated=0, v1=False):
    found = []
    for pattern in ["programs/*.vec", "Tests/FuzzRegressions/*.vec"]:
        for p in sorted(glob.glob(os.path.join(ROOT, pattern))):
            found.append(open(p, encoding="utf-8", errors="replace").read())
    conf = os.path.join(os.path.dirname(ROOT), "shared", "conformance")
    for p in sorted(glob.glob(os.path.join(conf, "*.vec")) + glob.glob(os.path.join(conf, "v1", "*.vec"))):
        found.append(open(p, encoding="utf-8", errors="replace").read())
    for p in sorted(glob.glob(os.path.join(ROOT, "Tests", "**", "*.swift"), recursive=True)):
        text = open(p, encoding="utf-8").read()
        found += swift_multiline_strings(text) + swift_line_strings(text)
    for p in sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")) + [os.path.join(ROOT, "README.md")]):
        found += markdown_vec_blocks(open(p, encoding="utf-8").read())
    if generated:
        import vecgen

        for s in range(generated):
            found.append(vecgen.generate(1_000_000 + s, v1=v1, size=0.5))
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--generated", type=int, default=0, help="add this many vecgen programs")
    ap.add_argument("--v1", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    n = 0
    for text in seeds(a.generated, a.v1):
        data = text.encode("utf-8")
        name = hashlib.sha1(data).hexdigest()[:16] + ".vec"
        path = os.path.join(a.out, name)
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(data)
            n += 1
    print("corpus: %d new seed files in %s" % (n, a.out))


if __name__ == "__main__":
    main()
