#!/usr/bin/python3
"""smtp_peer.py - a scriptable SMTP server for the connector's tests.

Run with Debian's /usr/bin/python3. Two engines:

- aiosmtpd (python3-aiosmtpd) for well-behaved peers: per-recipient
  replies, a final reply after DATA, temporary failures for the first N
  connections, SIZE, STARTTLS, AUTH (only after TLS), and extensions
  taken away (8BITMIME, SMTPUTF8, PIPELINING) as old servers lacked them;
- a small raw asyncio server for what aiosmtpd cannot play: a peer that
  offers DSN and records the parameters (aiosmtpd refuses them), and
  misbehaving peers:
  a refused greeting, garbage replies, a connection dropped during DATA or
  after the final dot, slow replies, a greeting dripped as many "220-"
  lines, one every --drip seconds (--drip-lines of them, then "220 ").

Every accepted message is written to --maildir as one file: envelope lines
(X-Peer-Mail-From, X-Peer-Rcpt-To per recipient, X-Peer-Mail-Options,
X-Peer-TLS, X-Peer-Auth), then the DATA content as received. --log gets
every command line and reply (one per line, flushed). The PID goes to
--pidfile once the socket listens, so tests can wait for it boundedly.
"""

import argparse
import asyncio
import os
import signal
import ssl
import sys
import time


def parse_reply(text):
    code, _, rest = text.partition(" ")
    return int(code), rest


class Recorder:
    def __init__(self, args):
        self.args = args
        self.log = open(args.log, "a", buffering=1) if args.log else None
        self.count = 0

    def note(self, line):
        if self.log:
            self.log.write(line.rstrip("\r\n") + "\n")

    def save(self, mail_from, rcpts, mail_opts, tls, auth, data):
        if not self.args.maildir:
            return
        self.count += 1
        name = "%d.%d.%d.msg" % (time.time_ns(), os.getpid(), self.count)
        tmp = os.path.join(self.args.maildir, "." + name)
        with open(tmp, "wb") as f:
            # aiosmtpd gives the null sender as "<>"
            f.write(("X-Peer-Mail-From: <%s>\r\n" %
                     (mail_from or "").strip("<>")).encode())
            for r in rcpts:
                # the raw engine passes (address, parameters)
                addr, opts = r if isinstance(r, tuple) else (r, "")
                f.write(("X-Peer-Rcpt-To: <%s>%s\r\n" %
                         (addr, " " + opts if opts else "")).encode())
            f.write(("X-Peer-Mail-Options: %s\r\n" % " ".join(mail_opts)).encode())
            f.write(("X-Peer-TLS: %s\r\n" % (tls or "none")).encode())
            f.write(("X-Peer-Auth: %s\r\n" % (auth or "none")).encode())
            f.write(data)
        os.rename(tmp, os.path.join(self.args.maildir, name))


def tls_context(args):
    if not args.starttls:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(args.starttls[0], args.starttls[1])
    if args.old_tls_only:
        # a server stuck before TLS 1.2: the handshake with the connector
        # (TLS 1.2 at least) cannot succeed
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    return ctx


# ------------------------------------------------------------- aiosmtpd


def run_aiosmtpd(args, rec):
    from aiosmtpd.controller import Controller  # noqa: F401 (API check)
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

    rcpt_replies = {}
    for item in args.rcpt_reply or []:
        addr, _, reply = item.partition("=")
        rcpt_replies[addr.lower()] = reply
    state = {"mails": 0}

    class Handler:
        async def handle_EHLO(self, server, session, envelope, hostname,
                              responses):
            session.host_name = hostname
            out = []
            for line in responses:
                kw = line[4:].split(" ")[0].upper()
                if args.no_8bitmime and kw == "8BITMIME":
                    continue
                if args.no_smtputf8 and kw == "SMTPUTF8":
                    continue
                out.append(line)
            if not args.no_pipelining:
                out.insert(len(out) - 1, "250-PIPELINING")
            # the last line must be "250 ", the others "250-"
            out = [("250-" + l[4:]) for l in out]
            out[-1] = "250 " + out[-1][4:]
            return out

        async def handle_MAIL(self, server, session, envelope, address,
                              mail_options):
            rec.note("> MAIL FROM:<%s> %s" % (address, " ".join(mail_options)))
            if args.mail_reply:
                return args.mail_reply
            # --fail-first counts transactions: a client may reuse one
            # connection for its retry
            state["mails"] += 1
            session.fail_all = state["mails"] <= args.fail_first
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
            return "250 2.1.0 OK"

        async def handle_RCPT(self, server, session, envelope, address,
                              rcpt_options):
            rec.note("> RCPT TO:<%s> %s" % (address, " ".join(rcpt_options)))
            if getattr(session, "fail_all", False):
                return "451 4.3.0 try again later"
            reply = rcpt_replies.get(address.lower(), rcpt_replies.get("*"))
            if reply:
                return reply
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 OK"

        async def handle_DATA(self, server, session, envelope):
            if args.data_reply:
                return args.data_reply
            tls = None
            if session.ssl:
                tls = session.ssl.get("version") if isinstance(session.ssl, dict) else None
            if tls is None and getattr(session, "ssl", None):
                tls = "tls"
            auth = None
            if session.authenticated and session.auth_data is not None:
                auth = session.auth_data.login.decode() if isinstance(
                    session.auth_data, LoginPassword) else str(session.auth_data)
            rec.save(envelope.mail_from, envelope.rcpt_tos,
                     envelope.mail_options, tls, auth, envelope.original_content)
            return "250 2.0.0 queued"

    def authenticator(server, session, envelope, mechanism, auth_data):
        want_user, _, want_pass = args.auth.partition(":")
        ok = (isinstance(auth_data, LoginPassword) and
              auth_data.login.decode() == want_user and
              auth_data.password.decode() == want_pass)
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    class PeerSMTP(SMTP):
        async def push(self, status):
            rec.note("< " + status)
            await super().push(status)


    ctx = tls_context(args)
    kwargs = dict(hostname=args.hostname, decode_data=False,
                  data_size_limit=args.size or 33554432,
                  enable_SMTPUTF8=not args.no_smtputf8)
    if ctx is not None:
        kwargs["tls_context"] = ctx
        kwargs["require_starttls"] = args.require_tls
    if args.auth:
        kwargs["authenticator"] = authenticator
        kwargs["auth_required"] = True
        kwargs["auth_require_tls"] = True

    handler = Handler()

    def factory():
        return PeerSMTP(handler, **kwargs)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    host, port = args.listen.rsplit(":", 1)
    implicit = None
    if args.implicit_tls:
        implicit = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        implicit.load_cert_chain(args.implicit_tls[0], args.implicit_tls[1])
    server = loop.run_until_complete(
        loop.create_server(factory, host=host.strip("[]"), port=int(port),
                           ssl=implicit))
    return loop, server


# ------------------------------------------------------------------ raw


def run_raw(args, rec):
    overrides = {}
    for item in args.raw_reply or []:
        verb, _, text = item.partition("=")
        overrides[verb.upper()] = text
    async def reply(writer, text):
        if args.slow:
            await asyncio.sleep(args.slow)
        rec.note("< " + text.split("\r\n")[0])
        writer.write(text.encode() + b"\r\n")
        await writer.drain()

    async def client(reader, writer):
        try:
            if args.drip:
                rec.note("* connection from %s:%d" % writer.get_extra_info("peername")[:2])
                for i in range(args.drip_lines):
                    writer.write(b"220-%s drip %d\r\n" % (args.hostname.encode(), i))
                    await writer.drain()
                    await asyncio.sleep(args.drip)
                rec.note("* drip done")
            if args.greeting:
                await reply(writer, args.greeting)
                if not args.greeting.startswith("220"):
                    line = await asyncio.wait_for(reader.readline(), 30)
                    if line:
                        rec.note("> " + line.decode(errors="replace").strip())
                        await reply(writer, "221 2.0.0 bye")
                    writer.close()
                    return
            else:
                await reply(writer, "220 %s ESMTP raw peer" % args.hostname)
            mail_from, rcpts, mail_opts = None, [], []
            while True:
                line = await asyncio.wait_for(reader.readline(), 60)
                if not line:
                    break
                cmd = line.decode(errors="replace").rstrip("\r\n")
                rec.note("> " + cmd)
                verb = cmd.split(" ")[0].upper()
                if verb in overrides:
                    # a misbehaving peer: this reply, whatever it means
                    await reply(writer, overrides[verb])
                    continue
                if verb in ("EHLO", "HELO", "LHLO"):
                    if args.garbage:
                        writer.write(b"this is not smtp\r\n250 ok\r\n")
                        await writer.drain()
                        continue
                    await reply(writer, "250-%s\r\n250-8BITMIME\r\n%s250 SIZE 100000000" % (args.hostname, "250-DSN\r\n" if args.dsn else ""))
                elif verb == "MAIL":
                    words = cmd[10:].strip().split(" ")
                    mail_from = words[0].strip("<>")
                    mail_opts = words[1:]
                    rcpts = []
                    await reply(writer, "250 2.1.0 OK")
                elif verb == "RCPT":
                    words = cmd[8:].strip().split(" ")
                    rcpts.append((words[0].strip("<>"), " ".join(words[1:])))
                    await reply(writer, "250 2.1.5 OK")
                elif verb == "DATA":
                    await reply(writer, "354 go ahead")
                    data = b""
                    while True:
                        chunk = await asyncio.wait_for(reader.readline(), 60)
                        if not chunk:
                            break
                        if args.disconnect_in_data and len(data) > 20:
                            writer.transport.abort()
                            return
                        if chunk == b".\r\n":
                            break
                        data += chunk
                    if args.stall_after_dot:
                        rec.note("* stalling after the dot")
                        await asyncio.sleep(3600)
                        return
                    if args.disconnect_after_dot:
                        rec.note("* dropping the connection after the dot")
                        writer.transport.abort()
                        return
                    rec.save(mail_from, rcpts, mail_opts, None, None, data)
                    if args.lmtp:
                        for r in rcpts:
                            await reply(writer, "250 2.0.0 <%s> delivered" % r[0])
                    else:
                        await reply(writer, "250 2.0.0 queued")
                elif verb == "RSET" or verb == "NOOP":
                    await reply(writer, "250 2.0.0 OK")
                elif verb == "QUIT":
                    await reply(writer, "221 2.0.0 bye")
                    break
                else:
                    await reply(writer, "502 5.5.2 not implemented")
        except (asyncio.TimeoutError, ConnectionError):
            pass
        try:
            writer.close()
        except Exception:
            pass

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    host, port = args.listen.rsplit(":", 1)
    server = loop.run_until_complete(
        asyncio.start_server(client, host=host.strip("[]"), port=int(port)))
    return loop, server


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--pidfile")
    ap.add_argument("--maildir")
    ap.add_argument("--log")
    ap.add_argument("--hostname", default="peer.lab.test")
    ap.add_argument("--rcpt-reply", action="append")
    ap.add_argument("--mail-reply")
    ap.add_argument("--data-reply")
    ap.add_argument("--fail-first", type=int, default=0,
                    help="451 to every RCPT of the first N transactions")
    ap.add_argument("--size", type=int, default=0)
    ap.add_argument("--no-8bitmime", action="store_true")
    ap.add_argument("--no-smtputf8", action="store_true")
    ap.add_argument("--no-pipelining", action="store_true")
    ap.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--require-tls", action="store_true")
    ap.add_argument("--old-tls-only", action="store_true",
                    help="STARTTLS offered, but only TLS 1.0/1.1 spoken")
    ap.add_argument("--implicit-tls", nargs=2, metavar=("CERT", "KEY"),
                    help="TLS from the first byte (port 465 style)")
    ap.add_argument("--auth")
    # raw engine
    ap.add_argument("--greeting")
    ap.add_argument("--garbage", action="store_true")
    ap.add_argument("--disconnect-in-data", action="store_true")
    ap.add_argument("--disconnect-after-dot", action="store_true")
    ap.add_argument("--stall-after-dot", action="store_true",
                    help="never answer the final dot")
    ap.add_argument("--slow", type=float, default=0)
    ap.add_argument("--raw-reply", action="append",
                    help="VERB=REPLY: the raw engine answers VERB so")
    ap.add_argument("--drip", type=float, default=0,
                    help="greeting: a 220- line every DRIP seconds first")
    ap.add_argument("--drip-lines", type=int, default=1000)
    ap.add_argument("--dsn", action="store_true",
                    help="raw engine offering DSN; records MAIL/RCPT parameters")
    ap.add_argument("--lmtp", action="store_true",
                    help="raw engine speaking LMTP: LHLO, one reply per "
                    "recipient after the dot")
    args = ap.parse_args()

    rec = Recorder(args)
    raw = (args.greeting or args.garbage or args.disconnect_in_data or
           args.disconnect_after_dot or args.slow or args.dsn or
           args.raw_reply or args.drip or args.stall_after_dot or args.lmtp)
    loop, server = (run_raw if raw else run_aiosmtpd)(args, rec)
    if args.pidfile:
        with open(args.pidfile + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(args.pidfile + ".tmp", args.pidfile)
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    try:
        loop.run_forever()
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
