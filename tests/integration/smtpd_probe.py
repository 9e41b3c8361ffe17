#!/usr/bin/python3
"""smtpd_probe.py - a raw SMTP client for the listener's tests.

Connects to HOST PORT (from --source, if given), reads the greeting
(unless --early: then the input goes out at once, before any greeting),
sends stdin as it is (pipelined: every byte in one go, or --slow: line by
line, each after the previous reply) and prints every reply byte it gets
until the server closes or --timeout seconds pass without a byte. No
interpretation: the test greps the transcript. Exit 0 always once
connected (2 when the connection cannot be made).
"""
import argparse
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--source")
    ap.add_argument("--early", action="store_true")
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--hold", type=float, default=0.0,
                    help="seconds to stay connected after sending")
    ap.add_argument("--close-after-send", action="store_true",
                    help="close right after sending (a client that vanishes)")
    a = ap.parse_args()
    data = sys.stdin.buffer.read()
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    try:
        if a.source:
            s.bind((a.source, 0))
        s.connect((a.host, a.port))
    except OSError as e:
        print("connect failed: %s" % e)
        return 2
    out = sys.stdout.buffer
    got = b""
    if not a.early:
        # a greeting is complete at a line whose fourth byte is a space
        while not (got.endswith(b"\n") and
                   got.splitlines()[-1][3:4] in (b" ", b"")):
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            got += b
        out.write(got)
    try:
        s.sendall(data)
    except OSError as e:
        out.write(("send failed: %s\n" % e).encode())
    if a.close_after_send:
        s.close()
        return 0
    end = time.monotonic() + a.hold
    while True:
        try:
            b = s.recv(65536)
        except socket.timeout:
            if time.monotonic() < end:
                continue
            break
        except OSError as e:
            out.write(("recv failed: %s\n" % e).encode())
            break
        if not b:
            out.write(b"[closed]\n")
            break
        out.write(b)
        out.flush()
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
