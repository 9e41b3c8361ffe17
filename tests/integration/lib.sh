# lib.sh - shared helpers for the integration tests (sourced, not run).
#
# Every test gets a scratch folder ($T) with an Imcdata tree and a config,
# and must stop whatever it starts. Waits are bounded in count and time.
# IMC_BIN (the build's bin/ folder) comes from ctest; run by hand as
#   IMC_BIN=build/bin bash tests/integration/test_x.sh
#
# What every script gets from here, so that no check is left to chance:
# - the connector runs through run_once, start_daemon/stop_daemon or
#   connector/expect_exit; any exit status but the expected one (0 unless a
#   test says otherwise) is a failure, and so is a daemon that needs SIGKILL;
# - finish scans $T/*.log for sanitizer reports (ASan, LeakSanitizer,
#   UBSan) and fails, listing them;
# - finish fails a script in which no check ran;
# - skip NAME WHY marks a part that cannot run here: the script then exits
#   77, which ctest reports as skipped (SKIP_RETURN_CODE), and skip_all ends
#   the script at once with 77 when none of it can run.

set -u
: "${IMC_BIN:?IMC_BIN must name the bin folder of the build}"
IMC_BIN=$(cd "$IMC_BIN" && pwd)
T=$(mktemp -d /tmp/imc-test.XXXXXX)
chmod 755 "$T"
# Sanitizer reports of every program a test runs (the connector and the
# tools, as whatever user they run) are written into $T/sanitizer/, which
# finish reads; a report on stderr lands in $T/*.log, which it reads too.
mkdir -m 1777 "$T/sanitizer"
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T/sanitizer/asan
export UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$T/sanitizer/ubsan
CONF=$T/imc.conf
ROOT=$T/Imcdata
FAILS=0
PASSES=0
SKIPS=0
DAEMON_PID=		# the daemon, or the WRAP command running it
DAEMON_SIG_PID=		# the daemon itself, which SIGTERM goes to
DAEMON_RC=		# exit status of the last daemon that ended
DAEMON_KILLED=		# 1 if it needed SIGKILL
RC=			# exit status of the last connector / run_once
OUT=			# its stderr
CONNECTOR_TIMEOUT=${CONNECTOR_TIMEOUT:-120}	# seconds, for one --once run
WRAP=()			# a command the connector runs under (time, strace)
SVC_USER=imcsvc		# the service user of the deployment
RUN_AS=$SVC_USER		# who the connector runs as (root: see write_conf)

cleanup() {
	if [ -n "$DAEMON_PID" ] && [ -n "$DAEMON_SIG_PID" ] &&
		[ "$DAEMON_SIG_PID" != "$DAEMON_PID" ]; then
		kill -KILL "$DAEMON_SIG_PID" 2>/dev/null
	fi
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
# Run as root, the tests run the connector as deployed: "user = imcsvc"
# (the tree is made by imc-layout create as root, owned by imcsvc), unless
# the lines name a user or a test about root sets RUN_AS=root, which
# writes "allow_root = yes" instead. Run as another user, the connector
# runs as that user and the config names none.
write_conf() {
	local l routed=0 named=0 as=
	for l in "$@"; do
		case $l in
		smarthost*|dns_servers*) routed=1 ;;
		user\ *|user=*) named=1 ;;
		esac
	done
	if [ "$(id -u)" = 0 ] && [ $named = 0 ]; then
		if [ "$RUN_AS" = root ]; then
			as="allow_root = yes"
		else
			getent passwd "$RUN_AS" >/dev/null ||
				skip_all "needs the $RUN_AS account (tools/install-deps.sh makes it)"
			as="user = $RUN_AS"
		fi
	fi
	{
		echo "root = $ROOT"
		echo "hostname = mx.test.example"
		echo "local_domains = example.com, example.org"
		[ -z "$as" ] || echo "$as"
		[ $routed = 1 ] || echo "smarthost = [127.0.0.1]:9"
		for l in "$@"; do echo "$l"; done
	} > "$CONF"
}

# svc_own PATH... - hand folders a test made inside the tree (as root) to
# the user the connector runs as, as imc-layout would have
svc_own() {
	[ "$(id -u)" = 0 ] && [ "$RUN_AS" != root ] || return 0
	chown -R "$RUN_AS:" "$@"
}

ok() { PASSES=$((PASSES + 1)); echo "ok - $*"; }
not_ok() { FAILS=$((FAILS + 1)); echo "not ok - $*"; }

# skip NAME WHY - a part of the test that cannot run on this machine; the
# script still runs the rest, then exits 77 (skipped) if nothing failed
skip() { SKIPS=$((SKIPS + 1)); echo "skip - $1: $2"; }

# skip_all WHY - none of the test can run here (no root, no account, no
# package): exit 77 now, before anything is started
skip_all() {
	echo "skip - the whole test: $1"
	exit 77
}

# need PROGRAM... - skip the whole test unless every program is there
# (tools/install-deps.sh installs them all)
need() {
	local p
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 ||
			skip_all "needs $p (tools/install-deps.sh installs it)"
	done
}

# check NAME COMMAND... - run a command, count pass or fail
check() {
	local name=$1; shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

# abort_test WHY - something the rest of the test depends on failed
abort_test() {
	not_ok "$1"
	finish
	exit 1
}

# has PATTERN TEXT / lacks PATTERN TEXT - grep -q on a variable's text,
# for check (a "bash -c" would not see the caller's variables)
has() { grep -q -e "$1" <<<"$2"; }
lacks() { ! grep -q -e "$1" <<<"$2"; }

# drop NAME CONTENT - publish a Pickup file atomically (temp name, rename)
drop() {
	printf '%b' "$2" > "$ROOT/Pickup/.$1.tmp" && mv "$ROOT/Pickup/.$1.tmp" "$ROOT/Pickup/$1"
}

# connector LOG ARGS... - run imc-connector with ARGS, bounded by
# CONNECTOR_TIMEOUT seconds and under the WRAP command if one is set, its
# stderr appended to $T/LOG; RC is its exit status and OUT this run's
# stderr. It checks nothing: run_once wants exit 0, expect_exit a status
# the test names.
connector() {
	local log=$T/$1 before; shift
	before=$(stat -c %s "$log" 2>/dev/null || echo 0)
	timeout "$CONNECTOR_TIMEOUT" "${WRAP[@]}" "$IMC_BIN/imc-connector" "$@" 2>>"$log"
	RC=$?
	OUT=$(tail -c +"$((before + 1))" "$log")
	return "$RC"
}

# run_once [ARGS...] - one --once pass; stderr appended to $T/once.log.
# Any exit status but 0 is counted as a failure here (with the run's last
# lines); the status is returned and kept in RC, the output in OUT.
run_once() {
	connector once.log -c "$CONF" --once "$@" && return 0
	not_ok "imc-connector --once exited $RC (want 0)"
	tail -n 5 <<<"$OUT" | sed 's/^/#   /'
	return "$RC"
}

# expect_exit WANT NAME LOG ARGS... - a connector run that must end with
# status WANT (a refusal, a configuration error): one check, named NAME;
# stderr appended to $T/LOG, RC and OUT set as by connector
expect_exit() {
	local want=$1 name=$2; shift 2
	connector "$@"
	if [ "$RC" = "$want" ]; then
		ok "$name"
	else
		not_ok "$name (exit $RC, want $want)"
		tail -n 5 <<<"$OUT" | sed 's/^/#   /'
	fi
}

# start_daemon [ARGS...] - the connector in the background (under the
# WRAP command if one is set), output in $T/daemon.log; one check: it
# starts watching Pickup (bounded wait). A daemon that ends during start-up
# is a failure with its exit status.
start_daemon() {
	local before i
	[ -z "$DAEMON_PID" ] || stop_daemon "daemon left running stopped before a new start"
	before=$(stat -c %s "$T/daemon.log" 2>/dev/null || echo 0)
	# --foreground: its log on stderr (else it goes to syslog)
	"${WRAP[@]}" "$IMC_BIN/imc-connector" -c "$CONF" --foreground "$@" 2>>"$T/daemon.log" &
	DAEMON_PID=$! DAEMON_SIG_PID=$!
	DAEMON_RC= DAEMON_KILLED=
	# only this start's lines: an earlier run's "watching" does not count
	for i in $(seq 1 200); do
		if tail -c +"$((before + 1))" "$T/daemon.log" 2>/dev/null | grep -q 'watching'; then
			# under WRAP the daemon is the wrapper's child
			[ ${#WRAP[@]} = 0 ] ||
				DAEMON_SIG_PID=$(pgrep -P "$DAEMON_PID" -x imc-connector | head -1)
			if [ -z "$DAEMON_SIG_PID" ]; then
				not_ok "daemon started under ${WRAP[0]}, but its pid is not found"
				return 1
			fi
			ok "daemon started (pid $DAEMON_SIG_PID)"
			return 0
		fi
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$DAEMON_PID" 2>/dev/null; then
		not_ok "daemon $DAEMON_PID not watching Pickup after 10 s"
		return 1
	fi
	wait "$DAEMON_PID"
	DAEMON_RC=$? DAEMON_KILLED=0
	DAEMON_PID= DAEMON_SIG_PID=
	not_ok "daemon ended during start-up with status $DAEMON_RC"
	tail -c +"$((before + 1))" "$T/daemon.log" | tail -n 5 | sed 's/^/#   /'
	return 1
}

# stop_daemon [NAME] - SIGTERM, then a bounded wait (30 s: an ASan build
# looks for leaks at exit) and SIGKILL only if it has not ended. One check,
# NAME: it ended by itself, with status 0. DAEMON_RC is the exit status
# (137 after SIGKILL), DAEMON_KILLED 1 if SIGKILL was needed.
stop_daemon() {
	local name=${1:-daemon stopped by SIGTERM} pid=$DAEMON_PID i
	[ -n "$pid" ] || return 0
	DAEMON_KILLED=0
	# the daemon gets the signal; a wrapper ends with its status
	kill -TERM "${DAEMON_SIG_PID:-$pid}" 2>/dev/null
	for i in $(seq 1 600); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		DAEMON_KILLED=1
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	DAEMON_RC=$?
	DAEMON_PID= DAEMON_SIG_PID=
	if [ "$DAEMON_KILLED" = 1 ]; then
		not_ok "$name (still running 30 s after SIGTERM: SIGKILL)"
	elif [ "$DAEMON_RC" != 0 ]; then
		not_ok "$name (exit status $DAEMON_RC, want 0)"
		tail -n 5 "$T/daemon.log" | sed 's/^/#   /'
	else
		ok "$name (exit 0)"
		return 0
	fi
	return 1
}

# wait_for SECONDS COMMAND... - poll until the command succeeds (bounded).
# The command's words are expanded once, by the caller: a condition over
# "$(...)" must go through eval in single quotes to be looked at again.
wait_for() {
	local secs=$1; shift
	local end=$(( $(date +%s%N) + secs * 1000000000 ))
	while [ "$(date +%s%N)" -lt "$end" ]; do
		"$@" && return 0
		sleep 0.05
	done
	"$@"
}

# Queue entries: an Out/ entry keeps its envelope on its content file
# (the attribute user.imc.env of <qid>.eml) unless a <qid>.env stands
# beside it; In/ entries use <qid>.env. These read either.
# entry_env DIR QID - print one entry's envelope
entry_env() {
	if [ -f "$1/$2.env" ]; then cat "$1/$2.env"; return; fi
	/usr/bin/python3 -c 'import os,sys
try:
    sys.stdout.write(os.getxattr(sys.argv[1], "user.imc.env").decode())
except OSError:
    sys.exit(1)' "$1/$2.eml"
}
# entry_qids DIR - the queue ids of the entries (with an envelope) in DIR
entry_qids() {
	local f q
	for f in "$1"/*.eml; do
		[ -f "$f" ] || continue
		q=$(basename "$f" .eml)
		entry_env "$1" "$q" >/dev/null 2>&1 && echo "$q"
	done
}
# out_count - entries in Out/; out_envs - every Out/ envelope, one after
# the other (for grep)
out_count() { entry_qids "$ROOT/Out" | grep -c .; }
out_envs() {
	local q
	for q in $(entry_qids "$ROOT/Out"); do entry_env "$ROOT/Out" "$q"; done
}
# env_to_file DIR QID - move an envelope off the content file into
# <qid>.env (the form a file system without user attributes gets)
env_to_file() {
	entry_env "$1" "$2" > "$1/$2.env.tmp" && mv "$1/$2.env.tmp" "$1/$2.env" &&
	/usr/bin/python3 -c 'import os,sys
try:
    os.removexattr(sys.argv[1], "user.imc.env")
except OSError:
    pass' "$1/$2.eml"
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

# sanitizer_reports - "file:line: text" of every sanitizer report of this
# test: the report files in $T/sanitizer/ and reports on stderr in the logs
# ($T/*.log: the connector's stderr, peers, tools)
sanitizer_reports() {
	grep -H -n -e 'ERROR: AddressSanitizer' -e 'LeakSanitizer' \
		-e 'runtime error:' -e 'ERROR: UndefinedBehaviorSanitizer' \
		"$T"/*.log 2>/dev/null | sed "s|^$T/||"
	find "$T/sanitizer" -type f 2>/dev/null | sort | while read -r f; do
		grep -H -n -m 3 -e 'ERROR: ' -e 'runtime error:' -e 'SUMMARY: ' "$f" |
			sed "s|^$T/||"
		grep -q -e 'ERROR: ' -e 'runtime error:' -e 'SUMMARY: ' "$f" ||
			echo "${f#"$T"/}: $(head -c 200 "$f" | tr '\n' ' ')"
	done
}

# finish - stop a daemon still running, look for sanitizer reports, and
# print the closing line ctest and CI read; exit status 0 (all passed), 1
# (a failure, or no check at all ran) or 77 (a part was skipped)
finish() {
	local reports f
	[ -z "$DAEMON_PID" ] || stop_daemon "daemon still running at the end stopped by SIGTERM"
	reports=$(sanitizer_reports)
	if [ -n "$reports" ]; then
		not_ok "sanitizer reports ($(grep -c . <<<"$reports") lines)"
		head -n 20 <<<"$reports" | sed 's/^/#   /'
		# the first report whole, for the stack
		f=$(find "$T/sanitizer" -type f 2>/dev/null | sort | head -1)
		[ -z "$f" ] || head -n 40 "$f" | sed 's/^/#   | /'
	fi
	if [ $((PASSES + FAILS)) = 0 ]; then
		not_ok "no check ran"
	fi
	echo "$PASSES passed, $FAILS failed, $SKIPS skipped"
	[ "$FAILS" = 0 ] || return 1
	[ "$SKIPS" = 0 ] || return 77
	return 0
}
