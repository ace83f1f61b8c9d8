#!/usr/bin/env python3
"""The swift-testing tests of a log (argv[1]) that started and have no result line: what a hung
run was doing (.ci/watch.sh)."""
import re
import sys

started, finished = [], set()
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r"Test (\S+?\(.*?\)) started", line)
    if m:
        started.append(m.group(1))
    m = re.search(r"Test (\S+?\(.*?\)) (passed|failed|skipped|recorded)", line)
    if m:
        finished.add(m.group(1))
for name in dict.fromkeys(started):
    if name not in finished:
        print(name)
