# lib.sh - shared helpers for the integration tests (sourced, not run).
#
# Every test gets a scratch folder ($T) with an Imcdata tree and a config,
# and must stop whatever it starts. Waits are bounded in count and time.
# IMC_BIN (the build's bin/ folder) comes from ctest; run by hand as
#   IMC_BIN=build/bin bash tests/integration/test_x.sh

set -u
: "${IMC_BIN:?IMC_BIN must name the bin folder of the build}"
IMC_BIN=$(cd "$IMC_BIN" && pwd)
T=$(mktemp -d /tmp/imc-test.XXXXXX)
chmod 755 "$T"
CONF=$T/imc.conf
ROOT=$T/Imcdata
FAILS=0
PASSES=0
DAEMON_PID=

cleanup() {
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -KILL "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	# a test that mounted something inside its tree and failed midway
	awk -v t="$T/" 'index($2, t) == 1 { print $2 }' /proc/mounts 2>/dev/null |
		while read -r m; do umount "$m" 2>/dev/null; done
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

# write_conf [extra lines...] - a config for the scratch tree. Unless the
# lines route remote mail themselves (smarthost, dns_servers), remote
# recipients go to a loopback port nothing listens on: they stay in Out/,
# deferred, and no test ever asks the real DNS.
write_conf() {
	local l routed=0
	for l in "$@"; do
		case $l in smarthost*|dns_servers*) routed=1 ;; esac
	done
	{
		echo "root = $ROOT"
		echo "hostname = mx.test.example"
		echo "local_domains = example.com, example.org"
		# the connector refuses root without "user" (a lab override)
		[ "$(id -u)" != 0 ] || echo "allow_root = yes"
		[ $routed = 1 ] || echo "smarthost = [127.0.0.1]:9"
		for l in "$@"; do echo "$l"; done
	} > "$CONF"
}

ok() { PASSES=$((PASSES + 1)); echo "ok - $*"; }
not_ok() { FAILS=$((FAILS + 1)); echo "not ok - $*"; }

# check NAME COMMAND... - run a command, count pass or fail
check() {
	local name=$1; shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

# drop NAME CONTENT - publish a Pickup file atomically (temp name, rename)
drop() {
	printf '%b' "$2" > "$ROOT/Pickup/.$1.tmp" && mv "$ROOT/Pickup/.$1.tmp" "$ROOT/Pickup/$1"
}

# run_once - one pass of the connector; stderr kept in $T/once.log
run_once() {
	"$IMC_BIN/imc-connector" -c "$CONF" --once 2>>"$T/once.log"
}

# start_daemon - the connector in the background, output in $T/daemon.log
start_daemon() {
	"$IMC_BIN/imc-connector" -c "$CONF" 2>>"$T/daemon.log" &
	DAEMON_PID=$!
	# bounded wait until it watches Pickup
	local i
	for i in $(seq 1 100); do
		grep -q 'watching' "$T/daemon.log" 2>/dev/null && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

stop_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	kill -TERM "$DAEMON_PID" 2>/dev/null
	local i
	for i in $(seq 1 100); do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
}

# wait_for SECONDS COMMAND... - poll until the command succeeds (bounded)
wait_for() {
	local secs=$1; shift
	local end=$(( $(date +%s%N) + secs * 1000000000 ))
	while [ "$(date +%s%N)" -lt "$end" ]; do
		"$@" && return 0
		sleep 0.05
	done
	"$@"
}

# count_files DIR - regular files in DIR (not recursive)
count_files() {
	find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l
}

# mailbox_count DOMAIN LOCAL - messages in a mailbox's new/ and cur/
mailbox_count() {
	find "$ROOT/Store/$1/$2/new" "$ROOT/Store/$1/$2/cur" -type f 2>/dev/null | wc -l
}

# mailbox_has DOMAIN LOCAL N - exactly N messages in the mailbox (for wait_for,
# which must re-run the count on every poll)
mailbox_has() {
	[ "$(mailbox_count "$1" "$2")" = "$3" ]
}

# mailbox_one DOMAIN LOCAL - path of the only message (fails otherwise)
mailbox_one() {
	local f
	f=$(find "$ROOT/Store/$1/$2/new" -type f 2>/dev/null)
	[ "$(echo "$f" | grep -c .)" = 1 ] || return 1
	echo "$f"
}

# finish - the closing line ctest and CI read; exit status
finish() {
	echo "$PASSES passed, $FAILS failed"
	[ "$FAILS" = 0 ]
}
