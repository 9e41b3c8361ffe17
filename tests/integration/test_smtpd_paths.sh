#!/usr/bin/env bash
# test_smtpd_paths.sh - two listener paths no client normally reaches
# (issue 10):
#
# 1. Barrier 1 of a batch fails (syncfs reports an error; the shim
#    tests/integration/failsyncfs.c makes the first syncfs after an arm
#    file appears fail once). Every session whose final dot is in that
#    batch gets "451 4.3.0" and its Work file is forgotten (batch_forget):
#    not held for a retry, not redone at the next start, never delivered.
#    Four sessions are put in one batch by stopping the daemon (SIGSTOP)
#    while their final dots arrive.
# 2. A listener message the reader refuses (pickup_read says MAIL_PERM:
#    here a Work file whose envelope block was damaged while the message
#    was still arriving): it goes to Pickup/Archive with its reason, the
#    client hears "554 5.6.0 ... (QID)", nothing is queued, and the session
#    goes on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"

SHIM=${IMC_FAILSYNCFS:-$IMC_BIN/../tests/libfailsyncfs.so}
[ -f "$SHIM" ] || skip_all "no $SHIM (built with the tests: cmake --build)"
BATCH=$IMC_SRC/tests/integration/smtpd_batch_client.py
PROBE=$IMC_SRC/tests/integration/smtpd_probe.py
P=$(free_port)
write_conf "listen = 127.0.0.1:$P" "smtpd_greet_pause = 0s" "retry_schedule = 1h"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null || abort_test "imc-layout create"

# nothing of the batch anywhere in the queue or the store
batch_gone() {
	local k
	for k in 0 1 2 3; do
		[ "$(mailbox_count example.com "batch$k")" = 0 ] || return 1
	done
	[ "$(count_files "$ROOT/Work")" = 0 ] &&
		[ "$(count_files "$ROOT/In")" = 0 ] &&
		[ "$(count_files "$ROOT/Out")" = 0 ]
}

# --- 1. a failed barrier 1: 451 to the whole batch, nothing delivered
ARM=$T/failsyncfs.arm
FAILSYNCFS_ARM=$ARM FAILSYNCFS_COUNT=1 LD_PRELOAD=$SHIM \
	ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" \
	start_daemon || abort_test "daemon starts"
# the shim is in place and syncfs still works before the arm file
printf 'EHLO before.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<before@example.com>\r\nDATA\r\nSubject: before\r\n\r\nbefore\r\n.\r\nQUIT\r\n' |
	$PY "$PROBE" 127.0.0.1 "$P" >"$T/before.log" 2>&1
check "before: 250 while syncfs works" grep -q '^250 2.0.0 Ok: queued as' "$T/before.log"
wait_for 5 mailbox_has example.com before 1
check "before: delivered" mailbox_has example.com before 1
# its Work file goes after the barrier that follows the store link (the
# next batch's, or its own within 20 ms): that barrier must not be the
# one the shim fails
work_empty() { [ "$(count_files "$ROOT/Work")" = 0 ]; }
wait_for 5 work_empty
check "before: its Work file gone (the store link's barrier passed)" work_empty
touch "$ARM"
$PY "$BATCH" 127.0.0.1 "$P" "$DAEMON_SIG_PID" 4 >"$T/batch.log" 2>&1
cat "$T/batch.log" | sed 's/^/# /'
check "four sessions, four replies" test "$(grep -c '^[0-3]: ' "$T/batch.log")" = 4
check "every session of the batch hears 451 4.3.0" \
	test "$(grep -c '^[0-3]: 451 4.3.0 ' "$T/batch.log")" = 4
check "no session hears 250" lacks ' 250 ' "$(cat "$T/batch.log")"
check "the daemon logged the failed syncfs" grep -q 'syncfs' "$T/daemon.log"
check "Work/ empty at once: every Work file forgotten" test "$(count_files "$ROOT/Work")" = 0
# a held Work file would be tried again after 1 s, then 2 s
sleep 3.5
check "3.5 s later: nothing of the batch in Work/, In/, Out/ or the store" batch_gone
check "the tracking log has no delivery to the batch" \
	lacks 'event=delivered .*to=<batch[0-3]@example.com>' "$(tracklog)"
check "the daemon does not retry a held file" lacks 'trying the held Work file again' "$(cat "$T/daemon.log")"
check "the tracking log's last word on each: refused 4.3.0, not kept" \
	test "$(tracklog | grep -c 'event=refused .*status=tempfail dsn=4.3.0 .*not kept')" = 4
stop_daemon
# the next start redoes Work files: there must be none of the batch
start_daemon || abort_test "daemon restarts"
sleep 1
check "after a restart: still nothing of the batch" batch_gone
# the listener works again (the shim failed one call only)
printf 'EHLO after.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<after@example.com>\r\nDATA\r\nSubject: after\r\n\r\nafter\r\n.\r\nQUIT\r\n' |
	$PY "$PROBE" 127.0.0.1 "$P" >"$T/after.log" 2>&1
check "after: 250" grep -q '^250 2.0.0 Ok: queued as' "$T/after.log"
wait_for 5 mailbox_has example.com after 1
check "after: delivered" mailbox_has example.com after 1

# --- 2. a message the reader refuses: 554, Pickup/Archive, nothing queued
# The envelope block is written with the first 64 KB of the message; the
# client then waits until the temp file has it, the test damages one key
# of it in place ("sender" -> "sendxr": only the connector writes that
# block, so the reader takes it as a damaged file), and the client sends
# the rest and the final dot, then a second message in the same session.
$PY - 127.0.0.1 "$P" "$ROOT/Work" >"$T/refused.log" 2>&1 <<'PYEOF'
import glob, os, socket, sys, time
host, port, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, port), timeout=10)
def reply():
    got = b""
    while True:
        lines = got.split(b"\r\n")
        if len(lines) > 1 and any(l[3:4] == b" " for l in lines[:-1]):
            return got.decode().strip()
        b = s.recv(65536)
        if not b:
            return got.decode() + "[closed]"
        got += b
reply()
for c in (b"EHLO refused.test", b"MAIL FROM:<a@remote.test>",
          b"RCPT TO:<refused@example.com>", b"DATA"):
    s.sendall(c + b"\r\n")
    print(reply())
s.sendall(b"Subject: refused\r\n\r\n" + (b"x" * 70 + b"\r\n") * 1000)
tmp = None
for i in range(200):
    tmp = [f for f in glob.glob(work + "/.*.smtp.tmp") if os.path.getsize(f) > 0]
    if tmp:
        break
    time.sleep(0.05)
if not tmp:
    print("no temp file with the envelope written")
    sys.exit(1)
with open(tmp[0], "r+b") as f:
    head = f.read(4096)
    at = head.find(b"\nsender ")
    print("envelope key at", at)
    f.seek(at + 1)
    f.write(b"sendxr")
s.sendall(b"last line\r\n.\r\n")
print(reply())
for c in (b"MAIL FROM:<a@remote.test>", b"RCPT TO:<second@example.com>",
          b"DATA", b"Subject: second\r\n\r\nsecond\r\n.", b"QUIT"):
    s.sendall(c + b"\r\n")
    print(reply())
PYEOF
sed 's/^/# /' "$T/refused.log"
check "the damaged message: 554 5.6.0 naming the queue id" \
	grep -q '^554 5.6.0 Error: message refused ([0-9A-Z]\{16\})' "$T/refused.log"
QID=$(sed -n 's/^554 5.6.0 Error: message refused (\([0-9A-Z]\{16\}\)).*/\1/p' "$T/refused.log")
check "it is in Pickup/Archive" test -f "$ROOT/Pickup/Archive/$QID.eml"
check "with the reader's reason" grep -q '^reason: damaged listener envelope' "$ROOT/Pickup/Archive/$QID.reason"
check "the archived file is the whole message" grep -q '^last line' "$ROOT/Pickup/Archive/$QID.eml"
check "tracking log: archived" has "event=archived .*$QID" "$(tracklog)"
check "the same session goes on: the next message gets 250" \
	grep -q '^250 2.0.0 Ok: queued as' "$T/refused.log"
wait_for 5 mailbox_has example.com second 1
check "the next message is delivered" mailbox_has example.com second 1
check "the refused one is not" mailbox_has example.com refused 0
check "nothing of it left in Work/, In/ or Out/" \
	test "$(find "$ROOT/Work" "$ROOT/In" "$ROOT/Out" -name "*$QID*" | wc -l)" = 0
stop_daemon
finish
