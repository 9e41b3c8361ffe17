#!/usr/bin/env bash
# store = drop: the IIS-style Drop folder.
# 1. imc-layout makes Drop/ for drop_group (2770, set-group-ID) and lets
#    that group pass the root.
# 2. While the daemon takes 120 large messages, a reader in drop_group
#    polls Drop/ and reads every file the moment it sees its name: it must
#    never find one that is not whole (its last line is the message's end
#    marker). Each file starts with the x-lines, is 0640 with group
#    drop_group: the reader may read it, another user may not.
# 3. A crash after a Drop file is published and before the queue knows
#    (SIGKILL at the syncfs that would make it durable, strace's fault
#    injection): the next run finds its own file and writes no second one.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (runs the reader as another user)"
for u in imcwriter imcother; do
	getent passwd "$u" >/dev/null || skip_all "needs the $u account (tools/install-deps.sh)"
done
getent group imcwriters >/dev/null || skip_all "needs the imcwriters group"
need strace

# The writers' group is the service user's own; the Drop readers are
# imcwriters, so the root must let them pass.
write_conf "store = drop" "drop_group = imcwriters" "pickup_settle = 0s"
check "imc-layout create" "$IMC_BIN/imc-layout" -c "$CONF" create
check "Drop/ is 2770 imcsvc:imcwriters" test "$(stat -c '%a %U:%G' "$ROOT/Drop")" = "2770 imcsvc:imcwriters"
check "the root lets the Drop readers pass (0711)" test "$(stat -c '%a' "$ROOT")" = 711
check "imc-layout check finds nothing" "$IMC_BIN/imc-layout" -c "$CONF" check
chmod 0710 "$ROOT"
out=$("$IMC_BIN/imc-layout" -c "$CONF" check 2>&1)
check "imc-layout check reports the root's mode" has "root: mode 0710, want 0711" "$out"
check "imc-layout fix repairs it" "$IMC_BIN/imc-layout" -c "$CONF" fix
check "the root is 0711 again" test "$(stat -c '%a' "$ROOT")" = 711

# 2. The reader: lists Drop/ as fast as it can and reads each new .eml
# once, bounded by time; prints "seen N partial M" and the partial names.
N=120
cat > "$T/reader.py" <<'EOF'
import os, sys, time
folder, want, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
seen, partial, end = set(), [], time.monotonic() + secs
while len(seen) < want and time.monotonic() < end:
    for name in os.listdir(folder):
        if name in seen or not name.endswith(".eml") or name.startswith("."):
            continue
        seen.add(name)
        with open(os.path.join(folder, name), "rb") as f:
            data = f.read()
        if not (data.startswith(b"x-sender: ") and data.endswith(b"\r\nEND-OF-MESSAGE\r\n")):
            partial.append("%s (%d bytes)" % (name, len(data)))
print("seen %d partial %d" % (len(seen), len(partial)))
for p in partial:
    print("partial: " + p)
EOF
runuser -u imcwriter -- /usr/bin/python3 "$T/reader.py" "$ROOT/Drop" "$N" 60 > "$T/reader.out" 2>&1 &
READER=$!
start_daemon || abort_test "the rest needs the daemon"
printf -v line 'filler %0100d\\r\\n' 0
big=
for i in $(seq 1 3000); do big=$big$line; done	# ~330 KB
for i in $(seq 1 "$N"); do
	to="bob$((i % 3))@example.com"
	[ $((i % 10)) = 0 ] && to="$to, carol@example.org"
	drop "m$i.eml" "From: app@example.net\r\nTo: $to\r\nSubject: drop $i\r\n\r\n$big""END-OF-MESSAGE\r\n"
done
drop_count() { find "$ROOT/Drop" -maxdepth 1 -name '*.eml' -type f | wc -l; }
drops_are() { [ "$(drop_count)" = "$1" ]; }
check "every message reached Drop/ ($N files)" wait_for 60 drops_are "$N"
for i in $(seq 1 1200); do kill -0 "$READER" 2>/dev/null || break; sleep 0.05; done
kill "$READER" 2>/dev/null
wait "$READER"
check "the reader saw all $N files" grep -qx "seen $N partial 0" "$T/reader.out"
check "the reader never saw a partial file" test -z "$(grep '^partial' "$T/reader.out")"
[ -z "$(grep '^partial' "$T/reader.out")" ] || head -5 "$T/reader.out" | sed 's/^/#   /'
stop_daemon
check "no temp names left in Drop/" test -z "$(find "$ROOT/Drop" -mindepth 1 ! -name '*.eml')"
check "In/ and Work/ are empty" test "$(count_files "$ROOT/In")$(count_files "$ROOT/Work")" = 00
check "nothing in the built-in store" test -z "$(find "$ROOT/Store" -type f)"
f=$(grep -l '^Subject: drop 10' "$ROOT"/Drop/*.eml | head -1)
check "the message to two recipients is one file" test -n "$f"
check "it starts with the x-lines, lower case, one per recipient" \
	test "$(head -c 200 "$f" | tr -d '\r' | head -3)" = "$(printf 'x-sender: app@example.net\nx-receiver: bob1@example.com\nx-receiver: carol@example.org')"
check "its lines end in CRLF" test "$(grep -c $'\r$' "$f")" = "$(wc -l < "$f")"
check "no Return-Path in it" test -z "$(grep -i '^return-path' "$f")"
modes=$(stat -c '%a %U:%G' "$ROOT"/Drop/*.eml | sort -u)
check "every file is 0640 imcsvc:imcwriters ($modes)" test "$modes" = "640 imcsvc:imcwriters"
check "the drop_group member can read a file" bash -c 'runuser -u imcwriter -- head -c 10 "$1" >/dev/null' _ "$f"
check "another user cannot" bash -c '! runuser -u imcother -- head -c 10 "$1" 2>/dev/null' _ "$f"
check "the tracking log has a delivered line with relay=drop per recipient" \
	test "$(grep -h 'event=delivered' "$ROOT"/Log/[0-9]*.log | grep -c 'relay=drop')" = $((N + N / 10))

# 3. The crash: the second syncfs of the batch (after the store handoff)
# kills the connector; the Drop file is there, the Work file too.
rm -f "$ROOT"/Drop/*.eml
drop crash.eml 'From: app@example.net\r\nTo: dave@example.com\r\nSubject: crash\r\n\r\nEND-OF-MESSAGE\r\n'
WRAP=(strace -f -qq -o /dev/null -e trace=syncfs -e inject=syncfs:signal=SIGKILL:when=2)
connector crash.log -c "$CONF" --once
WRAP=()
check "the connector was killed at the second syncfs (exit $RC)" test "$RC" = 137
check "the Drop file was published before the crash" test "$(drop_count)" = 1
check "its Work file is still there" test "$(count_files "$ROOT/Work")" = 1
before=$(cat "$ROOT"/Drop/*.eml)
run_once
check "after the redo: still one Drop file" test "$(drop_count)" = 1
check "the same file" test "$(cat "$ROOT"/Drop/*.eml)" = "$before"
check "Work/ and In/ are empty" test "$(count_files "$ROOT/Work")$(count_files "$ROOT/In")" = 00
finish
