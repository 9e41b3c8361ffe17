#!/usr/bin/env bash
# test_possible_duplicate.sh - a crash between a peer taking the message and
# the queue update (issue 9: "logged as a possible duplicate, as for SMTP").
# The daemon is killed (SIGKILL) while an SMTP peer, then an LMTP store,
# holds the whole message and has not answered; at the next start the
# recipients are delivered (once, to the peer that answers) and the
# tracking log names them as possible duplicates. An attempt that ended
# normally (a deferral) leaves no such line at its retry, nor does a job
# given back unstarted at a SIGTERM.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"

attr() {	# attr FILE - the attempt mark of an Out/ entry, or nothing
	/usr/bin/python3 -c 'import os,sys
try:
    sys.stdout.write(os.getxattr(sys.argv[1], "user.imc.try").decode())
except OSError:
    pass' "$1"
}
kill_daemon() {
	kill -KILL "$DAEMON_SIG_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID= DAEMON_SIG_PID=
}
stalled() { grep -q 'stalling after the dot' "$T/peer-$1.log" 2>/dev/null; }

SMTP_PORT=$(free_port)
LMTP_PORT=$(free_port)
write_conf "local_domains = example.com, lmtp.test" "smarthost = [127.0.0.4]:$SMTP_PORT" \
	"tls = none" "retry_schedule = 1h" "local_retry = 3600" \
	"[domain lmtp.test]" "store = lmtp:[127.0.0.5]:$LMTP_PORT"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null

# --- SMTP: killed while the peer holds the message after the dot
start_peer stall 127.0.0.4:$SMTP_PORT --stall-after-dot || abort_test "stalling SMTP peer starts"
start_daemon || abort_test "daemon starts"
drop a.eml 'From: alice@example.com\r\nTo: far@remote.test\r\nSubject: a\r\n\r\nbody a\r\n'
wait_for 10 stalled stall
check "the SMTP peer has the body and stalls" stalled stall
qa=$(entry_qids "$ROOT/Out")
check "the Out entry carries the attempt mark while the attempt runs" \
	test -n "$(attr "$ROOT/Out/$qa.eml")"
kill_daemon
stop_peer stall
start_peer ok 127.0.0.4:$SMTP_PORT || abort_test "answering SMTP peer starts"
"$IMC_BIN/imc-queue" -c "$CONF" flush >/dev/null
run_once
log=$(tracklog)
check "the recipient is logged as a possible duplicate" \
	has "event=interrupted qid=$qa .*to=<far@remote.test> .*possible duplicate" "$log"
check "... and delivered once at the next start" peer_has ok 1
check "... then the entry is gone" test "$(out_count)" = 0

# --- LMTP store: the same cut between the dot and the store's replies
start_peer lstall 127.0.0.5:$LMTP_PORT --lmtp --stall-after-dot || abort_test "stalling LMTP store starts"
start_daemon || abort_test "daemon starts again"
drop b.eml 'From: alice@example.com\r\nTo: lee@lmtp.test, liz@lmtp.test\r\nSubject: b\r\n\r\nbody b\r\n'
wait_for 10 stalled lstall
check "the LMTP store has the body and stalls" stalled lstall
qb=$(entry_qids "$ROOT/Out")
kill_daemon
stop_peer lstall
start_peer lok 127.0.0.5:$LMTP_PORT --lmtp || abort_test "answering LMTP store starts"
"$IMC_BIN/imc-queue" -c "$CONF" flush >/dev/null
run_once
log=$(tracklog)
for r in lee liz; do
	check "$r@lmtp.test logged as a possible duplicate" \
		has "event=interrupted qid=$qb .*to=<$r@lmtp.test> .*possible duplicate" "$log"
	check "$r@lmtp.test delivered after it" \
		has "event=delivered qid=$qb .*to=<$r@lmtp.test> .*relay=lmtp:" "$log"
done
check "the store got the message once (both recipients in one transaction)" peer_has lok 1
check "no Out entry left" test "$(out_count)" = 0

# --- an attempt that ended (a deferral) leaves no mark: no line at the retry
stop_peer ok
start_peer defer 127.0.0.4:$SMTP_PORT --raw-reply 'MAIL=451 4.3.0 try later' || abort_test "deferring peer starts"
drop c.eml 'From: alice@example.com\r\nTo: next@remote.test\r\nSubject: c\r\n\r\nbody c\r\n'
run_once
qc=$(entry_qids "$ROOT/Out")
check "deferred: the entry waits" test -n "$qc"
check "... without an attempt mark" test -z "$(attr "$ROOT/Out/$qc.eml")"
stop_peer defer
start_peer ok2 127.0.0.4:$SMTP_PORT || abort_test "answering peer starts again"
"$IMC_BIN/imc-queue" -c "$CONF" flush >/dev/null
run_once
log=$(tracklog)
check "the retry is delivered" peer_has ok2 1
check "... and not logged as a possible duplicate" lacks "event=interrupted qid=$qc" "$log"

# --- a job given back unstarted at SIGTERM: no mark, no line
stop_peer ok2
start_peer stall2 127.0.0.4:$SMTP_PORT --stall-after-dot || abort_test "stalling peer starts again"
write_conf "local_domains = example.com" "smarthost = [127.0.0.4]:$SMTP_PORT" \
	"tls = none" "retry_schedule = 1h" "max_connections = 1"
start_daemon || abort_test "daemon starts a third time"
drop d.eml 'From: alice@example.com\r\nTo: one@remote.test\r\nSubject: d\r\n\r\nd\r\n'
wait_for 10 stalled stall2
drop e.eml 'From: alice@example.com\r\nTo: two@remote.test\r\nSubject: e\r\n\r\ne\r\n'
two_waiting() { [ "$(out_count)" = 2 ]; }
wait_for 10 two_waiting
sleep 0.3
stop_daemon "SIGTERM stops the daemon"
qe=$(for q in $(entry_qids "$ROOT/Out"); do entry_env "$ROOT/Out" "$q" | grep -q two@remote.test && echo "$q"; done)
check "the job given back unstarted has no attempt mark" test -n "$qe" -a -z "$(attr "$ROOT/Out/$qe.eml")"
stop_peer stall2
start_peer ok3 127.0.0.4:$SMTP_PORT || abort_test "answering peer starts a third time"
"$IMC_BIN/imc-queue" -c "$CONF" flush >/dev/null
run_once
log=$(tracklog)
check "both delivered at the next start" peer_has ok3 2
check "the unstarted one is not a possible duplicate" lacks "event=interrupted qid=$qe" "$log"
check "nothing in Badmail" test "$(count_files "$ROOT/Badmail")" = 0

finish
