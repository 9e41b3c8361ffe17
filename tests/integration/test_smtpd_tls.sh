#!/usr/bin/env bash
# test_smtpd_tls.sh - the listener's STARTTLS and implicit TLS (a test CA
# from openssl, the client verifying the chain and name), AUTH PLAIN and
# LOGIN only inside TLS against smtpd_auth_file (yescrypt and SHA-512
# hashes), an authenticated client may relay, the STARTTLS injection case
# (commands pipelined behind STARTTLS are never answered inside TLS), the
# key and users files that must be refused, and the protocol log
# Log/smtpd-YYYYMMDD.log without credentials or bodies.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"
need openssl perl
CA=$T/ca
make_test_ca "$CA" || abort_test "test CA made"
chmod 600 "$CA/server.key"
P=$(free_port)
PI=$(free_port)
# alice: SHA-512, bob: yescrypt
{
	echo "# test users"
	echo "alice:$(openssl passwd -6 -salt abcdefgh 'alice secret')"
	echo "bob:$(perl -e 'print crypt("bob secret", q($y$j9T$F5Jx5fExrKuPp53xLKQ..1$))')"
} > "$T/users"
chmod 600 "$T/users"
conf() {
	write_conf "listen = 127.0.0.2:$P" "listen_implicit_tls = 127.0.0.2:$PI" \
		"tls_cert_file = $CA/server.pem" "tls_key_file = $CA/server.key" \
		"smtpd_auth_file = $T/users" "smtpd_greet_pause = 0s" \
		"protocol_log = maximum" "retry_schedule = 1h" "$@"
}
conf
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null

# --- files that must be refused
chmod 644 "$CA/server.key"
expect_exit 78 "a key readable by others: not started (78)" daemon.log -c "$CONF"
check "the refusal names the key and its mode" has 'tls_key_file .*server.key is mode 0644' "$OUT"
chmod 600 "$CA/server.key"
chmod 640 "$T/users"
expect_exit 78 "a users file group may read: not started (78)" daemon.log -c "$CONF"
check "the refusal names the users file" has 'smtpd_auth_file .*users is mode 0640' "$OUT"
chmod 600 "$T/users"
printf 'carol:$1$abc$oldmd5hash\n' > "$T/users-md5"; chmod 600 "$T/users-md5"
conf "smtpd_auth_file = $T/users-md5"
expect_exit 78 "a users file with an MD5 hash: not started (78)" daemon.log -c "$CONF"
check "the refusal says which hashes are taken" has 'yescrypt' "$OUT"
conf

start_daemon || abort_test "daemon starts"

$PY - "$P" "$PI" "$CA/ca.pem" >"$T/tls.log" 2>&1 <<'PYEOF'
import base64, smtplib, socket, ssl, sys
port, iport, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
def show(tag, x):
    print(tag, x)
    sys.stdout.flush()

s = smtplib.SMTP("127.0.0.2", port, timeout=10)
s.ehlo("client.test")
show("plain-ext-starttls", s.has_extn("starttls"))
show("plain-ext-auth", s.has_extn("auth"))
show("auth-before-tls", s.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0alice\0alice secret").decode()))
show("starttls", s.starttls(context=ctx))
s.ehlo("client.test")
show("tls-ext-starttls", s.has_extn("starttls"))
show("tls-ext-auth", s.esmtp_features.get("auth"))
show("rcpt-remote-unauth", (s.mail("x@remote.test"), s.rcpt("victim@remote.test")))
s.rset()
show("auth-wrong", s.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0alice\0wrong").decode()))
show("auth-unknown", s.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0mallory\0x").decode()))
show("auth-plain", s.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0alice\0alice secret").decode()))
show("auth-again", s.docmd("AUTH", "PLAIN x"))
show("send-auth", s.sendmail("alice@example.com", ["victim@remote.test", "tlsbox@example.com"],
    b"Subject: over tls\r\n\r\nsecret body text\r\n"))
s.quit()

s = smtplib.SMTP("127.0.0.2", port, timeout=10)
s.starttls(context=ctx)
s.ehlo("client.test")
show("login-1", s.docmd("AUTH", "LOGIN"))
show("login-2", s.docmd(base64.b64encode(b"bob").decode()))
show("login-3", s.docmd(base64.b64encode(b"bob secret").decode()))
show("login-cancel-1", s.docmd("AUTH", "LOGIN"))
s.quit()

# implicit TLS from the first byte
s = smtplib.SMTP_SSL("127.0.0.2", iport, timeout=10, context=ctx)
show("implicit-ehlo", s.ehlo("client.test")[0])
show("implicit-auth-offered", s.has_extn("auth"))
show("send-implicit", s.sendmail("x@remote.test", ["implicit@example.com"], b"Subject: implicit\r\n\r\nx\r\n"))
s.quit()

# STARTTLS injection: VRFY and MAIL pipelined behind STARTTLS in one packet
raw = socket.create_connection(("127.0.0.2", port), 10)
f = raw.makefile("rb")
f.readline()
raw.sendall(b"EHLO inj.test\r\n")
while True:
    l = f.readline()
    if l[3:4] == b" ":
        break
raw.sendall(b"STARTTLS\r\nVRFY inj\r\nMAIL FROM:<inj@remote.test>\r\n")
show("inj-220", f.readline())
t = ctx.wrap_socket(raw, server_hostname="127.0.0.2")
t.sendall(b"NOOP\r\n")
tf = t.makefile("rb")
show("inj-first-reply", tf.readline())
t.sendall(b"EHLO inj.test\r\n")
first = tf.readline()
show("inj-ehlo", first)
t.sendall(b"QUIT\r\n")
print("done")
PYEOF
L=$(cat "$T/tls.log")
check "the Python client ran to the end" has '^done' "$L"
check "STARTTLS offered before TLS" has '^plain-ext-starttls True' "$L"
check "AUTH not offered before TLS" has '^plain-ext-auth False' "$L"
check "AUTH before TLS: 538 5.7.11" has "^auth-before-tls (538, b'5.7.11" "$L"
check "STARTTLS: 220, and the chain and name verify against the test CA" has "^starttls (220, b'2.0.0 Ready to start TLS')" "$L"
check "STARTTLS not offered again inside TLS" has '^tls-ext-starttls False' "$L"
check "AUTH PLAIN LOGIN offered inside TLS" has '^tls-ext-auth *PLAIN LOGIN' "$L"
check "TLS without AUTH is no licence to relay: 554" has "rcpt-remote-unauth .*(554, b'5.7.1" "$L"
check "a wrong password: 535 5.7.8" has "^auth-wrong (535, b'5.7.8" "$L"
check "an unknown user: 535 5.7.8" has "^auth-unknown (535, b'5.7.8" "$L"
check "AUTH PLAIN (SHA-512): 235" has "^auth-plain (235, b'2.7.0" "$L"
check "AUTH a second time: 503" has "^auth-again (503, b'5.5.1" "$L"
check "authenticated: a remote recipient accepted (no refusals)" has '^send-auth {}' "$L"
check "AUTH LOGIN (yescrypt): 334, 334, 235" has "^login-3 (235, b'2.7.0" "$L"
check "implicit TLS: EHLO answered" has '^implicit-ehlo 250' "$L"
check "implicit TLS: AUTH offered at once" has '^implicit-auth-offered True' "$L"
check "implicit TLS: message accepted" has '^send-implicit {}' "$L"
check "injection: the 220 to STARTTLS" has "^inj-220 b'220 2.0.0" "$L"
check "injection: the first reply inside TLS is to NOOP, not to the injected VRFY (252)" \
	has "^inj-first-reply b'250 2.0.0 Ok" "$L"
check "injection: the injected MAIL was never taken (EHLO answered normally)" \
	has "^inj-ehlo b'250-mx.test.example" "$L"
wait_for 5 mailbox_has example.com tlsbox 1
M=$(cat "$ROOT"/Store/example.com/tlsbox/new/* 2>/dev/null)
check "Received: with ESMTPSA" has 'with ESMTPSA id' "$M"
check "Received: the TLS version and cipher" has '(using TLSv1\.[23]/' "$M"
wait_for 5 mailbox_has example.com implicit 1
check "implicit TLS: Received: with ESMTPS" grep -q 'with ESMTPS id' "$ROOT"/Store/example.com/implicit/new/*
check "authenticated relay: the remote copy waits in Out/" test "$(out_count)" = 1
TL=$(tracklog)
check "tracking log: received with tls= and auth=alice" has 'event=received .*tls=TLSv1\.[23]/[^ ]* client=\[127.0.0.1\] helo=client.test auth=alice' "$TL"
stop_daemon
PL=$(cat "$ROOT"/Log/smtpd-*.log 2>/dev/null)
check "protocol log: Log/smtpd-YYYYMMDD.log has the sessions" has '< [eE][hH][lL][oO] client.test' "$PL"
check "protocol log: AUTH with its mechanism only" has '< AUTH PLAIN$' "$PL"
check "protocol log: no credential (base64 of the PLAIN response)" \
	lacks "$(printf '\0alice\0alice secret' | base64)" "$PL"
check "protocol log: no LOGIN password" lacks "$(printf 'bob secret' | base64)" "$PL"
check "protocol log: no body" lacks 'secret body text' "$PL"
check "protocol log: the TLS line" has '\* TLSv1\.[23]/' "$PL"
finish
