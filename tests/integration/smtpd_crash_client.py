#!/usr/bin/python3
"""smtpd_crash_client.py - N clients send M messages each to the listener
while the test kills and restarts it; every step is written down.

Each client thread sends its messages one per transaction (X-Crash-Id:
"<client>-<n>"), reconnecting when the connection breaks (waiting for the
listener to come back, bounded by --deadline). Before the final dot goes
out it writes "dot ID" to its log, and "ok ID" once the 250 came. So the
log tells, for each message: never sent its dot (must never be
delivered), sent its dot without a reply (may be delivered, at most once:
the window every MTA has), or got its 250 (must be delivered exactly
once). "done" ends a client's log.
"""
import argparse
import smtplib
import sys
import threading
import time


def client(a, c, out, lock):
    n = 0
    s = None
    deadline = time.monotonic() + a.deadline
    while n < a.messages and time.monotonic() < deadline:
        mid = "%d-%d" % (c, n)
        try:
            if s is None:
                s = smtplib.SMTP(a.host, a.port, timeout=20)
                s.ehlo("crash%d.test" % c)
            code, _ = s.mail("sender%d@remote.test" % c)
            if code != 250:
                raise smtplib.SMTPException("MAIL %d" % code)
            code, _ = s.rcpt("box%d@example.com" % c)
            if code != 250:
                raise smtplib.SMTPException("RCPT %d" % code)
            s.putcmd("data")
            code, _ = s.getreply()
            if code != 354:
                raise smtplib.SMTPException("DATA %d" % code)
            body = ("Subject: crash %s\r\nX-Crash-Id: %s\r\n\r\n" % (mid, mid)
                    + ("line of the message %s\r\n" % mid) * 30)
            s.send(body.encode())
            with lock:
                out.write("dot %s\n" % mid)
                out.flush()
            s.send(b".\r\n")
            code, _ = s.getreply()
            if code == 250:
                with lock:
                    out.write("ok %s\n" % mid)
                    out.flush()
            n += 1
        except (OSError, smtplib.SMTPException):
            # the listener is gone (killed): this message's fate is in
            # the log; try again with the next one once it is back
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
            s = None
            n += 1
            time.sleep(0.2)
    if s is not None:
        try:
            s.quit()
        except (OSError, smtplib.SMTPException):
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--messages", type=int, default=100)
    ap.add_argument("--deadline", type=float, default=240)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    lock = threading.Lock()
    with open(a.log, "w") as out:
        ts = [threading.Thread(target=client, args=(a, c, out, lock))
              for c in range(a.clients)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        out.write("done\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
