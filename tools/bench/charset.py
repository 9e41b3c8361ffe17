#!/usr/bin/python3
"""Charset part of tools/bench.sh (a benchmark, not a test: it measures and
flags, it passes or fails nothing). Standard library only; the legacy bytes
are made by the iconv command (glibc), as in tests/data/charset/make-corpus.sh.

Subcommands:

  gen --corpus DIR --out DIR --mb M --huge-mb H
      From the text the writer meant in each legacy corpus case
      (NN-*.expect.json, first text part; CRLF lines) a "unit": the text
      encoded once by `iconv -f UTF-8 -t ENC` (checked by decoding back).
      Writes under OUT:
        mix/NN-case-KK.eml    messages of 100 KB - 1 MB each (seeded random
                              sizes), the unit repeated as a raw body
                              (Content-Transfer-Encoding 8bit, 7bit for the
                              7-bit charsets ISO-2022-JP and UTF-7), with the
                              case's label; M MB of body bytes in all.
        big/NN-case.eml       one message per case holding the concatenation
                              of that case's mix bodies, and big/NN-case.body
                              the same body bytes alone (the iconv input).
        utf8/u-KK.eml, big/utf-8.eml  the same amount of text already in
                              UTF-8, labelled utf-8, 8bit (pass-through);
                              big/utf-8.body its body alone.
        tiny.eml              one unit of windows-1251 (start-up time).
        huge.eml, huge10.eml  one shift_jis (CP932 bytes) message of H MB of
                              body and one of H/10 MB (peak RSS, flatness).
        manifest.json         what is where, and the expected UTF-8 units.
  run --out DIR --imc PATH --runs N --results FILE [--time /usr/bin/time]
      Times, per run (outputs to files in OUT/o, checked outside the timing):
        - imc-convert once per mix message (one process each), and 20
          times on tiny.eml (start-up, median);
        - per case, imc-convert on big/NN-case.eml and `iconv -f DEC -t
          UTF-8` on big/NN-case.body (order alternated between runs);
        - imc-convert per UTF-8 message and on big/utf-8.eml, and
          `iconv -f UTF-8 -t UTF-8` on big/utf-8.body (same run);
        - the 7-bit downgrade: `imc-convert --7bit` on big/NN-case.eml
          (every legacy case) and big/utf-8.eml vs `iconv -f DEC -t UTF-8
          BODY | base64 -w 76` on the same body bytes (the output decoded
          and compared with the expected UTF-8);
        - peak RSS (`/usr/bin/time -f %M`, else VmHWM polled every
          5 ms) and time of imc-convert on huge10.eml and huge.eml.
      Every converted body is compared with the expected UTF-8 (the units
      repeated); a figure whose output is wrong is flagged, never reported
      as clean. Appends key<TAB>value lines to FILE.
  summary FILE   the table (medians over the runs).
"""
import json
import os
import random
import subprocess
import sys
import time

MB = 1_000_000

# case prefix -> (label or None for no MIME header, iconv encoder,
#                 decoder the sender meant (glibc), transfer encoding)
CASES = {
    "01-iso-2022-jp": ("ISO-2022-JP", "ISO-2022-JP", "ISO-2022-JP-2", "7bit"),
    "02-shift_jis-cp932": ("shift_jis", "CP932", "CP932", "8bit"),
    "03-x-sjis-base64": ("x-sjis", "CP932", "CP932", "8bit"),
    "04-ks_c_5601-1987-cp949": ("ks_c_5601-1987", "CP949", "CP949", "8bit"),
    "05-gb2312-gbk": ("gb2312", "GBK", "GBK", "8bit"),
    "06-big5-hkscs": ("big5", "BIG5-HKSCS", "BIG5-HKSCS", "8bit"),
    "07-koi8-r-qp": ("koi8-r", "KOI8-R", "KOI8-R", "8bit"),
    "08-windows-1251": ("windows-1251", "WINDOWS-1251", "WINDOWS-1251", "8bit"),
    "09-iso-8859-8-i": ("iso-8859-8-i", "ISO-8859-8", "ISO-8859-8", "8bit"),
    "10-cp1252-as-iso-8859-1": ("iso-8859-1", "WINDOWS-1252", "WINDOWS-1252",
                                "8bit"),
    "11-utf-7": ("utf-7", "UTF-7", "UTF-7", "7bit"),
    "13-unlabelled-cp1252": (None, "WINDOWS-1252", "WINDOWS-1252", "8bit"),
    "14-us-ascii-8bit-cp1252": ("us-ascii", "WINDOWS-1252", "WINDOWS-1252",
                                "7bit"),
}
HUGE_CASE = "02-shift_jis-cp932"
UNIT_MIN = 4096  # a unit is the text repeated to at least this many bytes


def die(msg):
    sys.stderr.write(f"charset.py: {msg}\n")
    sys.exit(1)


def iconv(frm, to, data):
    p = subprocess.run(["iconv", "-f", frm, "-t", to], input=data,
                       capture_output=True, timeout=60)
    if p.returncode != 0:
        die(f"iconv -f {frm} -t {to} failed: {p.stderr.decode(errors='replace')}")
    return p.stdout


def case_text(corpus, case):
    with open(os.path.join(corpus, case + ".expect.json"), encoding="utf-8") as f:
        exp = json.load(f)
    text = exp["parts"][0]["text"]
    return "".join(line + "\r\n" for line in text.split("\n"))


def headers(case, k, label, cte):
    h = ["From: Bench Sender <sender@example.com>", "To: box@example.com",
         f"Subject: charset bench {case} #{k}",
         "Date: Mon, 03 Apr 2000 10:00:00 +0000",
         f"Message-ID: <{case}.{k}.bench@example.com>"]
    if label is not None:
        h += ["MIME-Version: 1.0", f"Content-Type: text/plain; charset={label}",
              f"Content-Transfer-Encoding: {cte}"]
    return ("\r\n".join(h) + "\r\n\r\n").encode()


def write_msg(path, hdr, unit, reps):
    with open(path, "wb") as f:
        f.write(hdr)
        block = unit * max(1, (1 << 20) // len(unit))
        per = len(block) // len(unit)
        left = reps
        while left > 0:
            n = min(per, left)
            f.write(block if n == per else unit * n)
            left -= n
    return len(hdr)


def cmd_gen(a):
    corpus, out = a["corpus"], a["out"]
    total = int(float(a["mb"]) * MB)
    huge = int(float(a["huge-mb"]) * MB)
    for d in ("mix", "big", "utf8", "o"):
        os.makedirs(os.path.join(out, d), exist_ok=True)
    rng = random.Random(1995)
    man = {"cases": {}, "mix": [], "utf8": [], "big": {}, "huge": {}}
    per_case = total // len(CASES)
    all_text = ""
    for case, (label, enc, dec, cte) in CASES.items():
        text = case_text(corpus, case)
        all_text += text
        t = text * max(1, -(-UNIT_MIN // len(text.encode())))
        u8 = t.encode()
        unit = iconv("UTF-8", enc, u8)
        if iconv(dec, "UTF-8", unit) != u8:
            die(f"{case}: {enc} round trip through {dec} differs")
        man["cases"][case] = {"label": label, "enc": enc, "dec": dec,
                              "cte": cte, "unit": len(unit), "unit_utf8": len(u8)}
        with open(os.path.join(out, "o", case + ".unit8"), "wb") as f:
            f.write(u8)
        left, k, reps_all = per_case, 0, 0
        while left > 0:
            size = rng.randint(100_000, 1_000_000)
            if left - size < 100_000:
                size = left
            reps = max(1, round(size / len(unit)))
            k += 1
            path = os.path.join(out, "mix", f"{case}-{k:02d}.eml")
            off = write_msg(path, headers(case, k, label, cte), unit, reps)
            man["mix"].append({"case": case, "path": path, "reps": reps,
                               "off": off, "body": reps * len(unit)})
            reps_all += reps
            left -= reps * len(unit)
        path = os.path.join(out, "big", case + ".eml")
        off = write_msg(path, headers(case, 0, label, cte), unit, reps_all)
        bpath = os.path.join(out, "big", case + ".body")
        write_msg(bpath, b"", unit, reps_all)
        man["big"][case] = {"path": path, "body_path": bpath, "off": off,
                            "reps": reps_all, "body": reps_all * len(unit),
                            "msgs": k}
    # UTF-8 pass-through: all the texts in UTF-8, the same amount of bytes
    u8 = (all_text * max(1, -(-UNIT_MIN // len(all_text.encode())))).encode()
    with open(os.path.join(out, "o", "utf-8.unit8"), "wb") as f:
        f.write(u8)
    man["cases"]["utf-8"] = {"label": "utf-8", "enc": "UTF-8", "dec": "UTF-8",
                             "cte": "8bit", "unit": len(u8), "unit_utf8": len(u8)}
    left, k, reps_all = total, 0, 0
    while left > 0:
        size = rng.randint(100_000, 1_000_000)
        if left - size < 100_000:
            size = left
        reps = max(1, round(size / len(u8)))
        k += 1
        path = os.path.join(out, "utf8", f"u-{k:02d}.eml")
        off = write_msg(path, headers("utf-8", k, "utf-8", "8bit"), u8, reps)
        man["utf8"].append({"case": "utf-8", "path": path, "reps": reps,
                            "off": off, "body": reps * len(u8)})
        reps_all += reps
        left -= reps * len(u8)
    path = os.path.join(out, "big", "utf-8.eml")
    off = write_msg(path, headers("utf-8", 0, "utf-8", "8bit"), u8, reps_all)
    bpath = os.path.join(out, "big", "utf-8.body")
    write_msg(bpath, b"", u8, reps_all)
    man["big"]["utf-8"] = {"path": path, "body_path": bpath, "off": off,
                           "reps": reps_all, "body": reps_all * len(u8),
                           "msgs": k}
    # a tiny message (one unit of windows-1251): process start-up
    c = man["cases"]["08-windows-1251"]
    with open(os.path.join(out, "o", "08-windows-1251.unit8"), "rb") as f:
        unit = iconv("UTF-8", c["enc"], f.read())
    path = os.path.join(out, "tiny.eml")
    off = write_msg(path, headers("08-windows-1251", "tiny", c["label"], c["cte"]),
                    unit, 1)
    man["tiny"] = {"case": "08-windows-1251", "path": path, "off": off,
                   "reps": 1, "body": len(unit)}
    # the huge message and its tenth (same unit)
    c = man["cases"][HUGE_CASE]
    with open(os.path.join(out, "o", HUGE_CASE + ".unit8"), "rb") as f:
        unit = iconv("UTF-8", c["enc"], f.read())
    for name, size in (("huge10", huge // 10), ("huge", huge)):
        reps = max(1, size // len(unit))
        path = os.path.join(out, name + ".eml")
        off = write_msg(path, headers(HUGE_CASE, name, c["label"], c["cte"]),
                        unit, reps)
        man["huge"][name] = {"case": HUGE_CASE, "path": path, "off": off,
                             "reps": reps, "body": reps * len(unit)}
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(man, f, indent=1)
    nmix = len(man["mix"])
    print(f"{nmix} legacy messages, {sum(m['body'] for m in man['mix'])} body "
          f"bytes in {len(CASES)} cases; {len(man['utf8'])} UTF-8 messages; "
          f"huge {man['huge']['huge']['body']} body bytes")


# ------------------------------------------------------------------ checks
def check_body(path, off, unit8, reps, whole_expected=None):
    """'' if the file at PATH holds, after its header, exactly unit8 * reps
    (CRLF header end searched when off is None), else why not."""
    try:
        f = open(path, "rb")
    except OSError as e:
        return f"no output ({e})"
    with f:
        head = f.read(65536)
        i = head.find(b"\r\n\r\n")
        if i < 0:
            return "no header end"
        hdr = head[:i].lower()
        if whole_expected is None and b"charset=utf-8" not in hdr:
            return "output not labelled utf-8"
        f.seek(i + 4)
        per = max(1, (1 << 20) // len(unit8))
        block = unit8 * per
        left = reps
        while left > 0:
            n = min(per, left)
            want = block if n == per else unit8 * n
            got = f.read(len(want))
            if got != want:
                try:
                    got.decode("utf-8")
                    why = "valid UTF-8 but not the expected text"
                except UnicodeDecodeError:
                    why = "not valid UTF-8"
                return f"body differs at unit {reps - left} ({why})"
            left -= n
        if f.read(1):
            return "body longer than expected"
    return ""


def same_file(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def check_7bit(path, unit8, reps):
    """'' if the file at PATH is 7-bit, labelled utf-8, and its body
    decodes (base64 or quoted-printable) to exactly unit8 * reps."""
    import base64
    import quopri
    with open(path, "rb") as f:
        data = f.read()
    i = data.find(b"\r\n\r\n")
    if i < 0:
        return "no header end"
    hdr, body = data[:i].lower(), data[i + 4:]
    if any(ch >= 0x80 for ch in data):
        return "8-bit bytes in the output"
    if b"charset=utf-8" not in hdr:
        return "output not labelled utf-8"
    if b"content-transfer-encoding: base64" in hdr:
        got = base64.b64decode(body)
    elif b"content-transfer-encoding: quoted-printable" in hdr:
        got = quopri.decodestring(body)
    else:
        return "neither base64 nor quoted-printable"
    if got != unit8 * reps:
        return "decoded body differs from the expected text"
    return ""


# ------------------------------------------------------------------ timing
def timed(argv, out_path, timeout=900):
    with open(out_path, "wb") as fo:
        t0 = time.perf_counter_ns()
        p = subprocess.run(argv, stdout=fo, stderr=subprocess.PIPE,
                           timeout=timeout)
        t1 = time.perf_counter_ns()
    if p.returncode != 0:
        die(f"{' '.join(argv)}: exit {p.returncode}: "
            f"{p.stderr.decode(errors='replace')[:300]}")
    return (t1 - t0) / 1e9


def peak_rss(argv, out_path, time_bin, timeout=900):
    """(seconds, peak RSS KB, how) of argv, stdout to out_path"""
    if time_bin and os.access(time_bin, os.X_OK):
        rss_file = out_path + ".rss"
        secs = timed([time_bin, "-f", "%M", "-o", rss_file] + argv, out_path,
                     timeout)
        with open(rss_file) as f:
            kb = int(f.read().split()[-1])
        return secs, kb, "/usr/bin/time %M"
    # no /usr/bin/time: poll the child's VmHWM (its own, reset by exec)
    hwm = 0
    with open(out_path, "wb") as fo:
        t0 = time.perf_counter_ns()
        p = subprocess.Popen(argv, stdout=fo)
        end = time.monotonic() + timeout
        while p.poll() is None:
            try:
                with open(f"/proc/{p.pid}/status") as st:
                    for line in st:
                        if line.startswith("VmHWM:"):
                            hwm = max(hwm, int(line.split()[1]))
            except OSError:
                pass
            if time.monotonic() > end:
                p.kill()
                p.wait()
                die(f"{argv[0]}: time-out")
            time.sleep(0.005)
        t1 = time.perf_counter_ns()
    if p.returncode != 0:
        die(f"{' '.join(argv)}: exit {p.returncode}")
    return (t1 - t0) / 1e9, hwm, "VmHWM polled"


def cmd_run(a):
    out = a["out"]
    # The built-in defaults (no configuration file of the machine), UTF-8
    # out, CRLF line ends (--smtp: the wire form): the store writes LF,
    # which would make every output differ from the CRLF texts and the
    # UTF-8 pass-through a rewrite.
    imc = [a["imc"], "--defaults", "--smtp", "--charset", "utf-8"]
    runs = int(a["runs"])
    time_bin = a.get("time")
    with open(os.path.join(out, "manifest.json")) as f:
        man = json.load(f)
    units = {}
    for case in man["cases"]:
        with open(os.path.join(out, "o", case + ".unit8"), "rb") as f:
            units[case] = f.read()
    o = os.path.join(out, "o")
    res = open(a["results"], "a")

    def put(k, v):
        res.write(f"{k}\t{v}\n")
        res.flush()

    bad = []

    def flag(what, why):
        bad.append(f"{what}: {why}")
        put(f"bad.{what}", 1)
        sys.stderr.write(f"charset.py: WRONG OUTPUT {what}: {why}\n")

    def log(msg):
        sys.stderr.write(f"[charset {time.strftime('%H:%M:%S')}] {msg}\n")

    for run in range(1, runs + 1):
        # 1. one process per legacy message
        log(f"run {run}/{runs}: imc-convert per message, {len(man['mix'])} legacy messages")
        secs = 0.0
        for i, m in enumerate(man["mix"]):
            secs += timed(imc + [m["path"]], os.path.join(o, f"mix-{i}.out"), 120)
        body = sum(m["body"] for m in man["mix"])
        put("mix.secs", f"{secs:.4f}")
        put("mix.mbps", f"{body / MB / secs:.2f}")
        put("mix.msgs", len(man["mix"]))
        put("mix.body", body)
        for i, m in enumerate(man["mix"]):
            p = os.path.join(o, f"mix-{i}.out")
            why = check_body(p, m["off"], units[m["case"]], m["reps"])
            if why:
                flag(f"mix:{os.path.basename(m['path'])}", why)
            os.unlink(p)
        # start-up: the tiny message, 20 times, median
        t = sorted(timed(imc + [man["tiny"]["path"]], os.path.join(o, "tiny.out"), 60)
                   for _ in range(20))
        why = check_body(os.path.join(o, "tiny.out"), 0,
                         units[man["tiny"]["case"]], 1)
        if why:
            flag("tiny", why)
        put("tiny.ms", f"{(t[9] + t[10]) / 2 * 1000:.2f}")
        # 2. one big message per case, imc-convert and iconv side by side
        log(f"run {run}/{runs}: per case, imc-convert vs iconv on the same body bytes")
        tc = ti = 0.0
        for case, c in man["cases"].items():
            if case == "utf-8":
                continue
            b = man["big"][case]
            jobs = [("imc", imc + [b["path"]]),
                    ("iconv", ["iconv", "-f", c["dec"], "-t", "UTF-8",
                               b["body_path"]])]
            if run % 2 == 0:
                jobs.reverse()
            t = {}
            for who, argv in jobs:
                t[who] = timed(argv, os.path.join(o, f"big-{who}.out"))
            why = check_body(os.path.join(o, "big-imc.out"), b["off"],
                             units[case], b["reps"])
            if why:
                flag(f"big:{case}:imc-convert", why)
            with open(os.path.join(o, "big-iconv.hdr"), "wb") as f:
                f.write(b"Content-Type: text/plain; charset=utf-8\r\n\r\n")
            # the iconv output has no header: compare through a fake one
            with open(os.path.join(o, "big-iconv.out"), "rb") as f1, \
                    open(os.path.join(o, "big-iconv.cmp"), "wb") as f2:
                f2.write(b"Content-Type: text/plain; charset=utf-8\r\n\r\n")
                while True:
                    x = f1.read(1 << 20)
                    if not x:
                        break
                    f2.write(x)
            why = check_body(os.path.join(o, "big-iconv.cmp"), None,
                             units[case], b["reps"])
            if why:
                flag(f"big:{case}:iconv", why)
            for n in ("big-imc.out", "big-iconv.out", "big-iconv.cmp",
                      "big-iconv.hdr"):
                os.unlink(os.path.join(o, n))
            mb = b["body"] / MB
            put(f"big.{case}.body", b["body"])
            put(f"big.{case}.imc_mbps", f"{mb / t['imc']:.2f}")
            put(f"big.{case}.iconv_mbps", f"{mb / t['iconv']:.2f}")
            put(f"big.{case}.ratio", f"{t['iconv'] / t['imc']:.3f}")
            tc += t["imc"]
            ti += t["iconv"]
        body = sum(b["body"] for k, b in man["big"].items() if k != "utf-8")
        put("big.all.body", body)
        put("big.all.imc_mbps", f"{body / MB / tc:.2f}")
        put("big.all.iconv_mbps", f"{body / MB / ti:.2f}")
        put("big.all.ratio", f"{ti / tc:.3f}")
        # 3. UTF-8 pass-through
        log(f"run {run}/{runs}: UTF-8 pass-through, {len(man['utf8'])} messages + one big")
        secs = 0.0
        for i, m in enumerate(man["utf8"]):
            p = os.path.join(o, f"u-{i}.out")
            secs += timed(imc + [m["path"]], p, 120)
        for i, m in enumerate(man["utf8"]):
            p = os.path.join(o, f"u-{i}.out")
            if not same_file(p, m["path"]):
                flag(f"utf8:{os.path.basename(m['path'])}", "output differs from input")
            os.unlink(p)
        body = sum(m["body"] for m in man["utf8"])
        put("u8mix.secs", f"{secs:.4f}")
        put("u8mix.mbps", f"{body / MB / secs:.2f}")
        put("u8mix.msgs", len(man["utf8"]))
        b = man["big"]["utf-8"]
        p = os.path.join(o, "u-big.out")
        secs = timed(imc + [b["path"]], p)
        if not same_file(p, b["path"]):
            flag("utf8:big", "output differs from input")
        os.unlink(p)
        put("u8big.body", b["body"])
        put("u8big.mbps", f"{b['body'] / MB / secs:.2f}")
        p = os.path.join(o, "u-big-iconv.out")
        isecs = timed(["iconv", "-f", "UTF-8", "-t", "UTF-8", b["body_path"]], p)
        os.unlink(p)
        put("u8big.iconv_mbps", f"{b['body'] / MB / isecs:.2f}")
        put("u8big.ratio", f"{isecs / secs:.3f}")
        # 3b. the 7-bit downgrade vs iconv | base64 on the same bytes
        log(f"run {run}/{runs}: 7-bit downgrade (--7bit) vs iconv | base64")
        tc = ti = 0.0
        body_all = 0
        for case, c in man["cases"].items():
            b = man["big"][case]
            po = os.path.join(o, "d7-imc.out")
            pi = os.path.join(o, "d7-b64.out")
            jobs = [("imc", lambda: timed(imc + ["--7bit", b["path"]], po)),
                    ("b64", lambda: timed(
                        ["sh", "-c", 'iconv -f "$1" -t UTF-8 "$2" | base64 -w 76',
                         "sh", c["dec"], b["body_path"]], pi))]
            if run % 2 == 0:
                jobs.reverse()
            t = {who: fn() for who, fn in jobs}
            why = check_7bit(po, units[case], b["reps"])
            if why:
                flag(f"d7:{case}", why)
            os.unlink(po)
            os.unlink(pi)
            put(f"d7.{case}.imc_mbps", f"{b['body'] / MB / t['imc']:.2f}")
            put(f"d7.{case}.b64_mbps", f"{b['body'] / MB / t['b64']:.2f}")
            put(f"d7.{case}.ratio", f"{t['b64'] / t['imc']:.3f}")
            tc += t["imc"]
            ti += t["b64"]
            body_all += b["body"]
        put("d7.all.body", body_all)
        put("d7.all.imc_mbps", f"{body_all / MB / tc:.2f}")
        put("d7.all.b64_mbps", f"{body_all / MB / ti:.2f}")
        put("d7.all.ratio", f"{ti / tc:.3f}")
        # 4. peak RSS, the tenth then the huge message
        for name in ("huge10", "huge"):
            h = man["huge"][name]
            log(f"run {run}/{runs}: peak RSS, {name} ({h['body'] / MB:.0f} MB of {h['case']} body)")
            p = os.path.join(o, name + ".out")
            secs, kb, how = peak_rss(imc + [h["path"]], p, time_bin)
            why = check_body(p, h["off"], units[h["case"]], h["reps"])
            if not why and name == "huge":
                # the independent check asked for: iconv accepts the body
                with open(p, "rb") as f:
                    i = f.read(65536).find(b"\r\n\r\n")
                    f.seek(i + 4)
                    q = subprocess.run(["iconv", "-f", "UTF-8", "-t", "UTF-8"],
                                       stdin=f, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, timeout=600)
                if q.returncode != 0:
                    why = "iconv -f UTF-8 rejects the body"
            if why:
                flag(f"{name}", why)
            put(f"{name}.out_bytes", os.path.getsize(p))
            os.unlink(p)
            put(f"{name}.body", h["body"])
            put(f"{name}.rss_kb", kb)
            put(f"{name}.mbps", f"{h['body'] / MB / secs:.2f}")
            put("rss.how", 0 if how.startswith("/usr") else 1)
    put("bad.count", len(bad))
    res.close()
    if bad:
        sys.stderr.write(f"charset.py: {len(bad)} wrong outputs\n")


def cmd_summary(a):
    vals = {}
    with open(a["file"]) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            try:
                vals.setdefault(k, []).append(float(v))
            except ValueError:
                pass

    def med(k):
        v = sorted(vals.get(k, []))
        if not v:
            return None
        n = len(v)
        return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2

    def f(x, spec="8.1f"):
        return "-".rjust(int(spec.split(".")[0])) if x is None else format(x, spec)

    def bad(prefix):
        return " WRONG" if any(k.startswith("bad." + prefix) for k in vals) else ""

    runs = int(a.get("runs", "1"))
    with open(os.path.join(a["out"], "manifest.json")) as fm:
        man = json.load(fm)
    o = []
    o.append("")
    o.append("=" * 78)
    o.append(f"charset conversion (imc-convert, Release) - medians of {runs} run(s); "
             "MB = 10^6 bytes of input body")
    o.append("=" * 78)
    o.append(f"{'case (label -> decoder)':<44}{'body MB':>8}{'imc MB/s':>9}"
             f"{'iconv MB/s':>11}{'ratio':>7}")
    for case, c in man["cases"].items():
        if case == "utf-8":
            continue
        label = c["label"] or "(none)"
        name = f"{case[:2]} {label} -> {c['dec']}"
        r = med(f"big.{case}.ratio")
        o.append(f"{name:<44}{f(med(f'big.{case}.body') / MB if med(f'big.{case}.body') else None, '8.1f')}"
                 f"{f(med(f'big.{case}.imc_mbps'), '9.1f')}"
                 f"{f(med(f'big.{case}.iconv_mbps'), '11.1f')}"
                 f"{'-' if r is None else format(r, '6.2f') + 'x'}"
                 f"{bad('big:' + case)}")
    r = med("big.all.ratio")
    o.append(f"{'all legacy cases (bytes, times summed)':<44}"
             f"{f(med('big.all.body') / MB if med('big.all.body') else None, '8.1f')}"
             f"{f(med('big.all.imc_mbps'), '9.1f')}{f(med('big.all.iconv_mbps'), '11.1f')}"
             f"{'-' if r is None else format(r, '6.2f') + 'x'}")
    o.append("  (one imc-convert process per case on one message holding the case's")
    o.append("   whole mix body, vs one `iconv -f DEC -t UTF-8` on the same body bytes;")
    o.append("   ratio = imc-convert MB/s / iconv MB/s, >1 means faster than iconv)")
    o.append("")
    n, s = med("mix.msgs"), med("mix.secs")
    o.append(f"legacy mix, one process per message: {f(med('mix.body') / MB if med('mix.body') else None, '.1f')} MB "
             f"in {f(n, '.0f')} messages (100 KB-1 MB): {f(med('mix.mbps'), '.1f')} MB/s, "
             f"{f(s * 1000 / n if s and n else None, '.1f')} ms/message{bad('mix:')}")
    o.append(f"process start-up and a {man['tiny']['body']}-byte windows-1251 message: "
             f"{f(med('tiny.ms'), '.1f')} ms (median of 20){bad('tiny')}")
    n, s = med("u8mix.msgs"), med("u8mix.secs")
    o.append(f"UTF-8 pass-through, one process per message: {f(n, '.0f')} messages: "
             f"{f(med('u8mix.mbps'), '.1f')} MB/s, {f(s * 1000 / n if s and n else None, '.1f')} "
             f"ms/message{bad('utf8:u')}")
    r = med("u8big.ratio")
    o.append(f"UTF-8 pass-through, one message of {f(med('u8big.body') / MB if med('u8big.body') else None, '.1f')} MB: "
             f"{f(med('u8big.mbps'), '.1f')} MB/s; iconv -f UTF-8 -t UTF-8 on its body: "
             f"{f(med('u8big.iconv_mbps'), '.1f')} MB/s; ratio "
             f"{'-' if r is None else format(r, '.2f') + 'x'}{bad('utf8:big')}")
    o.append("")
    o.append("7-bit downgrade: imc-convert --7bit vs `iconv -f DEC -t UTF-8 | base64 -w 76`")
    o.append(f"{'case (label -> decoder)':<44}{'imc MB/s':>9}{'b64+iconv':>11}{'ratio':>7}")
    for case, c in man["cases"].items():
        label = c["label"] or "(none)"
        name = f"{case[:2]} {label} -> {c['dec']}"
        r = med(f"d7.{case}.ratio")
        o.append(f"{name:<44}{f(med(f'd7.{case}.imc_mbps'), '9.1f')}"
                 f"{f(med(f'd7.{case}.b64_mbps'), '11.1f')}"
                 f"{'-' if r is None else format(r, '6.2f') + 'x'}{bad('d7:' + case)}")
    r = med("d7.all.ratio")
    o.append(f"{'all cases (bytes, times summed)':<44}{f(med('d7.all.imc_mbps'), '9.1f')}"
             f"{f(med('d7.all.b64_mbps'), '11.1f')}"
             f"{'-' if r is None else format(r, '6.2f') + 'x'}")
    o.append("")
    how = "VmHWM polled every 5 ms" if med("rss.how") else "/usr/bin/time -f %M"
    h10, h = med("huge10.rss_kb"), med("huge.rss_kb")
    hb = med("huge.body")
    o.append(f"peak RSS ({how}), {man['huge']['huge']['case']} body, 8bit:")
    o.append(f"  {f(med('huge10.body') / MB if med('huge10.body') else None, '.0f')} MB message: "
             f"{f(h10, '.0f')} KB ({f(med('huge10.mbps'), '.1f')} MB/s){bad('huge10')}")
    ok = h is not None and h < 32 * 1024
    flat = h is not None and h10 is not None and h <= h10 * 1.25 + 1024
    o.append(f"  {f(hb / MB if hb else None, '.0f')} MB message: {f(h, '.0f')} KB "
             f"({f(med('huge.mbps'), '.1f')} MB/s): "
             f"{'under' if ok else 'NOT under'} 32 MB (32768 KB), "
             f"{'flat' if flat else 'NOT flat'} vs the 1/10 size{bad('huge')}")
    o.append(f"  output {f(med('huge.out_bytes') / MB if med('huge.out_bytes') else None, '.1f')} MB, "
             "body = the expected UTF-8 byte for byte, accepted by iconv -f UTF-8")
    nb = med("bad.count")
    o.append("")
    o.append("outputs checked against the expected UTF-8 text: " +
             ("all correct" if nb == 0 else f"{nb:.0f} WRONG (figures marked WRONG)"))
    o.append("the machine is shared: expect noise; BENCH_RUNS=3 or more for figures")
    print("\n".join(o))


def main():
    if len(sys.argv) < 2:
        die("usage: charset.py gen|run|summary --opt value ...")
    cmd, rest = sys.argv[1], sys.argv[2:]
    a = {}
    for i in range(0, len(rest), 2):
        if not rest[i].startswith("--") or i + 1 >= len(rest):
            die(f"bad argument {rest[i]}")
        a[rest[i][2:]] = rest[i + 1]
    fn = {"gen": cmd_gen, "run": cmd_run, "summary": cmd_summary}.get(cmd)
    if fn is None:
        die(f"unknown subcommand {cmd}")
    fn(a)


if __name__ == "__main__":
    main()
