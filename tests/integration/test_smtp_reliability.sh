#!/usr/bin/env bash
# test_smtp_reliability.sh - nothing counts as delivered without the peer's
# replies (issue 13 items 1 and 2):
# - a reused connection to a peer without PIPELINING sends RCPT TO in every
#   transaction, and a message whose recipients exceed
#   max_rcpts_per_transaction gets every recipient sent;
# - a reply of the wrong class (354 to MAIL, 250 to DATA, 354 after the
#   final dot) is a protocol error: deferred, logged with the peer's words.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"

# peer_rcpts NAME - the RCPT TO commands the peer saw, one address a line
peer_rcpts() {
	sed -n 's/^> RCPT TO:<\([^>]*\)>.*/\1/p' "$T/peer-$1.log" | sort
}

# --- 1. no PIPELINING, one connection, several transactions ---------------
PORT=$(free_port)
start_peer np 127.0.0.2:$PORT --no-pipelining || abort_test "peer starts"
write_conf "smarthost = [127.0.0.2]:$PORT" "tls = none" "max_per_destination = 1" \
	"max_rcpts_per_transaction = 2" "retry_schedule = 1h"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null
drop a.eml 'From: alice@example.com\r\nTo: r1@remote.test\r\nSubject: a\r\n\r\na\r\n'
drop b.eml 'From: alice@example.com\r\nTo: r2@remote.test\r\nSubject: b\r\n\r\nb\r\n'
drop c.eml 'From: alice@example.com\r\nTo: r3@remote.test, r4@remote.test, r5@remote.test, r6@remote.test, r7@remote.test\r\nSubject: c\r\n\r\nc\r\n'
check "--once returns 0" run_once
check "one connection carried every transaction" test "$(grep -c '^< 220 ' "$T/peer-np.log")" = 1
check "peer saw RCPT TO for all 7 recipients" test "$(peer_rcpts np | wc -l)" = 7
log=$(tracklog)
delivered=$(grep 'event=delivered' <<<"$log" | sed -n 's/.* to=<\([^>]*\)>.*/\1/p' | sort)
check "7 recipients logged delivered" test "$(grep -c . <<<"$delivered")" = 7
check "every recipient logged delivered got a RCPT TO at the peer" \
	test -z "$(comm -23 <(echo "$delivered") <(peer_rcpts np))"
check "every recipient is in a message the peer accepted" \
	test "$(peer_all np | grep -c '^X-Peer-Rcpt-To:')" = 7
check "Out is empty" test "$(count_files "$ROOT/Out")" = 0
stop_peer np

# --- 2. replies of the wrong class ------------------------------------------
# wrong_class NAME WORDS PEER-ARGS... - one message to that peer: nothing
# delivered, the recipient deferred with a protocol error that quotes the
# peer's WORDS, the entry still in Out/
wrong_class() {
	local name=$1 words=$2; shift 2
	local port
	port=$(free_port)
	rm -rf "$ROOT"
	start_peer "$name" 127.0.0.3:$port "$@" || { not_ok "$name: peer starts"; return; }
	write_conf "smarthost = [127.0.0.3]:$port" "tls = none" "retry_schedule = 1h"
	"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null
	drop w.eml "From: alice@example.com\r\nTo: w@remote.test\r\nSubject: $name\r\n\r\nbody line $name\r\n"
	check "$name: --once returns 0" run_once
	local log
	log=$(tracklog)
	check "$name: not logged delivered" lacks 'event=delivered' "$log"
	check "$name: deferred as a protocol error with the peer's words" \
		has "event=deferred .*to=<w@remote.test> .*dsn=4.5.0 .*protocol error.*$words" "$log"
	check "$name: the entry stays in Out" test "$(out_count)" = 1
	stop_peer "$name"
}
wrong_class mail354 '354 go on then (in reply to MAIL FROM)' --mail-reply '354 go on then'
wrong_class data250 '250 2.0.0 fine (in reply to DATA)' --raw-reply 'DATA=250 2.0.0 fine'
check "data250: the body was never sent" bash -c "! grep -q 'body line data250' '$T/peer-data250.log' '$T'/peer-data250/*.msg 2>/dev/null"
wrong_class dot354 '354 more please (in reply to end of data)' --data-reply '354 more please'
wrong_class rcpt354 '354 what (in reply to RCPT TO)' --raw-reply 'RCPT=354 what'

finish
