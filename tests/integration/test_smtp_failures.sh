#!/usr/bin/env bash
# test_smtp_failures.sh - misbehaving and limited peers: a temporary
# failure then success on retry, lifetime expiry with a bounce and one
# delay notice, SIZE refusal before DATA, a peer without 8BITMIME (7-bit
# downgrade), SMTPUTF8 not offered (5.6.7), a connection dropped after the
# final dot (deferred, marked as a possible duplicate), garbage replies, a
# refused greeting on the first smarthost (the next one takes it).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"

BASE="tls = none|timeout_greeting = 10s|timeout_command = 10s"
conf() {	# conf EXTRA... - write_conf with the common lines
	local IFS='|'
	# shellcheck disable=SC2086
	write_conf $BASE "$@"
}

# 1. 451 to every RCPT on the first connection, then accepted on retry
P=$(free_port)
start_peer retry 127.0.0.2:$P --fail-first 1 || abort_test "retry peer starts"
conf "smarthost = [127.0.0.2]:$P" "retry_schedule = 1s"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null
start_daemon || abort_test "the daemon is needed for the rest"
drop r1.eml 'From: alice@example.com\r\nTo: bob@remote.test\r\nSubject: retry\r\n\r\nx\r\n'
wait_for 20 peer_has retry 1
check "temporary failure, then delivered on retry" peer_has retry 1
log=$(tracklog)
check "the first attempt was a deferral 4.3.0" grep -q 'event=deferred .*to=<bob@remote.test> .*dsn=4.3.0' <<<"$log"
check "then delivered" grep -q 'event=delivered .*to=<bob@remote.test>' <<<"$log"
stop_daemon

# 2. always 451: the lifetime ends, the sender gets one delay notice and
#    then the bounce; both from the null sender
P2=$(free_port)
start_peer never 127.0.0.3:$P2 --rcpt-reply '*=451 4.2.2 mailbox busy' ||
	abort_test "busy peer starts"
conf "smarthost = [127.0.0.3]:$P2" "retry_schedule = 1s" "max_lifetime = 4s" \
	"delay_warning = 1s"
start_daemon || abort_test "the daemon is needed for the rest"
drop e1.eml 'From: alice@example.com\r\nTo: carol@remote.test\r\nSubject: expiring\r\n\r\nx\r\n'
wait_for 25 grep -q 'event=bounced .*to=<carol@remote.test>' "$ROOT"/Log/[0-9]*.log
stop_daemon
log=$(tracklog)
check "expired: bounced with 4.4.7 after its lifetime" grep -q 'event=bounced .*to=<carol@remote.test> .*dsn=4.4.7 .*expired.*mailbox busy' <<<"$log"
check "one delay notice before" test "$(grep -c 'event=delay-notice .*to=<carol@remote.test>' <<<"$log")" = 1
check "several attempts" test "$(grep -c 'event=deferred .*to=<carol@remote.test>' <<<"$log")" -ge 2
notices=$(cat "$ROOT"/Store/example.com/alice/new/* 2>/dev/null)
check "the delay notice says Delayed:" has '^Subject: Delayed: expiring' "$notices"
check "the delay notice says Action: delayed" has '^Action: delayed' "$notices"
check "the delay notice has Will-Retry-Until" has '^Will-Retry-Until: ' "$notices"
check "the bounce says Undeliverable:" has '^Subject: Undeliverable: expiring' "$notices"
check "the bounce says Action: failed" has '^Action: failed' "$notices"
check "notices come from the null sender" has '^Return-Path: <>' "$notices"
check "Out is empty" test "$(count_files "$ROOT/Out")" = 0

# 3. SIZE: the peer takes 300 bytes; a bigger message bounces before MAIL
P3=$(free_port)
start_peer small 127.0.0.4:$P3 --size 300 || abort_test "small peer starts"
conf "smarthost = [127.0.0.4]:$P3"
body=$(printf 'line %03d of a message that is too big for the peer\\r\\n' $(seq 1 20))
drop s1.eml "From: alice@example.com\r\nTo: dave@remote.test\r\nSubject: big\r\n\r\n$body"
run_once
log=$(tracklog)
check "too big for the peer: bounced 5.3.4" grep -q 'event=bounced .*to=<dave@remote.test> .*dsn=5.3.4 .*too big' <<<"$log"
check "no MAIL was sent for it" bash -c "! grep -q 'dave@remote.test' $T/peer-small.log"

# 4. no 8BITMIME: an 8-bit message goes out as 7 bit, content the same
P4=$(free_port)
start_peer old 127.0.0.5:$P4 --no-8bitmime || abort_test "7-bit peer starts"
conf "smarthost = [127.0.0.5]:$P4"
drop b1.eml 'From: alice@example.com\r\nTo: erin@remote.test\r\nSubject: 8bit\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln\r\n'
run_once
check "delivered to the 7-bit peer" peer_has old 1
m=$(peer_all old)
check "no 8-bit byte on the wire" bash -c "! LC_ALL=C grep -q -P '[\x80-\xff]' $T/peer-old/*.msg"
check "no BODY=8BITMIME sent" lacks 'BODY=8BITMIME' "$m"
check "re-encoded as quoted-printable or base64" grep -q -i 'Content-Transfer-Encoding: \(quoted-printable\|base64\)' <<<"$m"
decoded=$(/usr/bin/python3 -c 'import sys,email; m=email.message_from_bytes(open(sys.argv[1],"rb").read()); print(m.get_payload(decode=True).decode("utf-8"))' "$(ls "$T"/peer-old/*.msg)")
check "the text decodes to the same words" grep -q 'Grüße aus Köln' <<<"$decoded"

# 5. SMTPUTF8 needed, not offered: bounced 5.6.7
P5=$(free_port)
start_peer ascii 127.0.0.6:$P5 --no-smtputf8 || abort_test "ASCII peer starts"
conf "smarthost = [127.0.0.6]:$P5"
drop u1.eml 'X-Sender: alice@example.com\r\nX-Receiver: j\xc3\xbcrgen@remote.test\r\nFrom: alice@example.com\r\nSubject: utf8 address\r\n\r\nx\r\n'
run_once
log=$(tracklog)
check "UTF-8 address without SMTPUTF8: bounced 5.6.7" grep -q 'event=bounced .*dsn=5.6.7 .*SMTPUTF8' <<<"$log"
check "nothing sent to the ASCII peer" peer_has ascii 0

# 6. the connection drops after the final dot: deferred, possible duplicate
P6=$(free_port)
start_peer drop 127.0.0.7:$P6 --disconnect-after-dot || abort_test "dropping peer starts"
conf "smarthost = [127.0.0.7]:$P6"
drop d1.eml 'From: alice@example.com\r\nTo: frank@remote.test\r\nSubject: dropped\r\n\r\nx\r\n'
run_once
log=$(tracklog)
check "lost after the dot: deferred 4.4.2, possible duplicate" grep -q 'event=deferred .*to=<frank@remote.test> .*dsn=4.4.2 .*possible duplicate' <<<"$log"
check "the entry stays in Out" grep -q 'frank@remote.test' <<<"$("$IMC_BIN/imc-queue" -c "$CONF" list)"

# 6b. the connection drops in the middle of DATA (a 4 MB body: more than
#     the socket buffers hold, so the client is still writing): deferred,
#     and not marked as a possible duplicate since the dot never went
P10=$(free_port)
start_peer middrop 127.0.0.11:$P10 --disconnect-in-data || abort_test "mid-DATA peer starts"
conf "smarthost = [127.0.0.11]:$P10"
/usr/bin/python3 -c 'import sys; sys.stdout.buffer.write(b"From: alice@example.com\r\nTo: ivan@remote.test\r\nSubject: mid data\r\n\r\n" + b"0123456789" * 6 + b"\r\n" * 1 + (b"x" * 78 + b"\r\n") * 52000)' > "$ROOT/Pickup/.d2.tmp"
mv "$ROOT/Pickup/.d2.tmp" "$ROOT/Pickup/d2.eml"
run_once
log=$(tracklog)
check "lost during DATA: deferred 4.4.2" has 'event=deferred .*to=<ivan@remote.test> .*dsn=4.4.2' "$log"
check "lost during DATA: not marked as a possible duplicate" lacks 'to=<ivan@remote.test> .*possible duplicate' "$log"

# 7. garbage replies: deferred as a protocol error
P7=$(free_port)
start_peer junk 127.0.0.8:$P7 --garbage || abort_test "garbage peer starts"
conf "smarthost = [127.0.0.8]:$P7"
drop g1.eml 'From: alice@example.com\r\nTo: gina@remote.test\r\nSubject: garbage\r\n\r\nx\r\n'
run_once
log=$(tracklog)
check "garbage reply: deferred 4.5.0 protocol error" grep -q 'event=deferred .*to=<gina@remote.test> .*dsn=4.5.0 .*protocol error' <<<"$log"

# 8. two smarthosts; the first refuses its greeting (421): the second
#    takes the message
P8=$(free_port); P9=$(free_port)
start_peer busy 127.0.0.9:$P8 --greeting '421 4.3.2 too busy' || abort_test "421 peer starts"
start_peer spare 127.0.0.10:$P9 || abort_test "spare peer starts"
conf "smarthost = [127.0.0.9]:$P8, [127.0.0.10]:$P9"
drop h1.eml 'From: alice@example.com\r\nTo: hank@remote.test\r\nSubject: next host\r\n\r\nx\r\n'
run_once
check "refused greeting: the next smarthost got it" peer_has spare 1
check "the busy one was asked first or skipped, not given the message" peer_has busy 0
check "no error in the connector's output" bash -c "! grep -q -i 'error\]\|segmentation' $T/once.log $T/daemon.log 2>/dev/null"
finish
