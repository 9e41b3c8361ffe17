#!/usr/bin/env bash
# tools/imc-connector.service: installed (cmake --install into a scratch
# prefix, so ExecStart names a program that exists) it passes
# `systemd-analyze verify` (no running systemd needed), has the hardening
# the issue asks for, and `systemd-analyze security --offline` rates it
# 2.5 or better. Then the daemon runs as the unit runs it: as the service
# user from the start, CAP_LEASE and CAP_NET_BIND_SERVICE its only
# capabilities (ambient and bounding), no new privileges; it delivers on a
# tree that user owns, and (with an SMTP listener in the build) listens on
# a port below 1024.
. "$(dirname "$0")/lib.sh"
need cmake systemd-analyze man
SRC=${IMC_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=$(cd "$IMC_BIN/.." && pwd)

P=$T/prefix
cmake --install "$BUILD" --prefix "$P" >"$T/install.log" 2>&1
check "cmake --install into a scratch prefix" test $? = 0
UNIT=$P/lib/systemd/system/imc-connector.service
check "the unit is installed" test -f "$UNIT"

# verify UNIT - systemd-analyze verify's complaints (the Documentation=
# pages are looked up with man, in the scratch prefix's pages)
verify() { MANPATH=$P/share/man SYSTEMD_LOG_LEVEL=notice systemd-analyze verify "$1" 2>&1; }
# clean UNIT - verify exits 0 and says nothing (a bad value is only a
# warning to it)
clean() { local out; out=$(verify "$1") && [ -z "$out" ]; }
unclean() { ! clean "$1"; }
out=$(verify "$UNIT")
check "systemd-analyze verify passes, without a warning" clean "$UNIT"
[ -z "$out" ] || sed 's/^/#   /' <<<"$out"
# It can fail: a unit with a typo, one naming a missing program, one
# whose manual page is missing.
sed 's/^Type=notify$/Type=notiffy/' "$UNIT" > "$T/imc-connector.service"
check "verify complains about Type=notiffy" unclean "$T/imc-connector.service"
sed "s|^ExecStart=$P/sbin/|ExecStart=$T/nowhere/|" "$UNIT" > "$T/imc-connector.service"
check "verify complains about a missing ExecStart program" unclean "$T/imc-connector.service"
sed "s|man:imc.conf(5)|man:imc-nothing(5)|" "$UNIT" > "$T/imc-connector.service"
check "verify complains about a missing manual page" unclean "$T/imc-connector.service"

for line in Type=notify 'ExecReload=/bin/kill -HUP $MAINPID' \
	"ExecStart=$P/sbin/imc-connector -c $P/etc/imc-connector/imc.conf" \
	ProtectSystem=strict ReadWritePaths=-/var/lib/imc NoNewPrivileges=yes \
	PrivateTmp=yes ProtectHome=yes \
	'CapabilityBoundingSet=CAP_LEASE CAP_NET_BIND_SERVICE' \
	'AmbientCapabilities=CAP_LEASE CAP_NET_BIND_SERVICE' User=imc \
	'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX'; do
	check "the unit says $line" grep -qxF -- "$line" "$UNIT"
done
check "the unit never runs anything as root (no User=root, no + or ! prefixes)" \
	bash -c "! grep -Eq '^(User=root|Exec[A-Za-z]*=[-@:]*[+!])' '$UNIT'"

sec=$(systemd-analyze security --offline=true "$UNIT" 2>&1)
score=$(sed -n 's/.*Overall exposure level for imc-connector.service: \([0-9.]*\).*/\1/p' <<<"$sec")
echo "# systemd-analyze security --offline=true: exposure ${score:-?}"
check "systemd-analyze security rates the unit 2.5 or better" \
	awk -v s="$score" 'BEGIN { exit !(s != "" && s + 0 <= 2.5) }'

# The daemon as the unit runs it: setpriv does what User=, Group=,
# AmbientCapabilities=, CapabilityBoundingSet= and NoNewPrivileges= do.
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null ||
	! getent passwd imcsvc >/dev/null; then
	skip "run as the unit runs it" "needs root, setpriv and imcsvc (tools/install-deps.sh)"
else
	write_conf
	"$P/sbin/imc-layout" -c "$CONF" create >/dev/null 2>"$T/layout.log"
	chmod 644 "$CONF"
	# the installed daemon as the unit starts it (setpriv execs it, so $!
	# of a background run is the daemon's pid)
	as_unit=(setpriv --reuid=imcsvc --regid="$(id -g imcsvc)" --init-groups
		--inh-caps=-all,+lease,+net_bind_service
		--ambient-caps=-all,+lease,+net_bind_service
		--bounding-set=-all,+lease,+net_bind_service --no-new-privs
		"$P/sbin/imc-connector" -c "$CONF")
	drop m1.eml 'From: a@example.org\nTo: cy@example.com\nSubject: unit\n\nhello\n'
	timeout 60 "${as_unit[@]}" --once 2>"$T/unit-once.log"
	check "as imcsvc with the unit's capabilities: --once exits 0" test $? = 0
	check "... and delivers" mailbox_has example.com cy 1
	# Running, it holds CAP_LEASE (bit 28) and CAP_NET_BIND_SERVICE (bit
	# 10) and nothing else, as imcsvc; with a listener in the build (the
	# "listen" key), on a loopback port below 1024.
	# (--foreground: its log on stderr, where this test reads "watching";
	# the unit leaves it out, for syslog.)
	listen=
	if grep -q '^| `listen` |' "$SRC/README.md"; then
		for _ in $(seq 1 20); do
			addr=127.0.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 2)) port=$((RANDOM % 400 + 600))
			ss -ltn "src $addr:$port" 2>/dev/null | grep -q LISTEN || break
		done
		listen=$addr:$port
		echo "listen = $listen" >> "$CONF"
	else
		echo "# no SMTP listener in this build: the port below 1024 is not tried"
	fi
	# Type=notify and ExecReload=kill -HUP: with sd_notify in the build, a
	# socket standing in for systemd's must get READY=1, then RELOADING=1
	# and READY=1 again after SIGHUP, and STOPPING=1 on SIGTERM. The
	# stand-in ends by itself (STOPPING=1, or 60 s).
	notify=
	if grep -aq NOTIFY_SOCKET "$P/sbin/imc-connector"; then
		notify=$T/notify.sock
		/usr/bin/python3 -c 'import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777)
s.settimeout(1.0)
end = time.time() + 60
with open(sys.argv[2], "w", buffering=1) as log:
    while time.time() < end:
        try:
            m = s.recv(4096).decode(errors="replace")
        except socket.timeout:
            continue
        for l in m.splitlines():
            log.write(l + "\n")
        if "STOPPING=1" in m.splitlines():
            break' "$notify" "$T/notify.log" &
		NOTIFY_PID=$!
		wait_for 5 test -S "$notify"
	else
		echo "# no sd_notify in this build: Type=notify is not tried"
	fi
	NOTIFY_SOCKET=$notify "${as_unit[@]}" --foreground 2>"$T/unit-daemon.log" </dev/null >/dev/null &
	DAEMON_PID=$!
	wait_for 10 grep -q watching "$T/unit-daemon.log"
	check "the daemon as the unit runs it starts" grep -q watching "$T/unit-daemon.log"
	st=$(cat "/proc/$DAEMON_PID/status" 2>/dev/null)
	check "... its effective capabilities are CAP_LEASE and CAP_NET_BIND_SERVICE alone" \
		has '^CapEff:[[:space:]]*0000000010000400$' "$st"
	check "... it runs as imcsvc" has "^Uid:[[:space:]]*$(id -u imcsvc)[[:space:]]" "$st"
	if [ -n "$listen" ]; then
		greeting=$(timeout 10 bash -c "exec 3<>/dev/tcp/${listen%:*}/${listen##*:}; head -c 3 <&3; printf 'QUIT\r\n' >&3" 2>/dev/null)
		check "... and its SMTP listener greets on $listen (a port below 1024)" test "$greeting" = 220
	fi
	drop m2.eml 'From: a@example.org\nTo: cy@example.com\nSubject: unit 2\n\nhello\n'
	wait_for 20 mailbox_has example.com cy 2
	check "... and delivers a file dropped while it runs" mailbox_has example.com cy 2
	if [ -n "$notify" ]; then
		wait_for 10 grep -qx READY=1 "$T/notify.log"
		check "... it tells the notify socket READY=1" grep -qx READY=1 "$T/notify.log"
		kill -HUP "$DAEMON_PID"
		wait_for 10 bash -c "grep -qx RELOADING=1 '$T/notify.log' && test \$(grep -cx READY=1 '$T/notify.log') -ge 2"
		check "... SIGHUP (ExecReload): RELOADING=1, then READY=1 again" \
			bash -c "grep -qx RELOADING=1 '$T/notify.log' && test \$(grep -cx READY=1 '$T/notify.log') -ge 2"
	fi
	kill -TERM "$DAEMON_PID"
	for _ in $(seq 1 300); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$DAEMON_PID" 2>/dev/null && kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID"
	check "... and stops on SIGTERM with exit 0" test $? = 0
	DAEMON_PID=
	if [ -n "$notify" ]; then
		check "... having told the notify socket STOPPING=1" grep -qx STOPPING=1 "$T/notify.log"
		wait "$NOTIFY_PID" 2>/dev/null
	fi
fi
finish
