#!/usr/bin/env bash
# test_durability_order.sh - the durability barriers stand where
# batch_commit (connector/queue/batch.c) puts them, read from an strace of the
# connector: a Work file goes only after a syncfs that follows its In/,
# Out/ and store files; a store link of an In/ copy only after a syncfs
# that follows the copy; an In/ entry delivered to the store is removed
# only after a syncfs that follows the link (check_durability_trace.py).
# The running daemon folds a batch's second barrier into the next batch's
# first (batch.h): the same rules hold whichever barrier comes, and with
# the listener busy the next batch's barrier does cover a tail.
# The crash test cannot see a missing barrier (SIGKILL leaves the page
# cache to finish the writes); the order of the calls shows it.
#
# Traced: a --once run over several Pickup files (local, remote, mixed,
# a repaired copy, a bounce), then a daemon taking files as they come and
# retrying a local delivery that was deferred, then the daemon's listener
# with sessions finishing together.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"

need strace /usr/bin/python3
PY=/usr/bin/python3
CHECKER=$(cd "$(dirname "$0")" && pwd)/check_durability_trace.py
STRACE=(strace -f -y -qq -s 4096
	-e 'trace=syncfs,fsync,fdatasync,openat,/^(unlink|rename|link)(at|at2)?$')
# LeakSanitizer cannot work under ptrace; leaks are for the other tests
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0

# trace_checks NAME TRACE [fold] - the order rules on one trace, one
# check each (fold: a tail covered by the next batch's barrier is seen)
trace_checks() {
	local line out rc
	if [ ! -s "$2" ]; then
		not_ok "$1: no trace written ($2)"
		return
	fi
	out=$(timeout 120 "$PY" "$CHECKER" "$ROOT" "$2" ${3:+"$3"})
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok "$1: ${line#ok - }" ;;
		"not ok - "*) not_ok "$1: ${line#not ok - }" ;;
		?*) echo "$line" ;;
		esac
	done <<<"$out"
	[ "$rc" -le 1 ] || not_ok "$1: the trace checker failed (exit $rc)"
}

write_conf "retry_schedule = 1h"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null || abort_test "imc-layout create"

# 1. One --once pass over a mix of files.
drop l1.eml 'From: alice@example.com\r\nTo: bob@example.com\r\nSubject: local\r\n\r\none\r\n'
drop l2.eml 'From: alice@example.com\r\nTo: carol@example.com, dave@example.org\r\nSubject: two local\r\n\r\ntwo\r\n'
drop r1.eml 'From: alice@example.com\r\nTo: zed@remote.test\r\nSubject: remote\r\n\r\nthree\r\n'
drop m1.eml 'From: alice@example.com\r\nTo: erin@example.com, yan@remote.test\r\nSubject: mixed\r\n\r\nfour\r\n'
drop latin.eml 'From: alice@example.com\r\nTo: frank@example.com\r\nSubject: latin-1\r\n\r\nGr\xfc\xdfe aus K\xf6ln\r\n'
drop bad.eml 'X-Sender: alice@example.com\r\nX-Receiver: "..evil"@example.com\r\nX-Receiver: gina@example.com\r\nSubject: bounce me\r\n\r\nfive\r\n'
WRAP=("${STRACE[@]}" -o "$T/once.trace")
run_once
WRAP=()
check "--once: local recipients delivered" test \
	"$(mailbox_count example.com bob)$(mailbox_count example.com carol)$(mailbox_count example.org dave)$(mailbox_count example.com erin)$(mailbox_count example.com frank)$(mailbox_count example.com gina)" = 111111
check "--once: the bounce reached the sender" mailbox_has example.com alice 1
check "--once: the latin-1 copy was repaired" grep -q 'event=repaired' "$ROOT"/Log/[0-9]*.log
check "--once: remote recipients wait in Out" test "$(out_count)" = 2
check "--once: Work and In empty" test "$(count_files "$ROOT/Work")$(count_files "$ROOT/In")" = 00
trace_checks "--once" "$T/once.trace"

# 2. The daemon: files taken as they come, and a local delivery deferred
# (its mailbox folder is a symbolic link, which the store refuses) then
# retried by imc-queue flush once the link is gone.
mkdir -p "$ROOT/Store/example.com/stuck" && svc_own "$ROOT/Store/example.com"
ln -s /tmp "$ROOT/Store/example.com/stuck/new"
WRAP=("${STRACE[@]}" -o "$T/daemon.trace")
start_daemon || abort_test "the rest needs the daemon"
WRAP=()
drop stuck.eml 'From: alice@example.com\r\nTo: stuck@example.com\r\nSubject: stuck\r\n\r\nsix\r\n'
for i in 1 2 3 4 5 6; do
	case $i in
	1|4) to='hank@example.com, xena@remote.test' ;;
	2|5) to='hank@example.com, ivan@example.org' ;;
	*) to='wes@remote.test' ;;
	esac
	drop "d$i.eml" "From: alice@example.com\r\nTo: $to\r\nSubject: daemon $i\r\n\r\nseven $i\r\n"
done
check "daemon: the files were delivered" wait_for 20 mailbox_has example.com hank 4
check "daemon: the stuck delivery was deferred" \
	wait_for 20 grep -q 'event=deferred .*to=<stuck@example.com>' "$ROOT"/Log/[0-9]*.log
rm "$ROOT/Store/example.com/stuck/new"
check "imc-queue flush told the daemon" "$IMC_BIN/imc-queue" -c "$CONF" flush
check "daemon: the deferred delivery done on retry" wait_for 20 mailbox_has example.com stuck 1
queue_idle() { [ "$(count_files "$ROOT/In")$(count_files "$ROOT/Work")" = 00 ]; }
check "daemon: In and Work empty" wait_for 10 queue_idle
stop_daemon
trace_checks "daemon" "$T/daemon.trace"

# 3. The listener: 8 sessions x 15 messages to a mailbox and to Out/; a
# session's next message comes while the last batch's tail waits.
P=$(free_port)
write_conf "retry_schedule = 1h" "listen = 127.0.0.1:$P" \
	"smtpd_greet_pause = 0s"
WRAP=("${STRACE[@]}" -o "$T/listener.trace")
start_daemon || abort_test "the listener part needs the daemon"
WRAP=()
timeout 120 "$PY" - "$P" >"$T/clients.log" 2>&1 <<'PYEOF'
import smtplib, sys, threading
port = int(sys.argv[1])
def run(c):
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    for n in range(15):
        rcpts = ["box%d@example.com" % c] + (["far@remote.test"] if n % 3 == 0 else [])
        s.sendmail("a%d@remote.test" % c, rcpts, b"Subject: l\r\n\r\nx\r\n")
    s.quit()
ts = [threading.Thread(target=run, args=(c,)) for c in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
print("done")
PYEOF
check "listener: 120 messages sent" grep -q '^done' "$T/clients.log"
stored_all() { [ "$(cat "$ROOT"/Store/example.com/box*/new/* 2>/dev/null | grep -c '^Subject: l')" = 120 ]; }
check "listener: 120 messages stored" wait_for 20 stored_all
stop_daemon
check "listener: Work and In empty after the stop" \
	test "$(count_files "$ROOT/Work")$(count_files "$ROOT/In")" = 00
trace_checks "listener" "$T/listener.trace" fold
# the stats line says what a message cost in syncs
check "listener: the stats line gives barriers per message" \
	grep -Eq 'stats: picked_up=120 .* barriers_per_msg=[0-9]+\.[0-9]{3}$' "$T/daemon.log"
finish
