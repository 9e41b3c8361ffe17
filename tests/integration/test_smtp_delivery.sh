#!/usr/bin/env bash
# test_smtp_delivery.sh - Out/ to a real SMTP peer (python3-aiosmtpd) through
# a smarthost: success, one transaction for several recipients, partial
# RCPT failure (bounce to a local sender), connection reuse, the tracking
# log's relay field, the protocol log, imc-queue flush with the daemon.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"

PORT=$(free_port)
start_peer p1 127.0.0.2:$PORT --rcpt-reply 'nobody@remote.test=550 5.1.1 no such user here' ||
	abort_test "peer starts"
write_conf "smarthost = [127.0.0.2]:$PORT" "tls = none" "protocol_log = maximum" "max_per_destination = 1" \
	"retry_schedule = 1s"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null

drop m1.eml 'From: alice@example.com\r\nTo: bob@remote.test, carol@remote.test\r\nSubject: one\r\n\r\nfirst\r\n'
drop m2.eml 'From: alice@example.com\r\nTo: dave@other.test, nobody@remote.test\r\nSubject: two\r\n\r\nsecond\r\n'
drop m3.eml 'From: alice@example.com\r\nTo: erin@remote.test\r\nSubject: three\r\n\r\n..leading dot\r\nthird\r\n'
check "--once returns" run_once

check "peer got 3 messages" peer_has p1 3
all=$(peer_all p1)
check "two recipients shared one transaction" grep -q -Pzo 'X-Peer-Rcpt-To: <bob@remote.test>\r\nX-Peer-Rcpt-To: <carol@remote.test>' <<<"$all"
check "refused recipient not delivered" lacks 'X-Peer-Rcpt-To: <nobody@remote.test>' "$all"
check "dave delivered" grep -q 'X-Peer-Rcpt-To: <dave@other.test>' <<<"$all"
check "leading dot arrives once (dot-stuffed on the wire)" grep -q -P '^\.leading dot\r$' <<<"$all"
check "MAIL carries SIZE" grep -q 'X-Peer-Mail-Options: SIZE=' <<<"$all"
check "one connection for all three (reuse)" test "$(grep -c '^< 220 ' "$T/peer-p1.log")" = 1
check "RSET between transactions" grep -q ' > RSET' "$ROOT"/Log/smtp-*.log
log=$(tracklog)
check "delivered lines with relay" test "$(grep -c "event=delivered .*relay=127.0.0.2\[127.0.0.2\]:$PORT" <<<"$log")" = 4
check "failed line with 5.1.1 and the peer's words" grep -q 'event=failed .*to=<nobody@remote.test> .*dsn=5.1.1 .*no such user here' <<<"$log"
check "bounce for the failed recipient" grep -q 'event=bounced .*to=<nobody@remote.test>' <<<"$log"
check "bounce delivered to the local sender" mailbox_has example.com alice 1
nd=$(cat "$(find "$ROOT/Store/example.com/alice/new" -type f | head -1)")
check "bounce subject Undeliverable:" grep -q '^Subject: Undeliverable: two' <<<"$nd"
check "bounce opens like Exchange" grep -q 'Your message did not reach some or all of the intended recipients.' <<<"$nd"
check "bounce names the recipient and reason" grep -q "'nobody@remote.test'" <<<"$nd"
check "bounce is multipart/report" grep -q 'report-type=delivery-status' <<<"$nd"
check "bounce has Status 5.1.1" grep -q '^Status: 5.1.1' <<<"$nd"
check "bounce Diagnostic-Code is the SMTP reply (RFC 3464)" grep -q '^Diagnostic-Code: smtp; 550 5.1.1 no such user here$' <<<"$nd"
check "Out is empty" test "$(count_files "$ROOT/Out")" = 0
plog=$(cat "$ROOT"/Log/smtp-*.log 2>/dev/null)
check "protocol log has EHLO" grep -q ' > EHLO mx.test.example' <<<"$plog"
check "protocol log has the multi-line EHLO reply (maximum)" grep -q ' < 250-PIPELINING' <<<"$plog"
check "protocol log has the refused RCPT" grep -q ' < 550 5.1.1 no such user here' <<<"$plog"
check "protocol log has no body" lacks 'leading dot' "$plog"

# a remote sender's failed recipient: the bounce is queued in Out/ and sent
# over SMTP from the null sender; a null sender's failure goes to Badmail
drop m5.eml 'From: zoe@partner.test\r\nTo: nobody@remote.test\r\nSubject: five\r\n\r\nfifth\r\n'
drop m6.eml 'X-Sender: <>\r\nX-Receiver: <nobody@remote.test>\r\nFrom: MAILER-DAEMON@example.com\r\nSubject: six\r\n\r\nsixth\r\n'
run_once
log=$(tracklog)
check "remote sender: bounce queued for Out" has 'event=queued .*from=<> to=<zoe@partner.test>' "$log"
check "remote sender: the bounce was delivered over SMTP" has 'event=delivered .*from=<> to=<zoe@partner.test> .*relay=127.0.0.2' "$log"
bmsg=$(grep -l 'X-Peer-Rcpt-To: <zoe@partner.test>' "$T"/peer-p1/*.msg | head -1)
check "the bounce went out from the null sender (MAIL FROM:<>)" grep -q '^X-Peer-Mail-From: <>' "$bmsg"
check "the bounce names the refused recipient" grep -q "'nobody@remote.test'" "$bmsg"
check "null sender: the failure is in Badmail" test "$(ls "$ROOT/Badmail" | grep -c '\.bad$')" = 1
check "Badmail reason names the recipient and the peer's words" grep -q 'nobody@remote.test.*no such user here' "$ROOT"/Badmail/*.bdr
check "badmail tracking line" has 'event=badmail .*to=<nobody@remote.test>' "$log"
check "Out is empty again" test "$(count_files "$ROOT/Out")" = 0

# a peer that is down: deferred; brought up, imc-queue flush delivers
stop_peer p1
drop m4.eml 'From: alice@example.com\r\nTo: frank@remote.test\r\nSubject: four\r\n\r\nfourth\r\n'
write_conf "smarthost = [127.0.0.2]:$PORT" "tls = none" "retry_schedule = 1h"
start_daemon
wait_for 10 grep -q 'event=deferred .*frank@remote.test' "$ROOT"/Log/[0-9]*.log
check "deferred while the peer is down" grep -q 'event=deferred .*frank@remote.test' "$ROOT"/Log/[0-9]*.log
check "pid file written" test -s "$ROOT/Log/imc-connector.pid"
start_peer p1 127.0.0.2:$PORT || not_ok "peer restarts"
out=$("$IMC_BIN/imc-queue" -c "$CONF" flush 2>&1)
check "imc-queue flush made it due and told the daemon" grep -q 'told the connector' <<<"$out"
wait_for 10 peer_has p1 5
check "delivered after flush" peer_has p1 5
stop_daemon
check "pid file removed at stop" test ! -e "$ROOT/Log/imc-connector.pid"
check "no errors from the connector" bash -c "! grep -q 'imc-connector\[error\]' $T/once.log $T/daemon.log"
finish
