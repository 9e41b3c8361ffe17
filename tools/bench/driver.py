#!/usr/bin/python3
"""Helper of tools/bench.sh (a benchmark, not a test): makes the messages,
drops them into Pickup, waits for deliveries and times single messages.

Run with Debian's /usr/bin/python3 (standard library only). Subcommands:

  gen DIR COUNT SIZE RCPTS PREFIX
      COUNT RFC 822 files of exactly SIZE bytes in DIR, named PREFIX-NNNNNN,
      To: user1..userRCPTS@example.com round-robin.
  drop SRC DST
      rename every file of SRC (sorted) into DST as fast as possible; prints
      "T0_NS T1_NS COUNT" (CLOCK_REALTIME ns of the first and last rename).
  wait --base B --users R --expect N --timeout S [--ready FILE]
      watch B/userI/new (I = 1..R) with inotify until N new files are there
      (checked with os.scandir); prints "T_DONE_NS COUNT" (CLOCK_REALTIME ns
      of the delivery that completed the set) or exits 1 on time-out.
  latency --newdir D --samples N --timeout S (--pickup P --src DIR |
          --cmd "sendmail ..." --src DIR) [--gap-ms G]
      one message at a time: rename into P (or run the command with the file
      on stdin), wait for the file in D, record the nanosecond delay; prints
      "median_ms p90_ms min_ms max_ms n".
"""
import ctypes
import os
import select
import shlex
import struct
import subprocess
import sys
import time

IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_Q_OVERFLOW = 0x00004000
IN_ISDIR = 0x40000000
IN_ONLYDIR = 0x01000000

_libc = ctypes.CDLL("libc.so.6", use_errno=True)


class Inotify:
    """Minimal inotify through ctypes (new entries in some folders)."""

    def __init__(self, dirs):
        self.fd = _libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        for d in dirs:
            wd = _libc.inotify_add_watch(self.fd, os.fsencode(d),
                                         IN_CREATE | IN_MOVED_TO | IN_ONLYDIR)
            if wd < 0:
                raise OSError(ctypes.get_errno(), "inotify_add_watch " + d)
        self.poller = select.poll()
        self.poller.register(self.fd, select.POLLIN)
        self.overflow = False

    def wait(self, timeout_ms):
        """New file entries seen within timeout_ms (0 if none)."""
        if not self.poller.poll(timeout_ms):
            return 0
        return self.drain()

    def drain(self):
        n = 0
        while True:
            try:
                buf = os.read(self.fd, 256 * 1024)
            except BlockingIOError:
                return n
            off = 0
            while off < len(buf):
                _wd, mask, _cookie, ln = struct.unpack_from("iIII", buf, off)
                off += 16 + ln
                if mask & IN_Q_OVERFLOW:
                    self.overflow = True
                elif mask & (IN_CREATE | IN_MOVED_TO) and not mask & IN_ISDIR:
                    n += 1

    def close(self):
        os.close(self.fd)


def count_files(dirs):
    n = 0
    for d in dirs:
        with os.scandir(d) as it:
            for e in it:
                if not e.name.startswith("."):
                    n += 1
    return n


def cmd_gen(a):
    d, count, size, rcpts, prefix = a[0], int(a[1]), int(a[2]), int(a[3]), a[4]
    os.makedirs(d, exist_ok=True)
    line = (b"The quick brown fox jumps over the lazy dog; "
            b"0123456789 abcdefghijklmnopqrstuvwxyz.\r\n")
    for i in range(1, count + 1):
        u = (i - 1) % rcpts + 1
        head = (f"From: sender@example.com\r\nTo: user{u}@example.com\r\n"
                f"Subject: bench {prefix} {i}\r\n"
                f"Message-ID: <{prefix}.{i}@bench.example>\r\n"
                f"Date: Mon, 24 Nov 2025 12:00:00 +0000\r\n\r\n").encode()
        left = max(size - len(head), 2)
        body = (line * (left // len(line) + 1))[:left - 2] + b"\r\n"
        with open(os.path.join(d, f"{prefix}-{i:06d}"), "wb") as f:
            f.write(head + body)


def cmd_drop(a):
    src, dst = a[0], a[1]
    names = sorted(os.listdir(src))
    ren = os.rename
    t0 = time.time_ns()
    for n in names:
        ren(os.path.join(src, n), os.path.join(dst, n))
    t1 = time.time_ns()
    print(t0, t1, len(names))


def opts(a):
    o = {}
    i = 0
    while i < len(a):
        if not a[i].startswith("--") or i + 1 >= len(a):
            sys.exit(f"driver.py: bad argument {a[i]}")
        o[a[i][2:]] = a[i + 1]
        i += 2
    return o


def cmd_wait(a):
    o = opts(a)
    dirs = [os.path.join(o["base"], f"user{i}", "new")
            for i in range(1, int(o["users"]) + 1)]
    expect = int(o["expect"])
    deadline = time.monotonic() + float(o["timeout"])
    ino = Inotify(dirs)
    seen = count_files(dirs)
    if "ready" in o:
        with open(o["ready"], "w") as f:
            f.write("ready\n")
    last_check = time.monotonic()
    while True:
        seen += ino.wait(20 if ino.overflow else 200)
        now_ns = time.time_ns()
        mono = time.monotonic()
        if seen >= expect or ino.overflow or mono - last_check > 0.25:
            c = count_files(dirs)
            last_check = mono
            if c >= expect:
                print(now_ns, c)
                return 0
            seen = c + ino.drain()
        if mono > deadline:
            print(f"driver.py wait: timed out with {count_files(dirs)} of "
                  f"{expect}", file=sys.stderr)
            print(0, count_files(dirs))
            return 1


def cmd_latency(a):
    o = opts(a)
    newdir = o["newdir"]
    samples = int(o["samples"])
    timeout = float(o["timeout"])
    gap = float(o.get("gap-ms", "50")) / 1000.0
    names = sorted(os.listdir(o["src"]))[:samples]
    if len(names) < samples:
        sys.exit("driver.py latency: not enough staged files")
    cmd = shlex.split(o["cmd"]) if "cmd" in o else None
    ino = Inotify([newdir])
    res = []
    overall = time.monotonic() + timeout * samples
    for n in names:
        path = os.path.join(o["src"], n)
        before = count_files([newdir])
        ino.drain()
        if cmd is None:
            t0 = time.perf_counter_ns()
            os.rename(path, os.path.join(o["pickup"], n))
        else:
            t0 = time.perf_counter_ns()
            with open(path, "rb") as f:
                subprocess.run(cmd, stdin=f, check=True, timeout=timeout)
        deadline = time.monotonic() + timeout
        got = False
        while time.monotonic() < deadline:
            if ino.wait(100) > 0 or ino.overflow:
                t1 = time.perf_counter_ns()
                if count_files([newdir]) > before:
                    got = True
                    break
        if not got:
            print(f"driver.py latency: {n} not delivered in {timeout}s",
                  file=sys.stderr)
            return 1
        res.append((t1 - t0) / 1e6)
        if time.monotonic() > overall:
            break
        time.sleep(gap)
    res.sort()
    k = len(res)
    med = res[k // 2] if k % 2 else (res[k // 2 - 1] + res[k // 2]) / 2
    p90 = res[max(0, -(-9 * k // 10) - 1)]
    print(f"{med:.3f} {p90:.3f} {res[0]:.3f} {res[-1]:.3f} {k}")
    return 0


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, a = sys.argv[1], sys.argv[2:]
    fn = {"gen": cmd_gen, "drop": cmd_drop, "wait": cmd_wait,
          "latency": cmd_latency}.get(cmd)
    if fn is None:
        sys.exit(__doc__)
    sys.exit(fn(a) or 0)


if __name__ == "__main__":
    main()
