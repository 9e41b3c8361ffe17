#!/usr/bin/python3
"""Helper of tools/bench.sh (a benchmark, not a test): makes the messages,
drops them into Pickup, waits for deliveries and times single messages.

Run with Debian's /usr/bin/python3 (standard library only). Subcommands:

  gen DIR COUNT SIZE RCPTS PREFIX [DOMAIN]
      COUNT RFC 822 files of exactly SIZE bytes in DIR, named PREFIX-NNNNNN,
      To: user1..userRCPTS@DOMAIN (example.com) round-robin.
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
  waitlog --file F --pattern P --expect N --timeout S [--offset BYTES]
          [--ready FILE]
      follow the log F from byte BYTES (0) until N lines match the regular
      expression P; prints
      "T_DONE_NS COUNT" (CLOCK_REALTIME ns when the Nth was seen, polled
      every 10 ms) or exits 1 on time-out.
  procstat PID
      CPU seconds (user+system, its waited-for children included) and the
      sum of VmHWM (kB) of PID and every live descendant, and how many
      processes that is: "CPU_S HWM_KB PROCESSES".
  fstable RESULTS FS...
      the per-file-system tables of tools/bench/fs.sh from its results file.
"""
import ctypes
import os
import re
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
    domain = a[5] if len(a) > 5 else "example.com"
    os.makedirs(d, exist_ok=True)
    line = (b"The quick brown fox jumps over the lazy dog; "
            b"0123456789 abcdefghijklmnopqrstuvwxyz.\r\n")
    for i in range(1, count + 1):
        u = (i - 1) % rcpts + 1
        head = (f"From: sender@example.com\r\nTo: user{u}@{domain}\r\n"
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


def cmd_summary(a):
    """The final table from the key<TAB>value file bench.sh wrote."""
    vals = {}
    with open(a[0]) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            try:
                vals.setdefault(k, []).append(float(v))
            except ValueError:
                pass
    env = os.environ

    def med(k):
        v = sorted(vals.get(k, []))
        if not v:
            return None
        n = len(v)
        return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2

    def fmt(x, spec):
        if x is None:
            width = spec.split(".")[0]
            return "-".rjust(int(width)) if width.isdigit() else "-"
        return format(x, spec)

    def ratio(c, p):
        return "-" if c is None or p in (None, 0) else f"{c / p:.2f}x"

    pf = env.get("DO_POSTFIX") == "1"
    runs = int(env["RUNS"])
    out = []
    w = out.append
    w("")
    w("=" * 78)
    w(f"imc-connector vs Postfix {env.get('PF_VERSION') or '-'}: "
      f"Pickup/maildrop to Maildir ({runs} run{'s' if runs > 1 else ''}, "
      f"medians)")
    w(f"{os.cpu_count()} CPUs; {env['RCPTS']} mailboxes round-robin; Postfix "
      f"fed by {env['PF_PAR']} parallel sendmail streams")
    w("=" * 78)
    w(f"{'':34}{'connector':>14}{'Postfix':>14}{'conn/Postfix':>14}")
    large_only = env.get("LARGE_ONLY") == "1"
    kinds = (("small", env["SMALL"], env["SMALL_SIZE"]),
             ("large", env["LARGE"], env["LARGE_SIZE"]))
    for kind, n, size in kinds[1:] if large_only else kinds:
        n, size = int(n), int(size)
        label = f"{n} x {size / 1024:g} KB"
        cr, pr = med(f"c.{kind}.rate"), med(f"p.{kind}.rate")
        cs, ps = med(f"c.{kind}.secs"), med(f"p.{kind}.secs")
        w(f"{label:<20}{'msgs/s':<14}{fmt(cr, '14.1f')}{fmt(pr, '14.1f')}"
          f"{ratio(cr, pr):>14}")
        w(f"{'':<20}{'seconds':<14}{fmt(cs, '14.3f')}{fmt(ps, '14.3f')}"
          )
        mb = lambda s: None if s is None else n * size / s / 1e6
        w(f"{'':<20}{'MB/s':<14}{fmt(mb(cs), '14.2f')}{fmt(mb(ps), '14.2f')}")
        w(f"{'':<20}{'feed time s':<14}"
          f"{fmt(med(f'c.{kind}.drop_secs'), '14.3f')}"
          f"{fmt(med(f'p.{kind}.inject_secs'), '14.3f')}"
          f"{'  (drop/inject)':<16}")
        hw = med(f"c.{kind}.hwm_kb")
        phw = med(f"p.{kind}.hwm_kb")
        w(f"{'':<20}{'peak RSS MiB':<14}{fmt(hw and hw / 1024, '14.1f')}"
          f"{fmt(phw and phw / 1024, '14.1f')}{'  (Postfix: sum*)':<16}")
        w(f"{'':<20}{'syncs/msg':<14}"
          f"{fmt(med(f'c.{kind}.sync_per_msg'), '14.4f')}"
          f"{'-':>14}{'  (barriers/msg)':<16}")
        if runs > 1:
            for sysname, key in (("connector", "c"), ("Postfix", "p")):
                v = vals.get(f"{key}.{kind}.rate")
                if v:
                    w(f"{'':<20}{sysname + ' msgs/s per run: '}"
                      + ", ".join(f"{x:.1f}" for x in v))
    if env.get("DO_STRACE") == "1":
        n = int(env["STRACE_N"])
        cc = med("c.strace.calls")
        w("")
        w(f"real sync calls (strace -f -c fsync+fdatasync+syncfs), {n} x "
          f"{int(env['SMALL_SIZE']) / 1024:g} KB:")
        w(f"{'':<20}{'calls':<14}{fmt(cc, '14.0f')}"
          + (f"{fmt(med('p.strace.calls_daemons') + med('p.strace.calls_inject'), '14.0f')}"
             if pf and med("p.strace.calls_daemons") is not None else ""))
        pc = None
        if pf and med("p.strace.calls_daemons") is not None:
            pc = med("p.strace.calls_daemons") + med("p.strace.calls_inject")
        w(f"{'':<20}{'per message':<14}{fmt(cc and cc / n, '14.4f')}"
          f"{fmt(pc and pc / n, '14.4f')}")
        if pc is not None:
            w(f"{'':<20}(Postfix: {med('p.strace.calls_inject'):.0f} in "
              f"sendmail/postdrop, {med('p.strace.calls_daemons'):.0f} in "
              f"the daemons)")
        w(f"{'':<20}(connector stats: barriers="
          f"{fmt(med('c.strace.barriers'), '.0f')}, delivered files="
          f"{fmt(med('c.strace.delivered'), '.0f')})")
    if not large_only:
        w("")
        w(f"latency, one message on an idle system, ms, lower is better "
          f"(n={fmt(med('c.lat.n'), '.0f')};")
        w("  from: connector, the rename into Pickup; Postfix, the start of "
          "sendmail;")
        w("  to: the file in the mailbox's new/ folder)")
        for k in ("median", "p90", "min", "max"):
            c, p = med(f"c.lat.{k}"), med(f"p.lat.{k}")
            w(f"{'':<20}{k:<14}{fmt(c, '14.2f')}{fmt(p, '14.2f')}"
              f"{ratio(c, p):>14}")
    if pf:
        ns = med("p.not_sent")
        w("")
        for kind in ("large",) if large_only else ("small", "large"):
            ps, pi = med(f"p.{kind}.secs"), med(f"p.{kind}.inject_secs")
            if ps and pi and pi / ps > 0.9:
                w(f"Postfix {kind}: injection took {100 * pi / ps:.0f}% of "
                  f"the time: bound by sendmail+postdrop")
                w("  (one exec of each per message), not by its queue.")
        w("* Postfix peak RSS: sum of VmHWM of the instance's processes alive "
          "at the end")
        w("  of the phase (master and children; sendmail/postdrop not "
          "counted).")
        w(f"Postfix deferred/bounced deliveries: {fmt(ns, '.0f')}")
    w("=" * 78)
    print("\n".join(out))


def cmd_waitlog(a):
    o = opts(a)
    pat = re.compile(o["pattern"].encode())
    expect = int(o["expect"])
    deadline = time.monotonic() + float(o["timeout"])
    off = int(o.get("offset", "0"))
    count = 0
    tail = b""
    if "ready" in o:
        with open(o["ready"], "w") as f:
            f.write("ready\n")
    # the log may not exist yet: it is made by its writer's first line
    f = None
    while True:
        if f is None:
            try:
                f = open(o["file"], "rb")
                f.seek(off)
            except FileNotFoundError:
                f = None
        if f is not None:
            chunk = f.read()
            if chunk:
                buf = tail + chunk
                lines = buf.split(b"\n")
                tail = lines.pop()
                count += sum(1 for ln in lines if pat.search(ln))
                if count >= expect:
                    print(time.time_ns(), count)
                    return 0
        if time.monotonic() > deadline:
            print(f"driver.py waitlog: timed out with {count} of {expect}",
                  file=sys.stderr)
            print(0, count)
            return 1
        time.sleep(0.01)


def proc_table():
    """pid -> (ppid, CPU ticks incl. waited-for children, VmHWM kB)."""
    t = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
            hwm = 0
            with open(f"/proc/{d}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm = int(line.split()[1])
                        break
        except OSError:
            continue
        # fields after "(comm)": state ppid ... utime(14) stime cutime cstime
        rest = st[st.rfind(")") + 2:].split()
        ticks = sum(int(x) for x in rest[11:15])
        t[int(d)] = (int(rest[1]), ticks, hwm)
    return t


def cmd_procstat(a):
    root = int(a[0])
    t = proc_table()
    if root not in t:
        sys.exit(f"driver.py procstat: no process {root}")
    kids = {}
    for pid, (ppid, _, _) in t.items():
        kids.setdefault(ppid, []).append(pid)
    ticks = hwm = n = 0
    todo = [root]
    while todo:
        pid = todo.pop()
        ticks += t[pid][1]
        hwm += t[pid][2]
        n += 1
        todo.extend(kids.get(pid, []))
    print(f"{ticks / os.sysconf('SC_CLK_TCK'):.2f} {hwm} {n}")
    return 0


def median(v):
    v = sorted(v)
    n = len(v)
    if not n:
        return None
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def cmd_fstable(a):
    """One table per file system from tools/bench/fs.sh's results."""
    vals = {}
    with open(a[0]) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            vals.setdefault(k, []).append(v)

    def text(k, dflt="-"):
        v = vals.get(k)
        return v[-1] if v else dflt

    def nums(k):
        out = []
        for x in vals.get(k, []):
            try:
                out.append(float(x))
            except ValueError:
                pass
        return out

    def fmt(x, spec, width=13):
        return ("-" if x is None else format(x, spec)).rjust(width)

    runs = int(text("F.runs", "1"))
    n = int(text("F.n", "0"))
    size = int(text("F.size", "0"))
    pf = text("F.postfix", "0") == "1"
    parts = (("store", "Pickup to store"), ("smtp", "Pickup to SMTP sink"))
    out = []
    w = out.append
    for fs in a[1:]:
        if f"F.{fs}.desc" not in vals:
            continue
        w("")
        w("=" * 78)
        w(f"File system {fs}: {text(f'F.{fs}.desc')}")
        for line in vals.get(f"F.{fs}.detail", []):
            w(f"  {line}")
        w(f"{n} x {size / 1024:g} KB messages already in the pickup folder; "
          + (f"median of {runs} runs" if runs > 1 else "1 run"))
        w(f"  connector: imc-connector --once as {text('F.user')}; "
          + (f"Postfix {text('F.pf_version')}: the same files already in its "
             "maildrop, pickup kicked" if pf else "no Postfix"))
        w("=" * 78)
        w(f"{'':34}{'connector':>13}{'Postfix':>13}{'conn/Postfix':>14}")
        for part, label in parts:
            pre = f"F.{fs}.{part}"
            if f"{pre}.c.rate" not in vals:
                continue
            cr, pr = median(nums(f"{pre}.c.rate")), median(nums(f"{pre}.p.rate"))
            ratio = f"{cr / pr:.2f}x" if cr and pr else "-"
            w(f"{label:<21}{'msg/s':<13}{fmt(cr, '.1f')}{fmt(pr, '.1f')}"
              f"{ratio:>14}")
            w(f"{'':<21}{'seconds':<13}"
              f"{fmt(median(nums(f'{pre}.c.secs')), '.3f')}"
              f"{fmt(median(nums(f'{pre}.p.secs')), '.3f')}")
            cu, cs = median(nums(f"{pre}.c.user")), median(nums(f"{pre}.c.sys"))
            w(f"{'':<21}{'CPU s':<13}"
              f"{fmt(cu + cs if cu is not None and cs is not None else None, '.2f')}"
              f"{fmt(median(nums(f'{pre}.p.cpu')), '.2f')}")
            us = None if cu is None or cs is None else f"{cu:.2f}/{cs:.2f}"
            w(f"{'':<21}{'  user/sys s':<13}{(us or '-'):>13}")
            ch, ph = nums(f"{pre}.c.hwm_kb"), nums(f"{pre}.p.hwm_kb")
            procs = nums(f"{pre}.p.procs")
            w(f"{'':<21}{'peak RSS MiB':<13}"
              f"{fmt(max(ch) / 1024 if ch else None, '.1f')}"
              f"{fmt(max(ph) / 1024 if ph else None, '.1f')}"
              + (f"  (Postfix: sum of {max(procs):.0f} processes*)"
                 if procs else ""))
            w(f"{'':<21}{'syncs/msg':<13}"
              f"{fmt(median(nums(f'{pre}.c.barriers_per_msg')), '.4f')}"
              f"{'-':>13}{'  (barriers/msg)':<14}")
            if runs > 1:
                for name, key in (("connector", "c"), ("Postfix", "p")):
                    v = nums(f"{pre}.{key}.rate")
                    if v:
                        w(f"{'':<21}{name} msg/s per run: "
                          + ", ".join(f"{x:.1f}" for x in v))
        if pf:
            w("* Postfix peak RSS: sum of VmHWM of its master and children "
              "alive at the end")
            w("  of a run (the largest of the runs; shared pages count in "
              "each process);")
            w("  Postfix CPU: master, children and reaped children over "
              "the run. Connector")
            w("  peak RSS: the largest of the runs (GNU time).")
    w("=" * 78)
    print("\n".join(out))
    return 0


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, a = sys.argv[1], sys.argv[2:]
    fn = {"gen": cmd_gen, "drop": cmd_drop, "wait": cmd_wait,
          "latency": cmd_latency, "summary": cmd_summary,
          "waitlog": cmd_waitlog, "procstat": cmd_procstat,
          "fstable": cmd_fstable}.get(cmd)
    if fn is None:
        sys.exit(__doc__)
    sys.exit(fn(a) or 0)


if __name__ == "__main__":
    main()
