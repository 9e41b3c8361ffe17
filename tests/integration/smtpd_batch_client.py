#!/usr/bin/python3
"""smtpd_batch_client.py - N listener sessions whose final dots land in one
batch, for the tests of what a whole batch hears.

HOST PORT PID N: opens N sessions, takes each through EHLO, MAIL, RCPT
(to batchK@example.com, K = 0..N-1) and DATA and sends its message
without the final dot; then stops the daemon (PID) with SIGSTOP, sends
every final dot, and lets it go on (SIGCONT): the daemon finds all the
dots in one loop round, so they share one batch. Prints "K: <reply>" for
each session's reply to its dot. Every wait is bounded (10 s a reply).
"""
import os
import signal
import socket
import sys
import time


def reply(s):
    got = b""
    while True:
        lines = got.split(b"\r\n")
        # complete: a line whose fourth byte is a space, then CRLF
        if len(lines) > 1 and any(len(l) >= 4 and l[3:4] == b" "
                                  for l in lines[:-1]):
            return got.decode("utf-8", "replace").strip()
        b = s.recv(65536)
        if not b:
            return (got + b"[closed]").decode("utf-8", "replace").strip()
        got += b


def main():
    host, port, pid, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
        int(sys.argv[4])
    socks = []
    for k in range(n):
        s = socket.create_connection((host, port), timeout=10)
        reply(s)
        for cmd in (b"EHLO batch.test", b"MAIL FROM:<a@remote.test>",
                    b"RCPT TO:<batch%d@example.com>" % k, b"DATA"):
            s.sendall(cmd + b"\r\n")
            r = reply(s)
            if not r[:1] in ("2", "3"):
                print("%d: setup refused at %r: %s" % (k, cmd, r))
                return 1
        s.sendall(b"Subject: batch %d\r\n\r\nbody %d\r\n" % (k, k))
        socks.append(s)
    os.kill(pid, signal.SIGSTOP)
    try:
        for s in socks:
            s.sendall(b".\r\n")
        time.sleep(0.3)
    finally:
        os.kill(pid, signal.SIGCONT)
    for k, s in enumerate(socks):
        try:
            print("%d: %s" % (k, reply(s)))
        except OSError as e:
            print("%d: error %s" % (k, e))
        s.sendall(b"QUIT\r\n")
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
