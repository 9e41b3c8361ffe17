#!/usr/bin/env bash
# test_daemon_stop.sh - SIGTERM while SMTP work is in hand (issue 8 item 2):
# the first SIGTERM lets the transaction in hand finish (grace period) and
# gives jobs not begun back unstarted (no attempt recorded); a second
# SIGTERM stops within a second, the queue consistent; the entry is
# delivered at the next start.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"

PORT=$(free_port)
start_peer stall 127.0.0.4:$PORT --stall-after-dot || abort_test "stalling peer starts"
write_conf "smarthost = [127.0.0.4]:$PORT" "tls = none" "max_connections = 1" \
	"retry_schedule = 1h"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null
start_daemon || abort_test "daemon starts"
drop a.eml 'From: alice@example.com\r\nTo: first@remote.test\r\nSubject: a\r\n\r\na\r\n'
wait_for 10 grep -q 'stalling after the dot' "$T/peer-stall.log"
check "the peer got the body and stalls" grep -q 'stalling after the dot' "$T/peer-stall.log"
drop b.eml 'From: alice@example.com\r\nTo: second@remote.test\r\nSubject: b\r\n\r\nb\r\n'
queued_b() { [ "$(out_count)" = 2 ]; }
wait_for 10 queued_b
check "the second message waits for the one connection" queued_b
sleep 0.3

pid=$DAEMON_PID
kill -TERM "$DAEMON_SIG_PID"
sleep 1
check "after one SIGTERM the transaction in hand still has time" kill -0 "$pid"
t0=$(date +%s%N)
kill -TERM "$DAEMON_SIG_PID"
for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
check "a second SIGTERM stops it within 2 s (took ${ms} ms)" test "$ms" -lt 2000
stop_daemon "the daemon exits 0 after two SIGTERMs"

check "both entries still in Out" test "$(ls "$ROOT/Out" | grep -c '\.eml$')" = 2
log=$(tracklog)
check "the stalled transaction is logged deferred" has 'event=deferred .*to=<first@remote.test>' "$log"
check "the message never begun is not logged as an attempt" lacks 'to=<second@remote.test> .*event=deferred\|event=deferred .*to=<second@remote.test>' "$log"
benv=$(for q in $(entry_qids "$ROOT/Out"); do entry_env "$ROOT/Out" "$q" | grep -q 'second@remote.test' && entry_env "$ROOT/Out" "$q"; done)
check "... and its envelope shows no attempt" has '^attempts 0$' "$benv"
check "nothing in Badmail" test "$(count_files "$ROOT/Badmail")" = 0

# a working peer on the same address: the next start delivers both
stop_peer stall
start_peer ok 127.0.0.4:$PORT || abort_test "second peer starts"
# the stalled one was deferred for an hour: flush it, then run once
"$IMC_BIN/imc-queue" -c "$CONF" flush >/dev/null
run_once
check "both delivered at the next start" peer_has ok 2
check "Out is empty" test "$(count_files "$ROOT/Out")" = 0

finish
