#!/usr/bin/env bash
# test_single_instance.sh - one connector per tree (issue 13 item 3), the
# privileges it runs with (items 4 and 9), and imc-queue flush as a request
# the connector applies (it is the only writer of queue state).
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (CI runs as root)"
getent passwd imcsvc >/dev/null || skip_all "needs the imcsvc account (tools/install-deps.sh)"

write_conf "retry_schedule = 1h" "pickup_rescan = 1s"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null
start_daemon || abort_test "the rest needs the daemon"

# A second process on the same tree is refused, naming the holder.
CONNECTOR_TIMEOUT=30
expect_exit 75 "--once beside the daemon exits 75" refused.log -c "$CONF" --once
check "... and names the daemon's PID" grep -q "pid $DAEMON_PID" <<<"$OUT"
expect_exit 75 "a second daemon exits 75" refused.log -c "$CONF" --foreground

# The race the lock closes: --once runs while the daemon takes a stream of
# files. Without the lock they took the daemon's Work files for interrupted
# intakes; now every --once is refused and nothing is lost.
n=200
once_rcs=$T/once-rcs
: >"$once_rcs"
(
	# each refused on purpose (75): the statuses are checked below
	for i in $(seq 1 40); do
		connector racers.log -c "$CONF" --once
		echo "$RC" >>"$once_rcs"
	done
) &
racer=$!
for i in $(seq 1 $n); do
	if [ $((i % 2)) = 0 ]; then to="u$i@example.com"; else to="r$i@remote.test"; fi
	drop "m$i.eml" "From: app@example.com\r\nTo: $to\r\nSubject: m$i\r\n\r\nbody $i\r\n"
done
wait "$racer"
check "every concurrent --once was refused (75)" test "$(sort -u "$once_rcs")" = 75
all_taken() {
	[ "$(count_files "$ROOT/Pickup")" = 0 ] && [ "$(count_files "$ROOT/Work")" = 0 ] &&
		[ "$(grep -c 'event=picked-up' "$ROOT"/Log/[0-9]*.log)" = $n ]
}
wait_for 30 all_taken
check "all $n files picked up, Work empty" all_taken
stored=$(find "$ROOT/Store/example.com" -path '*/new/*' -type f | wc -l)
check "every local message stored ($((n / 2)))" test "$stored" = $((n / 2))
check "every remote message queued in Out ($((n / 2)))" \
	test "$(ls "$ROOT/Out" | grep -c '\.eml$')" = $((n / 2))
check "nothing in Badmail" test "$(count_files "$ROOT/Badmail")" = 0

# imc-queue flush writes a request and signals; it changes no queue file.
# The daemon's own attempts rewrite envelopes: wait for its first attempts
# (retry_schedule = 1h: no other comes by itself), and hold it stopped
# while the tool runs, so that only the tool could have changed a file.
first_tries() { [ "$(grep -c 'event=deferred' "$ROOT"/Log/[0-9]*.log)" -ge $((n / 2)) ]; }
wait_for 30 first_tries
check "the daemon tried every Out entry once" first_tries
attempts_before=$(grep -c 'event=deferred' "$ROOT"/Log/[0-9]*.log)
kill -STOP "$DAEMON_PID"
envs_before=$( (stat -c '%n %Z %s' "$ROOT"/Out/*.eml; out_envs) | md5sum)
out=$("$IMC_BIN/imc-queue" -c "$CONF" flush 2>&1)
envs_after=$( (stat -c '%n %Z %s' "$ROOT"/Out/*.eml; out_envs) | md5sum)
kill -CONT "$DAEMON_PID"
check "flush: told the connector" grep -q "told the connector (PID $DAEMON_PID)" <<<"$out"
check "flush: the tool rewrote no envelope" test "$envs_after" = "$envs_before"
more_attempts() { [ "$(grep -c 'event=deferred' "$ROOT"/Log/[0-9]*.log)" -ge $((attempts_before + n / 2)) ]; }
wait_for 20 more_attempts
check "flush: the daemon tried every Out entry again" more_attempts
no_requests() { ! ls "$ROOT"/Log/*.request >/dev/null 2>&1; }
wait_for 5 no_requests
check "flush: the request was consumed" no_requests
out=$("$IMC_BIN/imc-queue" -c "$CONF" flush 0000000000000000 2>&1)
check "flush of an unknown entry exits 67" test $? = 67

# SIGKILL: the kernel drops the lock; the next run starts.
kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID= DAEMON_SIG_PID=
"$IMC_BIN/imc-queue" -c "$CONF" flush >"$T/flush2.out" 2>&1
check "flush without a connector: the request waits" grep -q "applied at its next start" "$T/flush2.out"
CONNECTOR_TIMEOUT=60
check "--once after a SIGKILLed daemon runs (exit 0)" run_once
check "--once applied the waiting request" no_requests
check "the lock file stays (never removed)" test -f "$ROOT/Log/imc-connector.lock"

# Root without "user" is refused (item 9); with user = imcsvc the
# connector runs as imcsvc and keeps CAP_LEASE only (item 4).
# This part is about root: the config names no user (RUN_AS=root), and
# the allow_root line goes.
rm -rf "$ROOT"
RUN_AS=root
write_conf "pickup_rescan = 1s"
sed -i '/^allow_root/d' "$CONF"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null
CONNECTOR_TIMEOUT=30
expect_exit 78 "root without user: exit 78" refused.log -c "$CONF" --once
check "... with the reason" grep -q 'started as root without "user"' <<<"$OUT"
echo "user = root" >>"$CONF"
expect_exit 78 "user = root: exit 78" refused.log -c "$CONF" --once
sed -i 's/^user = root$/user = imcsvc/' "$CONF"
"$IMC_BIN/imc-layout" -c "$CONF" fix >/dev/null 2>&1
start_daemon || abort_test "daemon starts as imcsvc"
status=$(cat "/proc/$DAEMON_PID/status" 2>/dev/null)
check "runs as imcsvc" grep -q "^Uid:[[:space:]]*$(id -u imcsvc)[[:space:]]" <<<"$status"
# CAP_LEASE is capability 28
check "keeps CAP_LEASE and nothing else" grep -q '^CapEff:[[:space:]]*0000000010000000$' <<<"$status"
stop_daemon

finish
