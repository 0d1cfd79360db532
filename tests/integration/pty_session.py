#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""pty_session.py SCRIPT -- CMD...

Run CMD on a pseudo-terminal (80x24) and play SCRIPT, one step a line:
  expect TEXT   wait (up to 10 s) until TEXT has appeared since the last
                expect, else fail
  send TEXT     type TEXT (\\n, \\r, \\x03 for Ctrl-C, \\x1a for Ctrl-Z)
  sleep S       wait S seconds
  until PATH    wait (up to 10 s) until the file PATH exists, else fail
Everything CMD shows is printed at the end, byte for byte (escaped), so
that two runs can be compared.
"""
import codecs, os, pty, select, struct, sys, time, fcntl, termios

script, cmd = sys.argv[1], sys.argv[sys.argv.index('--') + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 80, 0, 0))
seen, mark = b"", 0

def pump(deadline):
    global seen
    r, _, _ = select.select([fd], [], [], max(0, deadline - time.time()))
    if r:
        try:
            d = os.read(fd, 4096)
        except OSError:
            return False
        if not d:
            return False
        seen += d
    return True

for line in open(script).read().splitlines():
    if not line.strip():
        continue
    op, _, arg = line.partition(' ')
    arg = codecs.decode(arg, 'unicode_escape').encode('latin-1')
    if op == 'expect':
        deadline = time.time() + 10
        while arg not in seen[mark:] and time.time() < deadline:
            if not pump(deadline):
                break
        if arg not in seen[mark:]:
            sys.stdout.write("never saw %r; the screen had: %r\n" % (arg, seen[-300:]))
            sys.exit(1)
        mark = seen.index(arg, mark) + len(arg)
    elif op == 'send':
        os.write(fd, arg)
    elif op == 'until':
        deadline = time.time() + 10
        while not os.path.exists(arg) and time.time() < deadline:
            pump(time.time() + 0.05)
        if not os.path.exists(arg):
            sys.stdout.write("never saw the file %r; the screen had: %r\n" % (arg, seen[-300:]))
            sys.exit(1)
    elif op == 'sleep':
        end = time.time() + float(arg)
        while time.time() < end and pump(end):
            pass
end = time.time() + 10
while pump(end):
    pass
os.waitpid(pid, 0)
sys.stdout.write(repr(seen) + "\n")
