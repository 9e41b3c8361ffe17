#!/usr/bin/env bash
# test_pickup_writers.sh - intake against writers that misbehave, with the
# connector as the service user (issue 13 items 4, 5, 6 and 13):
# - a writer that pauses mid-write is not claimed before it closes, with
#   CAP_LEASE kept across the privilege drop, and without any lease
#   (inotify says the file is still open);
# - a writer that reopens the claimed file through /proc and grows it past
#   max_message_size gets nothing over the limit stored;
# - a file still being written costs a retry of that name, not rescans;
# - a flood of FIFOs is logged at a bounded rate;
# - a full disk, and Out/ removed while running, hold files in Work and
#   the running daemon queues them once it can.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "needs root (CI runs as root)"; exit 77; }
for u in imcsvc imcwriter; do
	id "$u" >/dev/null 2>&1 || { echo "needs the $u account (tools/install-deps.sh)"; exit 77; }
done
PY=/usr/bin/python3
W=$IMC_SRC/tests/integration/pickup_writer.py
as_user() { local u=$1; shift; setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups "$@"; }

setup() {
	rm -rf "$ROOT"
	write_conf "user = imcsvc" "group = imcwriters" "pickup_settle = 1s" "$@"
	chmod 644 "$CONF"
	"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null
	: >"$T/daemon.log"
}
# start_daemon_unprivileged - started as imcsvc itself: no CAP_LEASE
start_daemon_unprivileged() {
	setpriv --reuid=imcsvc --regid="$(id -g imcsvc)" --init-groups \
		"$IMC_BIN/imc-connector" -c "$CONF" --foreground 2>>"$T/daemon.log" &
	DAEMON_PID=$!
	wait_for 5 grep -q watching "$T/daemon.log"
}
bob_complete() {
	local f
	f=$(mailbox_one example.com bob) || return 1
	grep -q 'END-OF-MESSAGE' "$f" && grep -q 'first half of the body' "$f"
}

# --- item 4: a writer that pauses mid-write ---------------------------------
setup "pickup_rescan = 1s"
start_daemon || not_ok "daemon starts"
check "lease case: the connector holds CAP_LEASE" \
	grep -q '^CapEff:[[:space:]]*0000000010000000$' "/proc/$DAEMON_PID/status"
as_user imcwriter $PY "$W" pause "$ROOT/Pickup/paused.eml" 4
wait_for 10 bob_complete
check "lease case: the paused message is stored whole" bob_complete
check "lease case: stored once" test "$(mailbox_count example.com bob)" = 1
stop_daemon

setup "pickup_rescan = 1s"
start_daemon_unprivileged || not_ok "unprivileged daemon starts"
check "no-lease case: the connector has no capability" \
	grep -q '^CapEff:[[:space:]]*0000000000000000$' "/proc/$DAEMON_PID/status"
as_user imcwriter $PY "$W" pause "$ROOT/Pickup/paused.eml" 4
wait_for 10 bob_complete
check "no-lease case: the paused message is stored whole" bob_complete
check "no-lease case: stored once" test "$(mailbox_count example.com bob)" = 1
stop_daemon

# --- item 5: a writer that grows the claimed file -------------------------
setup "max_message_size = 2M" "pickup_rescan = 1s"
start_daemon || not_ok "daemon starts"
out=$(as_user imcwriter timeout 60 $PY "$W" grow "$ROOT/Pickup/grow.eml" 1900000 30000000)
echo "# writer: $out"
settled() { [ "$(count_files "$ROOT/Pickup")" = 0 ] && [ "$(count_files "$ROOT/Work")" = 0 ]; }
wait_for 20 settled
check "grow: Pickup and Work empty" settled
big=$(find "$ROOT/Store" "$ROOT/In" "$ROOT/Out" -type f -size +2100k | wc -l)
check "grow: nothing over max_message_size stored or queued" test "$big" = 0
ended=$(( $(mailbox_count example.com bob) + $(ls "$ROOT/Pickup/Archive" | grep -c '\.eml$') ))
check "grow: the message ended stored or archived with a reason" test "$ended" = 1
if [ "$(mailbox_count example.com bob)" = 1 ]; then
	f=$(mailbox_one example.com bob)
	check "grow: what was stored is the message as written, whole" \
		bash -c "grep -q END-OF-MESSAGE '$f' && test \$(stat -c %s '$f') -lt 2000000"
fi
stop_daemon

# --- item 13: a busy file costs a retry of its name, not rescans -----------
setup "pickup_rescan = 30s"
start_daemon || not_ok "daemon starts"
as_user imcwriter $PY "$W" hold "$ROOT/Pickup/held.eml" 5 &
holder=$!
sleep 0.5
# the write that makes it look new is a rename into place of a twin:
# the writer keeps its own file open meanwhile
wait "$holder"
wait_for 10 mailbox_has example.com bob 1
check "busy: delivered after its writer closed it" mailbox_has example.com bob 1
stop_daemon
rescans=$(sed -n 's/.*rescans=\([0-9]*\).*/\1/p' "$T/daemon.log" | tail -1)
check "busy: no rescans for it (rescans=$rescans, want 1)" test "${rescans:-99}" -le 1

# --- item 13: a flood of FIFOs is logged at a bounded rate -----------------
setup "pickup_rescan = 1s"
$PY -c 'import os,sys
d=sys.argv[1]
for i in range(100050):
    os.mkfifo(os.path.join(d, "f%06d" % i))' "$ROOT/Pickup"
start_daemon || not_ok "daemon starts"
drop ok.eml 'From: a@example.com\r\nTo: bob@example.com\r\nSubject: among fifos\r\n\r\nx\r\n'
wait_for 30 mailbox_has example.com bob 1
check "flood: a real message still gets through" mailbox_has example.com bob 1
sleep 3
stop_daemon
lines=$(grep -c 'left in Pickup' "$T/daemon.log")
check "flood: at most 100 skip lines a minute (saw $lines)" test "$lines" -le 100
check "flood: some were logged" test "$lines" -ge 1
find "$ROOT/Pickup" -maxdepth 1 -type p -delete

# --- item 6: a full disk holds files in Work until space returns -----------
rm -rf "$ROOT"; mkdir -p "$ROOT"
mount -t tmpfs -o "size=3m,mode=0710,uid=$(id -u imcsvc),gid=$(getent group imcwriters | cut -d: -f3)" \
	tmpfs "$ROOT" || not_ok "tmpfs mounts"
write_conf "user = imcsvc" "group = imcwriters" "pickup_rescan = 1s"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null
for i in 1 2 3; do
	drop "full$i.eml" "From: a@example.com\r\nTo: bob@example.com\r\nSubject: full $i\r\n\r\n$(head -c 20000 /dev/zero | tr '\0' 'y')\r\n"
done
dd if=/dev/zero of="$ROOT/filler" bs=64k 2>/dev/null
start_daemon || not_ok "daemon starts on a full disk"
wait_for 10 grep -q 'kept in Work' "$T/daemon.log"
check "full: files are held in Work with a reason" grep -q 'kept in Work, tried again' "$T/daemon.log"
check "full: nothing stored yet" mailbox_has example.com bob 0
rm -f "$ROOT/filler"
wait_for 30 mailbox_has example.com bob 3
check "full: all three stored once space returned, without a restart" mailbox_has example.com bob 3
# the Work files go after the barrier that follows the store links: the
# next batch's, or one of its own within 20 ms (batch.h, the tail)
work_empty() { [ "$(count_files "$ROOT/Work")" = 0 ]; }
wait_for 10 work_empty
check "full: Work empty" work_empty
# Out/ removed while running: made again, the held file queued
rm -rf "$ROOT/Out"
drop away.eml 'From: a@example.com\r\nTo: x@remote.test\r\nSubject: out gone\r\n\r\nx\r\n'
out_back() { [ "$(out_count)" -ge 1 ]; }
wait_for 20 out_back
check "Out removed: made again and the message queued" out_back
check "Out removed: said so" grep -q 'Out was removed while the connector ran' "$T/daemon.log"
stop_daemon
umount "$ROOT"

finish
