#!/usr/bin/python3
"""check_corpus.py - check a converted message against its expected Unicode.

    /usr/bin/python3 check_corpus.py [--7bit] [--charset NAME] [--name N] MSG EXPECT.json

An independent decoder (the standard library's email package, policy
email.policy.default) reads MSG; its Subject, the display name of the first
From address and every text part (in walk order; text/* parts that are not
attachments) must equal the values of EXPECT.json exactly:

    {"subject": ..., "from_display": ...,
     "parts": [{"content_type": "text/plain", "text": "...",
                "charset": "utf-8" (optional: the label the part must carry)}],
     "attachments": [{"content_type": ..., "sha256": ...,
                      "filename": ..., "name": ... (both optional)}]
                     (optional)}

Text parts are decoded strictly (no replacement characters) in the charset
they are labelled with (us-ascii when unlabelled, as RFC 2045 says). Line
ends are folded to LF and trailing line breaks of a part are ignored; any
other difference fails. A header whose expected value is text that must be
left as written (a malformed encoded-word) also matches when its raw,
unfolded value equals it, since Python decodes some malformed words anyway.

--7bit: no byte >= 0x80 anywhere in MSG.
--charset NAME: every text part holding non-ASCII text is labelled NAME
(ASCII-only parts may be labelled NAME or us-ascii, or not at all); a
"charset" in the expected part overrides NAME for that part.
Always: no line longer than 998 octets.

Exit 0 when everything matches, 1 otherwise (2 on usage errors).
"""

import argparse
import codecs
import difflib
import email
import email.policy
import email.utils
import hashlib
import json
import re
import sys
import unicodedata

MAX_LINES = 40


def cp(ch):
    name = unicodedata.name(ch, "")
    return "U+%04X %s%s" % (ord(ch), name or "(unnamed)",
                            "" if not ch.isprintable() else " '%s'" % ch)


def explain(field, want, got, out):
    out.append("%s differs:" % field)
    if want is None or got is None:
        out.append("  expected: %r" % (want,))
        out.append("  got:      %r" % (got,))
        return
    i = 0
    while i < min(len(want), len(got)) and want[i] == got[i]:
        i += 1
    if "\n" in want or "\n" in got:
        for line in difflib.unified_diff(want.split("\n"), got.split("\n"),
                                         "expected", "got", lineterm="", n=1):
            out.append("  " + line)
    else:
        out.append("  expected: %s" % want)
        out.append("  got:      %s" % got)
    out.append("  first difference at char %d: expected %s, got %s" % (
        i, cp(want[i]) if i < len(want) else "end of text",
        cp(got[i]) if i < len(got) else "end of text"))
    if any(0xD800 <= ord(c) <= 0xDFFF for c in got):
        out.append("  (got holds surrogate escapes: raw 8-bit bytes the "
                   "decoder could not read)")
    if "\ufffd" in got:
        out.append("  (got holds U+FFFD: the decoder replaced bytes it "
                   "could not read in the declared charset)")


def raw_header(msg, name):
    for k, v in msg.raw_items():
        if k.lower() == name.lower():
            return re.sub(r"\r?\n(?=[ \t])", "", str(v)).strip()
    return None


def norm_text(s):
    return s.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--7bit", dest="seven_bit", action="store_true")
    ap.add_argument("--charset")
    ap.add_argument("--name", help="label for the messages")
    ap.add_argument("msg")
    ap.add_argument("expect")
    a = ap.parse_args()
    # undecodable bytes show as \udcXX, never as raw bytes or a traceback
    sys.stdout.reconfigure(errors="backslashreplace")

    try:
        with open(a.msg, "rb") as f:
            data = f.read()
        with open(a.expect, encoding="utf-8") as f:
            exp = json.load(f)
    except (OSError, ValueError) as e:
        print("check_corpus: %s" % e)
        return 2

    errs = []
    notes = []
    name = a.name or a.msg

    # -- bytes -----------------------------------------------------------
    if a.seven_bit:
        bad = [(n + 1, line) for n, line in enumerate(data.split(b"\n"))
               if any(b >= 0x80 for b in line)]
        if bad:
            errs.append("8-bit bytes left in a 7-bit message, %d line(s), "
                        "first: line %d: %r" % (len(bad), bad[0][0],
                                               bad[0][1][:80]))
    long_lines = [n + 1 for n, line in enumerate(data.split(b"\n"))
                  if len(line.rstrip(b"\r")) > 998]
    if long_lines:
        errs.append("line(s) over 998 octets: %s" % long_lines[:5])

    msg = email.message_from_bytes(data, policy=email.policy.default)

    # -- headers ---------------------------------------------------------
    want = exp.get("subject")
    h = msg["Subject"]
    got = None if h is None else str(h)
    if got != want:
        raw = raw_header(msg, "Subject")
        if want is not None and raw == want:
            notes.append("subject matched as written (Python decodes it "
                         "as %r)" % got)
        else:
            explain("subject", want, got, errs)

    want = exp.get("from_display")
    got = None
    try:
        h = msg["From"]
        if h is not None and getattr(h, "addresses", None):
            got = h.addresses[0].display_name
        elif h is not None:
            errs.append("From: no address parsed from %r" % str(h))
    except Exception as e:  # header classes raise on hostile input
        errs.append("From: cannot parse: %s" % e)
    if want is not None and got != want:
        explain("from display name", want, got, errs)

    # -- parts -----------------------------------------------------------
    texts, atts = [], []
    for part in msg.walk():
        if part.is_multipart():
            continue
        if (part.get_content_maintype() == "text"
                and part.get_content_disposition() != "attachment"):
            texts.append(part)
        else:
            atts.append(part)

    wparts = exp.get("parts", [])
    if len(texts) != len(wparts):
        errs.append("expected %d text part(s), found %d: %s" % (
            len(wparts), len(texts),
            [p.get_content_type() for p in texts]))
    for i, (part, w) in enumerate(zip(texts, wparts), 1):
        where = "part %d (%s)" % (i, part.get_content_type())
        if part.get_content_type() != w["content_type"]:
            errs.append("%s: content type %s, expected %s" % (
                where, part.get_content_type(), w["content_type"]))
        label = part.get_param("charset")
        label = None if label is None else str(label).strip().lower()
        want_label = w.get("charset") or a.charset
        ascii_only = all(ord(c) < 0x80 for c in w["text"])
        if want_label:
            ok_labels = {want_label.lower()}
            if ascii_only and "charset" not in w:
                ok_labels |= {"us-ascii", None}
            if label not in ok_labels:
                errs.append("%s: labelled charset=%s, expected %s" % (
                    where, label, want_label))
        payload = part.get_payload(decode=True) or b""
        cs = label or "us-ascii"
        try:
            codecs.lookup(cs)
        except LookupError:
            errs.append("%s: Python does not know charset %r (the output "
                        "must carry a standard label)" % (where, cs))
            continue
        try:
            text = payload.decode(cs)
        except UnicodeDecodeError as e:
            errs.append("%s: does not decode as %s: %s" % (where, cs, e))
            text = payload.decode(cs, "replace")
        if norm_text(text) != norm_text(w["text"]):
            explain(where + " text", norm_text(w["text"]), norm_text(text),
                    errs)

    watts = exp.get("attachments")
    if watts is not None:
        if len(atts) != len(watts):
            errs.append("expected %d attachment(s), found %d" % (
                len(watts), len(atts)))
        for i, (part, w) in enumerate(zip(atts, watts), 1):
            if part.get_content_type() != w["content_type"]:
                errs.append("attachment %d: type %s, expected %s" % (
                    i, part.get_content_type(), w["content_type"]))
            digest = hashlib.sha256(part.get_payload(decode=True)
                                    or b"").hexdigest()
            if digest != w["sha256"]:
                errs.append("attachment %d: content changed (sha256 %s)" % (
                    i, digest))
            # the file name as a strict reader gets it (RFC 2231 or not)
            for key, got in (("filename", part.get_filename()),
                             ("name", part.get_param("name"))):
                if key not in w:
                    continue
                if isinstance(got, tuple):
                    got = email.utils.collapse_rfc2231_value(got)
                got = None if got is None else str(got)
                if got != w[key]:
                    explain("attachment %d %s" % (i, key), w[key], got, errs)

    for n in notes:
        print("# %s: %s" % (name, n))
    if errs:
        lines = [l for e in errs for l in e.split("\n")]
        for line in lines[:MAX_LINES]:
            print("# %s: %s" % (name, line))
        if len(lines) > MAX_LINES:
            print("# %s: ... %d more line(s)" % (name, len(lines) - MAX_LINES))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
