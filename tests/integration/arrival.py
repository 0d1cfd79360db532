#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""arrival.py [--pty] [--partial] [--chunks] [--bytes] [VAR=VAL...] -- CMD...

Run CMD with stdout on a pipe (or a pseudo-terminal), and say how late its
first line arrived: the line is "before T" or "... T" with T the
CLOCK_MONOTONIC time it was written, or, for --chunks, print each chunk's
arrival time (s since the start) and bytes, or, for --bytes, all it wrote
as one bytes literal. The rest is read to the end.
"""
import os, pty, subprocess, sys, time

args = sys.argv[1:]
use_pty = chunks = partial = whole = False
while args and args[0].startswith('--') and args[0] != '--':
    if args[0] == '--pty': use_pty = True
    if args[0] == '--chunks': chunks = True
    if args[0] == '--bytes': whole = True
    if args[0] == '--partial': partial = True
    args = args[1:]
i = args.index('--')
env = dict(os.environ)
for kv in args[:i]:
    k, v = kv.split('=', 1)
    env[k] = v
cmd = args[i + 1:]
t0 = time.monotonic()
if use_pty:
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(cmd[0], cmd, env)
    read = lambda: os.read(fd, 4096)
else:
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env)
    fd = p.stdout.fileno()
    read = lambda: os.read(fd, 4096)
got, seen = b"", []
while True:
    try:
        d = read()
    except OSError:
        break
    if not d:
        break
    seen.append((time.monotonic(), d))
    got += d
if use_pty:
    os.waitpid(pid, 0)
else:
    p.wait()
if chunks:
    print(" ".join("%.2f:%r" % (t - t0, d) for t, d in seen))
    sys.exit(0)
if whole:
    print(repr(got))
    sys.exit(0)
first = (seen[0][1] if partial and seen else got.split(b"\n", 1)[0]).split()
arrived = seen[0][0] if seen else None
# the time the first line (all of it) arrived; with --partial, its first
# bytes (a prompt has no newline)
acc = b""
for t, d in seen:
    acc += d
    if b"\n" in acc or partial:
        arrived = t
        break
try:
    print("%.3f" % (arrived - float(first[-1])))
except (ValueError, IndexError, TypeError):
    print("no timestamped first line: %r" % got[:80])
    sys.exit(1)
