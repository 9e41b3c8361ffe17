#!/usr/bin/env bash
# test_logging.sh - the daemon's own log (issue 11, section 3): stderr with
# --foreground (and --once), syslog with facility mail otherwise; the
# log_level key; log_keep_days removes older tracking and protocol logs.
# syslog is caught by a Python datagram socket bound at /dev/log inside a
# private mount namespace (an overlay on /dev): the machine's own syslog,
# if any, never sees a line of the test.
. "$(dirname "$0")/lib.sh"

write_conf "pickup_rescan = 1s"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null

# log_level, with --once (stderr)
drop a.eml 'From: app@example.com\r\nTo: u@example.com\r\nSubject: a\r\n\r\na\r\n'
run_once
check "default log_level (info): info lines on stderr" has '\[info\]: stats: picked_up=1' "$OUT"
check "... no debug lines" lacks '\[debug\]' "$OUT"
write_conf "pickup_rescan = 1s" "log_level = warning"
drop b.eml 'From: app@example.com\r\nTo: u@example.com\r\nSubject: b\r\n\r\nb\r\n'
run_once
check "log_level = warning: no info line" lacks '\[info\]' "$OUT"
check "... the message still delivered" mailbox_has example.com u 2
run_once --debug
check "--debug wins over log_level = warning" has '\[info\]: stats:' "$OUT"
write_conf "pickup_rescan = 1s" "log_level = loud"
expect_exit 78 "log_level = loud is refused (78)" once.log -c "$CONF" --once
check "... naming debug, info or warning" has 'log_level: "loud"' "$OUT"

# log_keep_days: older days' tracking and protocol logs go, nothing else
today=$(date -u +%Y%m%d)
yesterday=$(date -u -d '1 day ago' +%Y%m%d)
old=$(date -u -d '10 days ago' +%Y%m%d)
for f in "$old.log" "smtp-$old.log" "$yesterday.log" "smtp-$yesterday.log" \
	"20200101.log" "notes-$old.txt"; do
	echo x >"$ROOT/Log/$f"
done
svc_own "$ROOT/Log"
write_conf "pickup_rescan = 1s" "log_keep_days = 3"
run_once
check "log_keep_days = 3: a 10-day-old tracking log removed" test ! -e "$ROOT/Log/$old.log"
check "... and its protocol log" test ! -e "$ROOT/Log/smtp-$old.log"
check "... and one from 2020" test ! -e "$ROOT/Log/20200101.log"
check "... yesterday's kept" test -e "$ROOT/Log/$yesterday.log" -a -e "$ROOT/Log/smtp-$yesterday.log"
check "... today's kept" test -e "$ROOT/Log/$today.log"
check "... other files kept" test -e "$ROOT/Log/notes-$old.txt"
check "... and logged" has 'log_keep_days = 3: 3 old log files removed' "$OUT"
echo x >"$ROOT/Log/$old.log"
write_conf "pickup_rescan = 1s"
run_once
check "log_keep_days = 0 (the default) keeps every log" test -e "$ROOT/Log/$old.log"

# The daemon prunes at start too.
write_conf "pickup_rescan = 1s" "log_keep_days = 1"
start_daemon
check "daemon: --foreground logs to stderr" grep -q '\[info\]: watching' "$T/daemon.log"
gone() { [ ! -e "$ROOT/Log/$old.log" ]; }
wait_for 10 gone
check "daemon with log_keep_days = 1 removes the old log at start" gone
stop_daemon

# Without --foreground: syslog, facility mail (2), the level as severity.
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
	skip "syslog" "needs root and unshare(1) for a private /dev/log"
elif ! unshare --mount --propagation private true 2>/dev/null; then
	skip "syslog" "unshare --mount is not allowed here"
else
	write_conf "pickup_rescan = 1s"
	mkdir -p "$T/devup" "$T/devwork"
	: >"$T/syslog.txt"
	cat >"$T/syslogd.py" <<'PY'
import os, socket, sys, time
# ends by itself when the daemon (its parent) is gone, or after 120 s
parent, end = os.getppid(), time.monotonic() + 120
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
os.chmod("/dev/log", 0o666)
s.settimeout(0.2)
open(sys.argv[2], "w").write(str(os.getpid()))
with open(sys.argv[1], "ab", buffering=0) as out:
    while os.getppid() == parent and time.monotonic() < end:
        try:
            out.write(s.recv(65536) + b"\n")
        except socket.timeout:
            pass
PY
	# one shell in the namespace: the overlay, the listener, then the
	# daemon in its place (exec: the PID started here is the daemon's)
	unshare --mount --propagation private sh -c '
		mount -t overlay imc-test-dev -o "lowerdir=/dev,upperdir=$1/devup,workdir=$1/devwork" /dev || exit 1
		/usr/bin/python3 "$1/syslogd.py" "$1/syslog.txt" "$1/syslogd.pid" </dev/null >/dev/null 2>>"$1/syslogd.log" &
		for i in $(seq 1 100); do [ -S /dev/log ] && [ -s "$1/syslogd.pid" ] && break; sleep 0.05; done
		shift
		exec "$@"' sh "$T" "$IMC_BIN/imc-connector" -c "$CONF" 2>>"$T/bg.log" &
	bg=$!
	watching() { grep -q 'watching' "$T/syslog.txt"; }
	wait_for 15 watching
	check "no --foreground: the log goes to syslog" watching
	check "... facility mail, severity info (<22>), named with its PID" \
		grep -q "^<22>.*imc-connector\[$bg\]: info: watching $ROOT/Pickup" "$T/syslog.txt"
	drop c.eml 'From: app@example.com\r\nTo: nobody-here\r\nSubject: c\r\n\r\nc\r\n'
	kill -TERM "$bg" 2>/dev/null
	for i in $(seq 1 200); do kill -0 "$bg" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$bg" 2>/dev/null && kill -KILL "$bg"
	wait "$bg"
	check "... it stopped on SIGTERM (exit 0)" test $? = 0
	check "... stopping logged there too" grep -q 'finishing the transactions in hand' "$T/syslog.txt"
	check "... nothing on stderr" test ! -s "$T/bg.log"
	spid=$(cat "$T/syslogd.pid" 2>/dev/null)
	[ -z "$spid" ] || kill -TERM "$spid" 2>/dev/null
fi

finish
