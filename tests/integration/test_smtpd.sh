#!/usr/bin/env bash
# test_smtpd.sh - the SMTP listener with real clients (swaks, Python's
# smtplib, a raw socket): delivery into the store over IPv4 and IPv6, the
# Received: field and tracking log line, relay control (the open-relay
# suite: every classic trick from outside relay_networks refused or kept
# local, the same from inside accepted), relay_domains, DSN parameters
# into the Out/ envelope, SIZE at MAIL and during DATA, SMTP smuggling,
# PIPELINING, limits (recipients, errors, long lines, connections per
# client, early talkers), and a client that vanishes mid-message leaving
# nothing behind.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"
need swaks
PROBE=$IMC_SRC/tests/integration/smtpd_probe.py
P=$(free_port)
HAVE6=0
grep -q '^00000000000000000000000000000001' /proc/net/if_inet6 2>/dev/null && HAVE6=1
LISTEN="127.0.0.1:$P"
[ $HAVE6 = 0 ] || LISTEN="$LISTEN, [::1]:$P"

conf() {
	write_conf "listen = $LISTEN" "relay_networks = 127.0.0.2/32, 10.0.0.0/8" \
		"relay_domains = partner.test" "smtpd_greet_pause = 0s" \
		"max_message_size = 100K" "max_rcpts_per_transaction = 5" \
		"smtpd_max_errors = 5" "smtpd_max_per_client = 3" \
		"retry_schedule = 1h" "$@"
}
conf
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null
start_daemon || abort_test "daemon starts"

# probe [ARGS] - stdin to the listener at 127.0.0.1, replies on stdout
probe() { $PY "$PROBE" 127.0.0.1 "$P" "$@"; }

# --- delivery, Received:, tracking log
swaks --server 127.0.0.1 --port "$P" --helo client.test --from alice@remote.test \
	--to bob@example.com --header 'Subject: swaks one' --body 'hello' >"$T/swaks1.log" 2>&1
check "swaks: accepted (exit 0)" test $? = 0
check "swaks: the 250 names the queue id" grep -q '<-  250 2.0.0 Ok: queued as [0-9A-Z]\{16\}' "$T/swaks1.log"
wait_for 5 mailbox_has example.com bob 1
check "swaks: one message in bob's mailbox" mailbox_has example.com bob 1
M=$(cat "$ROOT"/Store/example.com/bob/new/* 2>/dev/null)
check "Received: from the HELO name and the client address" has '^Received: from client.test (\[127.0.0.1\])' "$M"
check "Received: with ESMTP and the queue id" has 'by mx.test.example (imc-connector) with ESMTP id [0-9A-Z]\{16\}' "$M"
check "Return-Path: the MAIL FROM" has '^Return-Path: <alice@remote.test>' "$M"
check "the body" has '^hello' "$M"
L=$(tracklog)
check "tracking log: event=received with client and helo" has 'event=received .*from=<alice@remote.test> .*tls=none client=\[127.0.0.1\] helo=client.test' "$L"
check "tracking log: delivered" has 'event=delivered .*to=<bob@example.com>' "$L"

if [ $HAVE6 = 1 ]; then
	# (swaks needs a Perl module for IPv6 that Debian does not pull in)
	$PY - "$P" >"$T/smtplib6.log" 2>&1 <<'PYEOF'
import smtplib, sys
s = smtplib.SMTP("::1", int(sys.argv[1]), timeout=10)
print(s.sendmail("alice@remote.test", ["carol@example.com"], b"Subject: v6\r\n\r\nover IPv6\r\n"))
s.quit()
print("done")
PYEOF
	check "IPv6: accepted" grep -q '^done' "$T/smtplib6.log"
	wait_for 5 mailbox_has example.com carol 1
	check "IPv6: delivered, Received: names the IPv6 client" \
		grep -q 'Received: from .*(\[IPv6:::1\])' "$ROOT"/Store/example.com/carol/new/*
else
	not_ok "IPv6: no ::1 on this machine"
fi

# --- smtplib: several recipients, 8-bit, SMTPUTF8, the null sender
$PY - "$P" >"$T/smtplib.log" 2>&1 <<'PYEOF'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.ehlo("py.test")
assert s.has_extn("pipelining") and s.has_extn("size") and s.has_extn("8bitmime")
assert s.has_extn("smtputf8") and s.has_extn("dsn") and s.has_extn("enhancedstatuscodes")
print(s.sendmail("", ["dave@example.com", "erin@example.org"],
    "Subject: null sender\r\n\r\nfrom nobody\r\n".encode()))
print(s.sendmail("fr\u00e9d@remote.test", ["gr\u00fcn@example.com"],
    "Subject: utf8\r\n\r\n\u00e9t\u00e9\r\n".encode(), mail_options=["SMTPUTF8", "BODY=8BITMIME"]))
print(s.verify("bob@example.com"))
s.quit()
print("done")
PYEOF
check "smtplib: every transaction accepted" grep -q '^done' "$T/smtplib.log"
check "VRFY: 252" grep -q "^(252, b'2.5.2" "$T/smtplib.log"
wait_for 5 mailbox_has example.org erin 1
check "two recipients in two domains: both mailboxes" mailbox_has example.com dave 1
check "the null sender: Return-Path <>" grep -q '^Return-Path: <>' "$ROOT"/Store/example.org/erin/new/*
wait_for 5 test -d "$ROOT/Store/example.com/grün"
check "SMTPUTF8: a UTF-8 mailbox" mailbox_has example.com grün 1
check "SMTPUTF8: Received: says UTF8SMTP" grep -q 'with UTF8SMTP id' "$ROOT"/Store/example.com/grün/new/*

# --- the open-relay suite, from outside relay_networks (127.0.0.1)
relay_probe() { # SOURCE RCPT -> the RCPT reply line
	printf 'EHLO relay.test\r\nMAIL FROM:<spammer@remote.test>\r\nRCPT TO:<%s>\r\nQUIT\r\n' "$2" |
		$PY "$PROBE" 127.0.0.1 "$P" --source "$1" | sed -n '/^250[ -]2.1.0/{n;p;}' | head -1
}
for r in 'victim@remote.test' 'victim@REMOTE.test' '@example.com:victim@remote.test' \
	'@example.com,@example.org:victim@remote.test' 'victim@[127.0.0.1]' \
	'victim@[IPv6:::1]' 'victim%example.com@remote.test' '"victim@example.com"@remote.test' \
	'example.com!victim@remote.test' 'victim@sub.example.com'; do
	rep=$(relay_probe 127.0.0.1 "$r")
	check "outside: <$r> refused 554 5.7.1 (got: ${rep%$'\r'})" has '^554 5.7.1 .*Relay access denied' "$rep"
done
for r in 'victim@example.com.' 'victim@remote.test@example.com' 'victim@example..com'; do
	rep=$(relay_probe 127.0.0.1 "$r")
	check "outside: <$r> refused as bad syntax (got: ${rep%$'\r'})" has '^501 5.1.' "$rep"
done
# the tricks aimed at a local domain are local parts: mail stays local
for r in 'victim%remote.test@example.com' 'remote.test!victim@example.com' \
	'"victim@remote.test"@example.com'; do
	rep=$(relay_probe 127.0.0.1 "$r")
	check "outside: <$r> is a local mailbox, 250 (got: ${rep%$'\r'})" has '^250 2.1.5' "$rep"
done
# a whole message with the %-hack from outside: stored, never in Out/
out_before=$(out_count)
swaks --server 127.0.0.1 --port "$P" --from spammer@remote.test \
	--to 'victim%remote.test@example.com' --body 'percent hack' >"$T/swaks-pct.log" 2>&1
check "outside: %-hack message accepted for the local mailbox" test $? = 0
wait_for 5 mailbox_has example.com 'victim%remote.test' 1
check "outside: %-hack delivered to the local mailbox of that name" mailbox_has example.com 'victim%remote.test' 1
check "outside: nothing went to Out/" test "$(out_count)" = "$out_before"
# from inside relay_networks (127.0.0.2) the same recipients are taken
for r in 'victim@remote.test' '@example.com:victim@remote.test' 'victim@[127.0.0.1]' \
	'victim%example.com@remote.test' '"victim@example.com"@remote.test'; do
	rep=$(relay_probe 127.0.0.2 "$r")
	check "inside: <$r> accepted 250 (got: ${rep%$'\r'})" has '^250 2.1.5' "$rep"
done
swaks --server 127.0.0.1 --port "$P" --local-interface 127.0.0.2 --from alice@example.com \
	--to victim@remote.test --body 'relayed for a trusted client' >"$T/swaks-in.log" 2>&1
check "inside: a remote recipient accepted" test $? = 0
wait_for 5 eval 'test "$(out_count)" = $((out_before + 1))'
check "inside: the message waits in Out/" test "$(out_count)" = $((out_before + 1))
# relay_domains: from anyone, into Out/
swaks --server 127.0.0.1 --port "$P" --from x@remote.test --to someone@partner.test \
	--body 'for a relay domain' >"$T/swaks-rd.log" 2>&1
check "relay_domains: accepted from outside" test $? = 0
wait_for 5 eval 'test "$(out_count)" = $((out_before + 2))'
check "relay_domains: into Out/" test "$(out_count)" = $((out_before + 2))

# --- DSN parameters into the Out/ envelope
printf 'EHLO dsn.test\r\nMAIL FROM:<alice@example.com> RET=HDRS ENVID=job+2D7\r\nRCPT TO:<frank@partner.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;frank@partner.test\r\nDATA\r\nSubject: dsn\r\n\r\nx\r\n.\r\nQUIT\r\n' |
	probe >"$T/dsn.log"
check "DSN: accepted" grep -q '^250 2.0.0 Ok: queued as' "$T/dsn.log"
wait_for 5 eval 'has "rcpt pending - frank@partner.test" "$(out_envs)"'
E=$(out_envs)
check "DSN: ret and envid in the envelope" has '^ret HDRS' "$E"
check "DSN: envid as given" has '^envid job+2D7' "$E"
check "DSN: NOTIFY and ORCPT on the rcpt line" has '^rcpt pending [^ ]* frank@partner.test [^ ]* SUCCESS,FAILURE rfc822;frank@partner.test$' "$E"
check "DSN: an unknown RCPT parameter is 555" has '^555 5.5.4' \
	"$(printf 'EHLO x\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<bob@example.com> FOO=1\r\nQUIT\r\n' | probe)"

# --- SIZE: at MAIL, and during DATA
R=$(printf 'EHLO x\r\nMAIL FROM:<a@remote.test> SIZE=200000\r\nQUIT\r\n' | probe)
check "SIZE above max_message_size refused at MAIL: 552 5.3.4" has '^552 5.3.4' "$R"
$PY -c 'import sys; sys.stdout.buffer.write(b"EHLO x\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<big@example.com>\r\nDATA\r\nSubject: big\r\n\r\n" + (b"y" * 998 + b"\r\n") * 150 + b".\r\nQUIT\r\n")' |
	probe >"$T/big.log"
check "a message over max_message_size: 552 after the dot" grep -q '^552 5.3.4' "$T/big.log"
check "the session goes on after the 552 (QUIT answered)" grep -q '^221' "$T/big.log"
check "the big message is nowhere" test ! -e "$ROOT/Store/example.com/big"

# --- SMTP smuggling: only <CRLF>.<CRLF> ends the message
for v in 'lf:\n.\n' 'cr:\r.\r' 'lfcrlf:\n.\r\n' 'crlflf:\r\n.\n'; do
	name=${v%%:*} seq=${v#*:}
	printf "EHLO x\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<smug-$name@example.com>\r\nDATA\r\nSubject: smuggle\r\n\r\nfirst${seq}MAIL FROM:<evil@remote.test>\r\nRCPT TO:<evil-$name@example.com>\r\nDATA\r\nsmuggled\r\n.\r\nQUIT\r\n" |
		probe >"$T/smuggle-$name.log"
	check "smuggling <$name>: exactly one 250 after DATA" test "$(grep -c '^250 2.0.0 Ok: queued' "$T/smuggle-$name.log")" = 1
	wait_for 5 mailbox_has example.com "smug-$name" 1
	check "smuggling <$name>: the smuggled commands are text of the first message" \
		grep -q '^MAIL FROM:<evil@remote.test>' "$ROOT/Store/example.com/smug-$name/new/"*
	check "smuggling <$name>: no second message" test ! -e "$ROOT/Store/example.com/evil-$name"
done
# bare LF is taken as a line end (the built-in store writes LF line ends,
# so each line of the message is a line of its own there, no CR left)
printf 'EHLO x\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<barelf@example.com>\r\nDATA\r\nSubject: bare\n\nline1\nline2\r\n.\r\nQUIT\r\n' | probe >"$T/barelf.log"
wait_for 5 mailbox_has example.com barelf 1
check "bare LF: line1 is a line of its own" grep -qx 'line1' "$ROOT"/Store/example.com/barelf/new/*
check "bare LF: line2 is a line of its own" grep -qx 'line2' "$ROOT"/Store/example.com/barelf/new/*
check "bare LF: no CR left in the store copy" bash -c "! grep -q \$'\\r' '$ROOT'/Store/example.com/barelf/new/*"

# --- PIPELINING: a whole transaction in one write, replies in order
R=$(printf 'EHLO p\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<pipe@example.com>\r\nRCPT TO:<nobody@remote.test>\r\nDATA\r\nSubject: pipe\r\n\r\nx\r\n.\r\nNOOP\r\nQUIT\r\n' | probe)
check "pipelining: replies in order" has "$(printf '^250 2.1.0 Ok')" "$R"
check "pipelining: 250 2.1.0, 250 2.1.5, 554, 354, 250, 250, 221" test \
	"$(grep -o '^[0-9][0-9][0-9][ -]' <<<"$R" | tr -d ' -' | tail -7 | tr '\n' ' ')" = "250 250 554 354 250 250 221 "

# --- limits
R=$(printf 'EHLO x\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<r1@example.com>\r\nRCPT TO:<r2@example.com>\r\nRCPT TO:<r3@example.com>\r\nRCPT TO:<r4@example.com>\r\nRCPT TO:<r5@example.com>\r\nRCPT TO:<r6@example.com>\r\nQUIT\r\n' | probe)
check "max_rcpts_per_transaction: the sixth gets 452 4.5.3" has '^452 4.5.3' "$R"
R=$(printf 'BAD1\r\nBAD2\r\nBAD3\r\nBAD4\r\nBAD5\r\nNOOP\r\nNOOP\r\n' | probe)
check "smtpd_max_errors: 421 after five errors" has '^421 4.7.0' "$R"
check "smtpd_max_errors: then the connection is closed" has '^\[closed\]' "$R"
check "smtpd_max_errors: nothing answered after the 421" test "$(grep -c '^250' <<<"$R")" = 0
R=$(printf 'MAIL FROM:<a@b.test>\r\n' | probe)
check "MAIL before EHLO: 503" has '^503 5.5.1' "$R"
R=$(printf 'EHLO x\r\nDATA\r\nQUIT\r\n' | probe)
check "DATA without MAIL: 503" has '^503 5.5.1' "$R"
# a 10 MB command line: refused once, bounded memory, the session goes on
$PY -c 'import sys; sys.stdout.buffer.write(b"EHLO x\r\nNOOP " + b"z" * (10 << 20) + b"\r\nNOOP\r\nQUIT\r\n")' | probe --timeout 20 >"$T/longline.log"
check "a 10 MB line: 500 5.5.2 line too long" grep -q '^500 5.5.2' "$T/longline.log"
check "a 10 MB line: the next command is answered" test "$(grep -c '^250 2.0.0 Ok' "$T/longline.log")" = 1
rss=$(awk '/^VmHWM/ { print $2 }' /proc/"$DAEMON_SIG_PID"/status)
check "a 10 MB line: the daemon's peak RSS stays under 64 MB (${rss} kB)" test "${rss:-999999}" -lt 65536
# connections per client: the fourth from one address is refused (an
# address of its own, so no session of the probes above can count)
$PY - "$P" >"$T/perclient.log" 2>&1 <<'PYEOF'
import socket, sys, time
socks = []
for i in range(3):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5, source_address=("127.0.0.4", 0))
    s.recv(1000)
    socks.append(s)
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5, source_address=("127.0.0.4", 0))
print(s.recv(1000).decode())
t = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5, source_address=("127.0.0.5", 0))
print("other:", t.recv(1000).decode())
PYEOF
check "smtpd_max_per_client: the fourth connection gets 421" grep -q '^421 4.7.0' "$T/perclient.log"
check "smtpd_max_per_client: another address still gets 220" grep -q '^other: 220 ' "$T/perclient.log"

# --- a client that vanishes mid-message: nothing left, nothing queued
printf 'EHLO x\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<gone@example.com>\r\nDATA\r\nSubject: half\r\n\r\nhalf a message\r\n' |
	probe --close-after-send >/dev/null
sleep 0.5
check "vanished client: no Work file left" test "$(ls -A "$ROOT/Work" | wc -l)" = 0
check "vanished client: nothing delivered" test ! -e "$ROOT/Store/example.com/gone"
check "no temp file in Work after all this" test -z "$(ls -A "$ROOT/Work")"

stop_daemon
# --- what a crash leaves: a message still arriving is never delivered
q=0HOQZZZZZZZZ1234
printf 'IMC-SMTPD 1\nsender a@remote.test\nrcpt half@example.com - -\nclient [127.0.0.1]\nhelo x\ntls none\nauth =\nreceived Received:%%20x\nend\nSubject: half\r\n\r\nhalf\r\n' >"$ROOT/Work/.$q.smtp.tmp"
svc_own "$ROOT/Work/.$q.smtp.tmp"
run_once
check "crash mid-message: the temp file is removed at start" test ! -e "$ROOT/Work/.$q.smtp.tmp"
check "crash mid-message: nothing delivered" test ! -e "$ROOT/Store/example.com/half"
# a writer's Pickup file cannot pose as a listener's message
printf 'IMC-SMTPD 1\nsender a@remote.test\nrcpt posed@example.com - -\nclient [127.0.0.1]\nhelo x\ntls none\nauth =\nreceived Received:%%20forged\nend\nTo: real@example.com\r\nFrom: w@example.com\r\n\r\nx\r\n' >"$ROOT/Pickup/posing.eml"
chown imcwriter "$ROOT/Pickup/posing.eml" 2>/dev/null
run_once
check "a writer's file with the listener's first line: no listener envelope" test ! -e "$ROOT/Store/example.com/posed"
check "a writer's file with the listener's first line: no forged Received:" 	test -z "$(grep -rl 'Received: forged' "$ROOT/Store" 2>/dev/null)"
check "a writer's file with the listener's first line: read as a Pickup file (no header: archived)" grep -q "no header" "$ROOT"/Pickup/Archive/*.reason
# --- smtpd_max_connections: past it, a client waits in the kernel's
# queue and is greeted once a session ends
conf "smtpd_max_connections = 2"
start_daemon || abort_test "daemon restarts"
$PY - "$P" >"$T/maxconn.log" 2>&1 <<'PYEOF'
import socket, sys
port = int(sys.argv[1])
a = socket.create_connection(("127.0.0.1", port), 5); a.recv(1000)
b = socket.create_connection(("127.0.0.1", port), 5); b.recv(1000)
c = socket.create_connection(("127.0.0.1", port), 5)
c.settimeout(1.5)
try:
    print("third before:", c.recv(1000).decode().strip())
except socket.timeout:
    print("third before: nothing")
a.close()
c.settimeout(5)
print("third after:", c.recv(1000).decode().strip())
PYEOF
check "smtpd_max_connections: a third session is not greeted while two are open" grep -q '^third before: nothing' "$T/maxconn.log"
check "smtpd_max_connections: it is greeted once one ends" grep -q '^third after: 220 ' "$T/maxconn.log"
stop_daemon
# --- an early talker (the greeting waits 1 s): dropped with 554
conf "smtpd_greet_pause = 1s"
start_daemon || abort_test "daemon restarts"
R=$(printf 'EHLO early\r\n' | probe --early)
check "early talker: 554 5.5.0" has '^554 5.5.0' "$R"
check "early talker: never greeted" lacks '^220' "$R"
R=$(printf 'QUIT\r\n' | probe)
check "a patient client gets the greeting after the pause" has '^220 mx.test.example ESMTP' "$R"
stop_daemon
finish
