#!/usr/bin/python3
"""detect-accuracy.py - how often unlabelled legacy text arrives as written,
with and without detect = yes (issue 12, class 5).

    tools/detect-accuracy.py BUILD/bin/imc-convert [tests/data/detect/texts.json]

The sample is our own: short (one sentence) and long (a paragraph) texts
per language in texts.json, each written in the legacy charsets its
writers used, as the body of a message without any charset label. Every
message goes through imc-convert twice (legacy_charset windows-1252, then
with --detect and the default detect_charsets), and the output is read with
Python's strict reader: a hit is text equal to the original. Prints one
table row per language, charset and size, and the totals.
"""
import email
import email.policy
import json
import os
import subprocess
import sys
import tempfile

PLAN = [("ru", "cp1251"), ("ru", "koi8_r"), ("uk", "cp1251"),
        ("ja", "cp932"), ("ja", "euc_jp"), ("ko", "cp949"),
        ("zh-cn", "gb18030"), ("zh-tw", "big5"), ("de", "cp1252"),
        ("fr", "cp1252")]


def arrives(conv, body_bytes, want, detect):
    with tempfile.TemporaryDirectory() as d:
        src, out = os.path.join(d, "in.eml"), os.path.join(d, "out.eml")
        with open(src, "wb") as f:
            f.write(b"From: a@example.com\r\nSubject: sample\r\n\r\n" +
                    body_bytes + b"\r\n")
        args = [conv] + (["--detect"] if detect else []) + [src, out]
        subprocess.run(args, check=True, timeout=60)
        msg = email.message_from_bytes(open(out, "rb").read(),
                                       policy=email.policy.default)
        cs = msg.get_content_charset() or "us-ascii"
        try:
            text = msg.get_payload(decode=True).decode(cs)
        except (UnicodeDecodeError, LookupError):
            return False
        return text.replace("\r\n", "\n").rstrip("\n") == want


def main():
    conv = sys.argv[1]
    texts = json.load(open(sys.argv[2] if len(sys.argv) > 2 else
                           os.path.join(os.path.dirname(__file__), "..",
                                        "tests", "data", "detect",
                                        "texts.json"), encoding="utf-8"))
    tot = [0, 0, 0]
    print("%-6s %-8s %-5s %6s  %-14s %-14s" % ("lang", "charset", "size",
                                               "octets", "legacy only",
                                               "detect = yes"))
    for lang, cs in PLAN:
        for size in ("short", "long"):
            text = texts[lang][size]
            b = text.encode(cs)
            a = arrives(conv, b, text, False)
            d = arrives(conv, b, text, True)
            tot[0] += 1
            tot[1] += a
            tot[2] += d
            print("%-6s %-8s %-5s %6d  %-14s %-14s" % (
                lang, cs, size, len(b), "right" if a else "mojibake",
                "right" if d else "mojibake"))
    print("total: %d texts; legacy only %d right (%.0f%%); detect = yes %d "
          "right (%.0f%%)" % (tot[0], tot[1], 100.0 * tot[1] / tot[0],
                              tot[2], 100.0 * tot[2] / tot[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
