#!/usr/bin/python3
"""make-seeds.py - write the fuzz seed corpus: tests/fuzz/corpus/<target>/.

tools/check.sh starts each libFuzzer target with its folder here. The
seeds are small, meaningful inputs in each target's own input format (see
the comment at the top of tests/fuzz/<target>.c), so the fuzzer starts
from mail that looks real instead of from nothing. Run it again after a
target's input format changes:

    python3 tests/fuzz/corpus/make-seeds.py

It writes only into the folders named after the targets and removes the
seeds it no longer makes there.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
seeds = {}


def seed(target, name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    seeds.setdefault(target, {})[name] = data


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


# fuzz_convert: byte 0 picks the charset (index into fuzz_charsets, modulo
# its length; bit 7 means strict mode), byte 1 seeds the chunk ends.
CHARSETS = ["UTF-8", "WINDOWS-1252", "ISO-8859-1", "CP932", "CP949", "GBK",
            "GB18030", "BIG5-HKSCS", "CP950", "EUC-JP", "EUC-JP-MS",
            "ISO-2022-JP", "ISO-2022-JP-2", "ISO-2022-JP-3", "ISO-2022-KR",
            "ISO-2022-CN", "ISO-2022-CN-EXT", "UTF-7", "UTF-16", "UTF-16LE",
            "UTF-32", "KOI8-R", "KOI8-RU", "WINDOWS-1251", "ISO-8859-8",
            "CP874", "JOHAB", "EUC-KR", "SHIFT_JIS", "MAC-CYRILLIC", "EUC-TW",
            "ASCII", "UTF-7-IMAP", "ISO-2022-JP-MS"]


def conv(name, charset, seed_byte, text, strict=False):
    i = CHARSETS.index(charset)
    if strict:
        # the smallest byte with bit 7 set that still picks this charset
        while i < 0x80:
            i += len(CHARSETS)
    assert i < 256 and CHARSETS[i % len(CHARSETS)] == charset
    assert bool(i & 0x80) == strict
    seed("fuzz_convert", name, bytes([i, seed_byte]) + text)


conv("utf7-rfc2152", "UTF-7", 5, b"Hi Mom -+Jjo--! A+ImIDkQ. +- +ZeVnLIqe-")
conv("utf7-broken-runs", "UTF-7", 9,
     b"a+3fk-b +AGE-+3fk x+2D3eAA-y +2D3- +AG. +AGEA ab+AGEAYgBj3fk")
conv("utf7-strict", "UTF-7", 3, b"x+2D3eAA-y+AGEAYgBj-\r\n+AKM-1", True)
conv("utf7-imap", "UTF-7-IMAP", 3, b"&Jjo-&3fk-x&AGE.&2D3eAA-")
conv("iso2022jp-ms", "ISO-2022-JP-MS", 7,
     b"\x1b$B-!-5|b2q5D\x1b(I6@\x0e7\x0f\x1b(B ok\r\n\x1b$(D+!\x82\x1b$B-")
conv("iso2022jp", "ISO-2022-JP", 7,
     b"\x1b$BF|K\\8l$N%F%-%9%H\x1b(B abc \x1b(I\x31\x1b(B\r\n")
conv("iso2022jp-broken", "ISO-2022-JP", 2,
     b"\x1b$BF|\x80K\\\x1b(Bx\x1b$BF\x1b(B\x1b$")
conv("iso2022kr", "ISO-2022-KR", 1, b"\x1b$)C\x0e\x47\x51\x0f abc\x0e\x47")
conv("cp932", "CP932", 11,
     b"\x82\xa0\x87\x40\x81\x60C:\\path \x82\xa0\x5c\x7e\xff\x82")
conv("shift-jis-strict", "SHIFT_JIS", 4,
     b"\x82\xa0\x82\xa2\x83\x65\x83\x4c\x83\x58\x83\x67", True)
conv("utf8-mixed", "UTF-8", 13,
     b"x\xf0\x9f\x98\x80y\xc3\xa9\xe2\x82\xac\xe2\x82\xff\xc0\xaf"
     b"\xed\xa0\x80z")
conv("gb18030", "GB18030", 6,
     b"a\x81\x30\x81\x30b\x95\x32\x82\x36\xd6\xd0\x81\x30")
conv("windows-1252", "WINDOWS-1252", 0,
     b"\x93quoted\x94 \x80 \x85 \x81\x8d caf\xe9")
conv("cp949", "CP949", 3, b"\xc7\xd1\xb1\xb9\xbe\xee \x8c\x63 \xb1")
conv("big5-hkscs", "BIG5-HKSCS", 2, b"\x88\x40\xa4\x40\xa4")
conv("utf16-bom", "UTF-16", 8, b"\xff\xfeh\x00i\x00\x00\xdc=\xd8\x00\xde")
# the first bytes are also looked up as a charset label
seed("fuzz_convert", "label-utf7", b"unicode-1-1-utf-7")
seed("fuzz_convert", "label-ks-c", b"ks_c_5601-1987")


# fuzz_mime: byte 0 % 8 + 1 chunk sizes follow (each value + 1 bytes), then
# the message.
def mime(name, sizes, msg):
    assert 1 <= len(sizes) <= 8
    seed("fuzz_mime", name,
         bytes([len(sizes) - 1]) + bytes(sizes) + crlf(msg).encode("latin-1"))


mime("multipart-mixed", [0, 6, 30, 200], """\
From: =?iso-8859-1?q?Andr=E9?= <andre@example.org>
To: bob@example.com
Subject: =?UTF-8?B?UmVwb3J0IMO8YmVyIGRpZSBXb2NoZQ==?=
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

preamble
--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Gr=FC=DFe aus K=F6ln, caf=E9 =
soft break
--inner
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: 8bit

<p>Gr\xc3\xbc\xc3\x9fe</p>
--inner--
--outer
Content-Type: application/octet-stream; name*=utf-8''r%C3%A9sum%C3%A9.pdf
Content-Disposition: attachment;
 filename="=?utf-8?q?r=C3=A9sum=C3=A9.pdf?="
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBS
Pj4Kc3RyZWFtCg==
--outer--
epilogue
""")
mime("message-rfc822", [3, 17], """\
From: a@example.org
To: b@example.org
Subject: fwd
Content-Type: multipart/mixed; boundary=b1

--b1
Content-Type: message/rfc822

From: c@example.org
Subject: =?iso-2022-jp?B?GyRCRnxLXDhsGyhC?=
Content-Type: text/plain; charset=iso-2022-jp

\x1b$BF|K\\8l\x1b(B
--b1--
""")
mime("single-part-bare-lf", [63], "From: x@y\nSubject: caf\xe9\n\nline one\n"
     ".dot line\nlast line without end")
mime("broken-boundaries", [1, 2, 4, 8, 16, 32, 64, 128], """\
Content-Type: multipart/mixed; boundary="unterminated
Subject: folded
 header

--unterminated
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

w6nDqA=
--unterminated
Content-Type: multipart/related; boundary=""

no end boundary here
""")


# fuzz_pickup_file: byte 0 modulo 3 picks the dot rule (0 iis, 1 literal,
# 2 auto), the rest is the Pickup file.
def pickup(name, literal, text, raw=False):
    body = text.encode("latin-1") if raw else crlf(text).encode("latin-1")
    rule = 2 if literal == "auto" else 1 if literal else 0
    seed("fuzz_pickup_file", name, bytes([rule]) + body)


pickup("envelope-lines", False, """\
x-sender: app@example.org
X-Receiver: <bob@example.com>
X-Receiver: carol@example.net
From: Application <app@example.org>
To: Bob <bob@example.com>
Subject: nightly report

..leading dot doubled for IIS
. a dot and a space
body
.
""")
pickup("headers-only-envelope", True, "From: \"Smith, J\" <j@example.org>\n"
       "To: a@example.com, Group: b@example.net, c@example.net;\n"
       "Cc: d@example.com\nBcc: secret@example.com\nSubject: bare LF\n\n"
       ".literal dot line\nend\n.\n", raw=True)
pickup("dsn-parameters", False, """\
X-Sender: <bounces@example.org> RET=HDRS ENVID=QQ314159
X-Receiver: <bob@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;bob@example.com
X-Receiver: <>
Sender: list@example.org
From: someone@example.org
Subject: =?utf-8?q?caf=C3=A9?= and raw caf\xe9

text
""")
pickup("auto-literal", "auto", """\
From: app@example.org
To: bob@example.com
Subject: written without dot-stuffing

..looks stuffed
a line
.leading dot, so the file is literal
.
""")
pickup("auto-stuffed", "auto", "From: app@example.org\nTo: b@example.com\n\n"
       "..one\n...\n..\n" + "x" * 3000 + "\n.\r", raw=True)
pickup("mbox-from-line", "auto", """\
From list-bounces@example.org  Fri Apr  6 22:43:55 2007
To: bob@example.com
Subject: from an mbox export

>From the archive
.
""")
pickup("hostile", False, "X-Receiver: <a@b>\r\nX-Sender: \r\nX-Receiver: "
       "<unterminated\r\nTo: " + "x" * 300 + "@example.com\r\n"
       "Subject: nul\x00 inside\r\n\r\nbody\x00with nul\r\n.\r\n", raw=True)


# fuzz_smtp_proto: byte 0 sets the engine (tls mode = b % 5, 16 AUTH,
# 32 small line limits, 64 null sender, 128 SMTPUTF8), then chunks of
# server bytes, each behind a byte giving its length - 1 (modulo 64).
def smtp(name, flags, transcript, chunk=23):
    data = crlf(transcript).encode("latin-1")
    out = bytearray([flags])
    for i in range(0, len(data), chunk):
        part = data[i:i + chunk]
        out.append(len(part) - 1)
        out += part
    seed("fuzz_smtp_proto", name, bytes(out))


ESMTP = """\
220 mx.example.com ESMTP ready
250-mx.example.com greets you
250-PIPELINING
250-SIZE 10240000
250-8BITMIME
250-DSN
250 SMTPUTF8
"""
smtp("esmtp-pipelining", 0, ESMTP + """\
250 2.1.0 sender ok
250 2.1.5 rcpt ok
550 5.1.1 no such user
251 2.1.5 will forward
354 go ahead
250 2.0.0 queued as 4711
250 2.0.0 reset
250 2.1.0 sender ok
450 4.2.1 mailbox busy
250 2.1.5 ok
250 2.1.5 ok
354 go ahead
552 5.3.4 message too big
221 2.0.0 bye
""")
smtp("starttls-then-auth", 1 | 16, """\
220 relay.example.net ESMTP
250-relay.example.net
250-STARTTLS
250 AUTH PLAIN LOGIN
220 2.0.0 ready to start TLS
250-relay.example.net
250 AUTH PLAIN LOGIN
235 2.7.0 authenticated
250 ok
250 ok
250 ok
250 ok
354 send
250 ok
221 bye
""", chunk=7)
smtp("auth-login-implicit-tls", 4 | 16, """\
220 smtp.example.org ESMTP
250-smtp.example.org
250 AUTH LOGIN
334 VXNlcm5hbWU6
334 UGFzc3dvcmQ6
535 5.7.8 authentication failed
""")
smtp("helo-fallback", 64, """\
220 old.example.com SMTP
502 5.5.2 command not recognized
250 old.example.com
250 ok
250 ok
250 ok
250 ok
354 Start mail input; end with <CRLF>.<CRLF>
250 ok
""", chunk=64)
smtp("bad-replies", 32 | 128, """\
220-first line of a long greeting
220-second line
220 done
250-mx
250 SIZE 100
300 what
354 too early
250 wrong class for DATA
""" + "250-" + "x" * 80 + "\n" + "421 4.3.2 closing\n", chunk=5)
smtp("starttls-reply-with-nul", 3, "220 mx ESMTP\r\n250-mx\r\n250 STARTTLS\r\n"
     "220 go\x00ahead\r\n250 mx\r\n", chunk=64)


# fuzz_addr: the input is an address list (and an envelope path).
for name, text in [
        ("display-names", "Joe Q. Public <john.q.public@example.com>, "
         "Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>"),
        ("group", "A Group:Ed Jones <c@a.test>,joe@where.test,"
         "John <jdoe@one.test>;, Undisclosed recipients:;"),
        ("quoted-and-comments", "\"Giant; \\\"Big\\\" Box\" "
         "<sysservices@example.net>, Pete(A nice \\) chap) "
         "<pete(his account)@silly.test(his host)>"),
        ("source-route-path", "<@relay.test,@r2.test:user@domain.test>"),
        ("null-path", "<>"),
        ("literals-and-utf8", "user@[192.0.2.1], x@[IPv6:2001:db8::1], "
         "J\u00f6rg <j\u00f6rg@b\u00fccher.example>, \"a b\"@example.com"),
        ("broken", "a@b@c, <unterminated, \"open quote, @nolocal, "
         "local@, ,,, <a@b>>")]:
    seed("fuzz_addr", name, text)


# fuzz_rfc2047: byte 0 % 80 is the header name's length, the rest a raw
# header value.
def hdr(name, name_len, value):
    seed("fuzz_rfc2047", name, bytes([name_len]) + value)


hdr("latin1-q", 4, b"=?iso-8859-1?q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>")
hdr("utf8-b-adjacent", 7, b"=?UTF-8?B?w6nDqMOg?= =?UTF-8?B?4oKs?= plain text")
hdr("raw-8bit", 7, "Gr\u00fc\u00dfe aus K\u00f6ln \u2013 sch\u00f6ne "
    "Tage".encode("utf-8"))
hdr("broken-words", 2, b"=?utf-8?q?broken =?x?b?###?= =?utf-8*en?Q?a_b?= "
    b"=?ISO-2022-JP?B?GyRCJEgbKEI=?= =?utf-8?q??=")
hdr("long-for-folding", 12, ("Ein sehr langer Betreff mit Umlauten \u00e4\u00f6"
    "\u00fc und noch mehr Text, der gefaltet werden muss " * 3).encode("utf-8"))
hdr("folded-crlf", 7, b"first part\r\n second =?utf-8?q?=C3=A9?=\r\n\tthird")


# fuzz_repair: byte 0 picks the options (bits 0-1 target utf-8, preserve,
# iso-2022-jp, windows-1252; bit 2 7bit; bit 3 legacy shift_jis), the rest
# is the message.
def repair(name, opts, msg):
    seed("fuzz_repair", name, bytes([opts]) + crlf(msg).encode("latin-1"))


repair("unlabelled-latin1", 0, """\
From: M\xfcller <m@example.de>
To: bob@example.com
Subject: Gr\xfc\xdfe

Sch\xf6ne Gr\xfc\xdfe aus K\xf6ln.
""")
repair("latin1-label-c1-7bit", 4, """\
From: a@example.org
Subject: quotes
MIME-Version: 1.0
Content-Type: text/plain; charset=iso-8859-1

\x93smart quotes\x94 and a euro \x80 sign
""")
repair("shift-jis-to-iso2022jp", 2 | 8, """\
From: =?x-sjis?B?k/qWe4zq?= <a@example.jp>
Subject: \x93\xfa\x96\x7b\x8c\xea
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=sep

--sep
Content-Type: text/plain; charset=shift_jis

\x93\xfa\x96\x7b\x8c\xea\x82\xcc\x83\x65\x83\x4c\x83\x58\x83\x67
--sep
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

AAECAwQFBgcICQ==
--sep--
""")
repair("utf7-preserve", 1, """\
From: =?unicode-1-1-utf-7?Q?J+APw-rgen?= <j@example.de>
Subject: =?utf-7?B?K0FQdy1iZXI=?=
Content-Type: text/plain; charset=utf-7

Hi Mom -+Jjo--! A+ImIDkQ. +- 1 +- 1 = 2
""")
repair("long-latin1-line", 0, "From: a@example.org\nSubject: long\n\n" +
       ("\xe9t\xe9 \xe0 la plage, " * 150) + "\n")
repair("long-header-lines", 2, "From: a@example.org\nSubject: =?utf-8?B?" +
       "w6k" * 400 + "?=\nReferences: " + " ".join("<%d@x>" % i
       for i in range(200)) + "\nX-Long: " + "y" * 1100 + "\n\nbody\n")
repair("quoted-encoded-words", 0, "From: \"=?utf-8?Q?Caf=C3=A9?=\" <a@b>\n"
       "To: \"Smith, =?iso-8859-1?Q?Ren=E9?=\" <r@s>, \"=?bogus\" <x@y>\n"
       "Subject: s\n\nbody\n")
repair("raw-8bit-names", 4, "From: Tom\xe1\x9a <t@x>\nTo: \"J\xfcrgen\" <j@x>\n"
       "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
       "Content-Type: text/plain; charset=iso-8859-1; name=\"caf\xe9.txt\"\n\n"
       "caf\xe9\n--b\nContent-Type: application/pdf; name=\"R\xe9sum\xe9.pdf\"\n"
       "Content-Disposition: attachment; filename=\"" + "\xe9" * 80 +
       ".pdf\" (c); size=3\n\nAAA\n--b--\n")
repair("unknown-labels", 0, "From: a@b\nMIME-Version: 1.0\nContent-Type: "
       "multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; "
       "charset=us-askey\n\ncaf\xe9\n--b\nContent-Type: text/plain; "
       "charset=fakescii\n\nascii\n--b\nContent-Type: text/plain; charset="
       "\"utf-8\\r\\n\"\n\ncaf\xc3\xa9\n--b\nContent-Type: text/plain; "
       "charset=ansi_x3.110-1983\n\n\xc3\x85\n--b--\n")
repair("labels-that-lie", 2, "From: =?iso-2022-jp?Q?=89=EF=8B=63?= <a@b>\n"
       "Subject: =?ISO-2022-JP?B?ie+LYw==?= =?koi8-r?B?6dfBzg==?=\n"
       "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
       "Content-Type: text/plain; charset=iso-2022-jp\n\n\x83\x65\x83\x58\n"
       "--b\nContent-Type: text/plain; charset=iso-2022-kr\n\n\xc7\xd1\n--b\n"
       "Content-Type: text/plain; charset=iso-8859-1\n\nGr\xc3\xbc\n--b--\n")
repair("html-meta", 0, "Subject: s\nMIME-Version: 1.0\nContent-Type: "
       "multipart/alternative; boundary=b\n\n--b\nContent-Type: text/html; "
       "charset=windows-1251\n\n<html><head><meta charset=\"windows-1251\">"
       "<meta http-equiv=Content-Type content='text/html; charset=x'>"
       "<meta charset=\n</head><body>\xcf</body></html>\n--b\nContent-Type: "
       "text/html; charset=iso-8859-1\n\n<META CHARSET=iso-8859-1>\xc3\xa9\n"
       "--b--\n")
repair("iso-2022-jp-windows", 0, "Subject: =?ISO-2022-JP?B?GyRCLSEycTVEGyhC?="
       "\nMIME-Version: 1.0\nContent-Type: text/plain; charset=iso-2022-jp\n\n"
       "\x1b$B-!-5|b\x1b(I6@\x0e7\x0f\x1b(B ok\x1b$(D+!\x1b$B-\n")
repair("detect-unlabelled", 16, "Subject: s\nMIME-Version: 1.0\nContent-Type: "
       "multipart/mixed; boundary=b\n\n--b\n\n\xcf\xf0\xe8\xe2\xe5\xf2! "
       "\xca\xe0\xea \xe4\xe5\xeb\xe0?\n--b\nContent-Type: text/plain; "
       "charset=us-ascii\n\n\x96\xbe\x93\xfa\x82\xcc\x89\xef\x8b\x63\n--b--\n")
repair("ks-c-label-windows-1252-target", 3, """\
From: a@example.kr
Subject: =?ks_c_5601-1987?B?x9GxueFu?= =?broken
Content-Type: text/plain; charset="ks_c_5601-1987"
Content-Transfer-Encoding: 8bit

\xc7\xd1\xb1\xb9\xbe\xee \x8c\x63
""")


# fuzz_smtpd: byte 0 = SMTPUTF8 (bit 0) and the DATA chunk size - 1
# (bits 1-7), then a client's transcript.
def smtpd(name, flags, transcript):
    seed("fuzz_smtpd", name, bytes([flags]) + transcript.encode("utf-8"))


smtpd("session", 0x10, crlf("""\
EHLO client.example
MAIL FROM:<alice@example.com> SIZE=1000 BODY=8BITMIME RET=HDRS ENVID=x+2B1
RCPT TO:<bob@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.com
RCPT TO:<@relay.example:carol@remote.example>
RCPT TO:<"dave@x"@example.com>
DATA
Subject: hi

..stuffed
.
QUIT
"""))
smtpd("smuggling", 0x03, "EHLO x\r\nDATA\r\na\n.\nMAIL FROM:<e@v>\r\na\r.\r"
      "b\r\n.\nc\n.\r\n.\r\nNOOP\r\n")
smtpd("utf8", 0x01, crlf("""\
MAIL FROM:<fr\u00e9d@example.com> SMTPUTF8
RCPT TO:<gr\u00fcn@example.com>
RCPT TO:<bob%remote.example@example.com>
RCPT TO:<remote!bob@example.com>
RCPT TO:<bob@[192.0.2.7]>
RCPT TO:<bob@example.com.>
RCPT TO:<Postmaster>
"""))
smtpd("bdat", 0x05, "EHLO x\r\nMAIL FROM:<a@example.com>\r\n"
      "RCPT TO:<b@example.com>\r\nBDAT 9\r\nSubject: \rBDAT 12 LAST\r\n"
      "x\r\n.\r\nQUIT\r\nBDAT 0 LAST\r\nBDAT 5x\r\nDATA\r\na\r\n.\r\n")

def main():
    for target, files in seeds.items():
        folder = os.path.join(HERE, target)
        os.makedirs(folder, exist_ok=True)
        for old in os.listdir(folder):
            if old not in files:
                os.unlink(os.path.join(folder, old))
        for name, data in files.items():
            assert len(data) <= 4096, (target, name, len(data))
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
    fuzz = os.path.dirname(HERE)
    missing = [f[:-2] for f in os.listdir(fuzz)
               if f.startswith("fuzz_") and f.endswith(".c") and
               f[:-2] not in seeds]
    if missing:
        sys.exit("no seeds for " + ", ".join(sorted(missing)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
