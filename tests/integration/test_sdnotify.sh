#!/usr/bin/env bash
# test_sdnotify.sh - the daemon tells a service manager its state the way
# systemd's Type=notify asks (issue 11, section 3), without libsystemd: a
# Python datagram socket plays systemd's notify socket, named by
# NOTIFY_SOCKET as a path and in the abstract namespace ("@name").
# READY=1 once it runs, RELOADING=1 (with MONOTONIC_USEC) and READY=1
# around a SIGHUP, STOPPING=1 on SIGTERM; --once says nothing.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
LISTENERS=()
cat >"$T/notifyd.py" <<'PY'
import os, socket, sys, time
# notifyd.py NAME OUT PIDFILE: every datagram to NAME ("/path" or
# "@abstract") as one line of OUT (newlines as "|"); ends by itself
# after 120 s
name, out, pidfile = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + name[1:] if name.startswith("@") else name)
if not name.startswith("@"):
    os.chmod(name, 0o666)   # the daemon runs as the service user
s.settimeout(0.2)
open(pidfile, "w").write(str(os.getpid()))
end = time.monotonic() + 120
with open(out, "a") as f:
    while time.monotonic() < end:
        try:
            f.write(s.recv(4096).decode().replace("\n", "|") + "\n")
            f.flush()
        except socket.timeout:
            pass
PY

# listen NAME TAG - a notify socket; its datagrams in $T/notify-TAG.txt
listen() {
	local i
	: >"$T/notify-$2.txt"
	$PY "$T/notifyd.py" "$1" "$T/notify-$2.txt" "$T/notifyd-$2.pid" \
		</dev/null >/dev/null 2>>"$T/notifyd.log" &
	LISTENERS+=($!)
	for i in $(seq 1 100); do
		[ -s "$T/notifyd-$2.pid" ] && return 0
		sleep 0.05
	done
	return 1
}
stop_listeners() {
	local p
	for p in "${LISTENERS[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	LISTENERS=()
}
# said TAG STATE [N] - the socket got STATE (at least N times)
said() { [ "$(grep -c -x -e "$2" "$T/notify-$1.txt")" -ge "${3:-1}" ]; }

write_conf "pickup_rescan = 1s"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null

# A socket on a path
listen "$T/notify" path || abort_test "the notify socket listens"
export NOTIFY_SOCKET=$T/notify
start_daemon
wait_for 10 said path READY=1
check "path socket: READY=1 once running" said path READY=1
check "... exactly once" test "$(grep -c . "$T/notify-path.txt")" = 1
kill -HUP "$DAEMON_PID"
wait_for 10 said path READY=1 2
check "SIGHUP: RELOADING=1 with MONOTONIC_USEC" \
	grep -q -x 'RELOADING=1|MONOTONIC_USEC=[0-9]\+' "$T/notify-path.txt"
check "... then READY=1 again" test "$(sed -n '2p;3p' "$T/notify-path.txt" | cut -d'|' -f1 | tr '\n' ' ')" = "RELOADING=1 READY=1 "
# a reload of a bad file is still answered with READY=1 (nothing changed)
echo "max_hops = lots" >>"$CONF"
kill -HUP "$DAEMON_PID"
wait_for 10 said path READY=1 3
check "SIGHUP with a bad file: RELOADING=1, READY=1 too" said path READY=1 3
write_conf "pickup_rescan = 1s"
stop_daemon
wait_for 5 said path STOPPING=1
check "SIGTERM: STOPPING=1, the last word" test "$(tail -n 1 "$T/notify-path.txt")" = STOPPING=1

# An abstract socket
name="@imc-test-notify-$$-$RANDOM"
listen "$name" abstract || abort_test "the abstract notify socket listens"
export NOTIFY_SOCKET=$name
start_daemon
wait_for 10 said abstract READY=1
check "abstract socket ($name): READY=1" said abstract READY=1
stop_daemon
wait_for 5 said abstract STOPPING=1
check "abstract socket: STOPPING=1" said abstract STOPPING=1

# --once is not a service: nothing
: >"$T/notify-abstract.txt"
run_once
sleep 0.3
check "--once sends nothing" test ! -s "$T/notify-abstract.txt"

# A socket nobody listens on: the daemon says so once and runs on.
export NOTIFY_SOCKET=$T/nobody-listens
start_daemon
warned() { grep -q 'NOTIFY_SOCKET: cannot tell the service manager READY=1' "$T/daemon.log"; }
wait_for 10 warned
check "a dead notify socket: warned" warned
stop_daemon "... and the daemon runs and stops as usual"
unset NOTIFY_SOCKET
stop_listeners

finish
