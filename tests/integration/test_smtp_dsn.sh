#!/usr/bin/env bash
# test_smtp_dsn.sh - DSN parameters (RFC 3461) given by the writer travel
# to a peer that offers DSN: from X-lines of a Pickup file and from
# imc-submit's sendmail options -N -R -V; a peer without DSN gets none;
# NOTIFY=NEVER means no failure notice from the connector either.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"

P=$(free_port)
start_peer dsn 127.0.0.2:$P --dsn || abort_test "DSN peer starts"
write_conf "smarthost = [127.0.0.2]:$P" "tls = none" "retry_schedule = 1h"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null

drop x1.eml 'X-Sender: <alice@example.com> RET=HDRS ENVID=job+2D42\r\nX-Receiver: <bob@remote.test> NOTIFY=success,failure ORCPT=rfc822;bob@remote.test\r\nX-Receiver: <carol@remote.test>\r\nX-Receiver: <dave@remote.test> NOTIFY=BAD ORCPT=no-type-given\r\nFrom: alice@example.com\r\nSubject: dsn\r\n\r\nx\r\n'
run_once
m=$(peer_all dsn)
check "delivered" peer_has dsn 1
check "MAIL carries RET and ENVID as given" has 'X-Peer-Mail-Options: .*RET=HDRS ENVID=job+2D42' "$m"
check "RCPT carries NOTIFY (upper case) and ORCPT as given" has 'X-Peer-Rcpt-To: <bob@remote.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@remote.test' "$m"
check "a recipient without parameters gets none" has 'X-Peer-Rcpt-To: <carol@remote.test>.$' "$m"
check "invalid parameters are left out" has 'X-Peer-Rcpt-To: <dave@remote.test>.$' "$m"

# imc-submit's sendmail options
printf 'Subject: submitted\n\nhello\n' | "$IMC_BIN/imc-submit" -c "$CONF" -f alice@example.com -N failure,delay -R full -V 'id 7' erin@remote.test
check "imc-submit -N -R -V accepted" test $? = 0
run_once
m=$(peer_all dsn)
check "imc-submit: RET=FULL and the ENVID in xtext" has 'X-Peer-Mail-Options: .*RET=FULL ENVID=id+207' "$m"
check "imc-submit: NOTIFY and an ORCPT per recipient" has 'X-Peer-Rcpt-To: <erin@remote.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;erin@remote.test' "$m"
"$IMC_BIN/imc-submit" -c "$CONF" -N sometimes erin@remote.test </dev/null 2>"$T/submit.err"
check "imc-submit -N with a bad value: exit 64" test $? = 64

# a peer without DSN: the parameters are not sent
stop_peer dsn
P2=$(free_port)
start_peer plain 127.0.0.3:$P2 || abort_test "plain peer starts"
write_conf "smarthost = [127.0.0.3]:$P2" "tls = none" "retry_schedule = 1h"
drop x2.eml 'X-Sender: <alice@example.com> RET=HDRS\r\nX-Receiver: <frank@remote.test> NOTIFY=FAILURE\r\nFrom: alice@example.com\r\nSubject: no dsn\r\n\r\nx\r\n'
run_once
check "delivered to the peer without DSN" peer_has plain 1
check "no DSN parameter sent to it" lacks 'NOTIFY\|RET=' "$(cat "$T/peer-plain.log")"

# NOTIFY=NEVER: a refused recipient gets no notice from the connector
stop_peer plain
P3=$(free_port)
start_peer refuse 127.0.0.4:$P3 --rcpt-reply '*=550 5.1.1 no such user' ||
	abort_test "refusing peer starts"
write_conf "smarthost = [127.0.0.4]:$P3" "tls = none" "retry_schedule = 1h"
before=$(mailbox_count example.com alice)
drop x3.eml 'X-Sender: <alice@example.com>\r\nX-Receiver: <gina@remote.test> NOTIFY=NEVER\r\nX-Receiver: <hank@remote.test>\r\nFrom: alice@example.com\r\nSubject: never\r\n\r\nx\r\n'
run_once
log=$(tracklog)
check "NOTIFY=NEVER: failed, logged as not notified" has 'event=not-notified .*to=<gina@remote.test> .*dsn=5.1.1' "$log"
check "the other recipient is bounced as usual" has 'event=bounced .*to=<hank@remote.test>' "$log"
after=$(mailbox_count example.com alice)
check "exactly one notice reached the sender" test "$after" = $((before + 1))
nd=$(cat "$ROOT"/Store/example.com/alice/new/*)
check "the notice names hank" has "'hank@remote.test'" "$nd"
check "the notice does not name gina" lacks "'gina@remote.test'" "$nd"
check "nothing in Badmail" test "$(ls "$ROOT/Badmail" | wc -l)" = 0
finish
