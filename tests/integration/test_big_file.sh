#!/usr/bin/env bash
# Big files: a 200 MB message (base64 lines of 76 characters, CRLF) is
# delivered with its body intact (in the Maildir store's LF line ends) while the connector's peak RSS stays under
# 32 MB (not checked under AddressSanitizer, whose shadow memory and
# quarantine make RSS meaningless); a file over max_message_size goes to
# Pickup/Archive with a reason naming the limit and the original file name.
#
# Peak RSS comes from /usr/bin/time -f %M around a --once pass; without
# /usr/bin/time (or with IMC_RSS_PROBE=proc) a daemon delivers the file and
# its VmHWM in /proc/PID/status is read before it is stopped.
. "$(dirname "$0")/lib.sh"

RSS_LIMIT_KB=32768
RAW_BYTES=150000000	# base64: 200,000,000 characters, ~205 MB with CRLF

# Run a copy of the programs: the build folder may be rebuilt while this
# test runs, and an exec of a half-linked file is not the connector's fault.
mkdir "$T/bin" && cp "$IMC_BIN/imc-connector" "$IMC_BIN/imc-layout" "$T/bin/" ||
    { not_ok "copy the programs from $IMC_BIN"; finish; exit 1; }
IMC_BIN=$T/bin

ASAN=0
if ldd "$IMC_BIN/imc-connector" 2>/dev/null | grep -q libasan ||
    nm "$IMC_BIN/imc-connector" 2>/dev/null | grep -q '__asan_init'; then
	ASAN=1
	echo "# AddressSanitizer build detected"
fi

write_conf "max_message_size = 300M"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null || { not_ok "create"; finish; exit 1; }
P=$ROOT/Pickup
mkdir "$T/src"

# 1. The 200 MB message. The body is made apart so its checksum is known.
t0=$SECONDS
head -c "$RAW_BYTES" /dev/urandom | base64 -w 76 | sed 's/$/\r/' > "$T/src/body"
BODY_SIZE=$(stat -c %s "$T/src/body")
# what the store keeps: the same lines ending in LF
BODY_LINES=$(wc -l < "$T/src/body")
STORE_BODY_SIZE=$((BODY_SIZE - BODY_LINES))
STORE_BODY_SUM=$(tr -d '\r' < "$T/src/body" | sha256sum | cut -d' ' -f1)
{
	printf 'X-Sender: big-sender@example.net\r\nX-Receiver: <big@example.com>\r\n'
	printf 'From: Big Sender <big-sender@example.net>\r\nTo: big@example.com\r\n'
	printf 'Subject: a 200 MB message\r\nMessage-ID: <big.1@test.example>\r\n'
	printf 'MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n'
	printf 'Content-Transfer-Encoding: base64\r\n\r\n'
	cat "$T/src/body"
} > "$T/src/.big.eml.tmp"
BIG_SIZE=$(stat -c %s "$T/src/.big.eml.tmp")
echo "# generated $BIG_SIZE bytes (body $BODY_SIZE) in $((SECONDS - t0)) s"
check "source message is over 200 MB and under the 300M limit" \
    test "$BIG_SIZE" -gt 200000000 -a "$BIG_SIZE" -lt 314572800
# Publish atomically: .big.eml.tmp in Pickup, then rename.
mv "$T/src/.big.eml.tmp" "$P/.big.eml.tmp" && mv "$P/.big.eml.tmp" "$P/big.eml"
check "big.eml published" test -f "$P/big.eml"

t0=$SECONDS
RSS=
PROBE=${IMC_RSS_PROBE:-time}
if [ "$PROBE" = time ] && ! /usr/bin/time -f %M true >/dev/null 2>&1; then
	echo "# /usr/bin/time missing or not GNU time: reading VmHWM of a daemon"
	PROBE=proc
fi
if [ "$PROBE" = time ]; then
	echo "# peak RSS by /usr/bin/time -f %M around --once"
	WRAP=(/usr/bin/time -f %M -o "$T/rss")
	CONNECTOR_TIMEOUT=300 run_once
	check "--once exits 0 (rc $RC)" test "$RC" = 0
	WRAP=()
	RSS=$(tail -1 "$T/rss" 2>/dev/null)
else
	echo "# peak RSS by VmHWM of the daemon"
	start_daemon
	hwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$DAEMON_PID/status" 2>/dev/null; }
	delivered() { # the store has it and the queue is done with it
		local h
		h=$(hwm); [ -n "$h" ] && { [ -z "$RSS" ] || [ "$h" -gt "$RSS" ]; } && RSS=$h
		[ "$(mailbox_count example.com big)" = 1 ] && [ "$(count_files "$ROOT/In")" = 0 ] &&
		    [ "$(count_files "$ROOT/Work")" = 0 ] && [ ! -e "$P/big.eml" ]
	}
	wait_for 240 delivered
	check "daemon delivered the big file" test $? = 0
	h=$(hwm); [ -n "$h" ] && { [ -z "$RSS" ] || [ "$h" -gt "$RSS" ]; } && RSS=$h
	check "daemon still running before it is stopped" kill -0 "$DAEMON_PID"
	stop_daemon
fi
echo "# big file handled in $((SECONDS - t0)) s; peak RSS ${RSS:-unknown} KB"
check "peak RSS was measured" test -n "$RSS"
case $RSS in *[!0-9]*|'') RSS=999999999 ;; esac
if [ "$ASAN" = 1 ]; then
	echo "# skipped under AddressSanitizer: peak RSS under $RSS_LIMIT_KB KB (measured $RSS KB)"
else
	check "peak RSS $RSS KB is under $RSS_LIMIT_KB KB" test "$RSS" -lt "$RSS_LIMIT_KB"
fi

big=$(mailbox_one example.com big)
check "big message delivered once" test -n "$big"
if [ -n "$big" ]; then
	# The body starts after the first empty line (LF, as the store
	# writes: a line of nothing, and no CR anywhere).
	off=$(grep -a -b -m1 -x '' "$big" | cut -d: -f1)
	check "delivered file has a header/body separator" test -n "$off"
	off=${off:-0}
	GOT_SIZE=$(( $(stat -c %s "$big") - off - 1 ))
	GOT_SUM=$(tail -c +"$((off + 2))" "$big" | sha256sum | cut -d' ' -f1)
	check "delivered body size $GOT_SIZE = source body size in LF $STORE_BODY_SIZE" test "$GOT_SIZE" = "$STORE_BODY_SIZE"
	check "delivered body checksum matches the source body (LF)" test "$GOT_SUM" = "$STORE_BODY_SUM"
	check "delivered header kept" grep -a -m1 -q '^Subject: a 200 MB message$' "$big"
	check "no CR in the delivered file" test "$(grep -a -c $'\r' "$big")" = 0
	check "delivered file has the Return-Path" grep -a -m1 -q '^Return-Path: <big-sender@example.net>' "$big"
fi
check "Pickup holds no message files" test -z "$(find "$P" -maxdepth 1 ! -type d)"
check "Pickup/Archive empty after the big file" test "$(count_files "$P/Archive")" = 0
check "Work/ and In/ empty" test "$(count_files "$ROOT/Work")$(count_files "$ROOT/In")" = 00
check "log: big file picked up and delivered" \
    grep -q 'event=delivered .*to=<big@example.com>.*status=sent' "$ROOT"/Log/*.log
# The large files go now, not at exit: the store copy, its queue twin (a
# hard link, gone with In/) and the source.
rm -rf "$T/src" "$ROOT/Store/example.com/big" "$ROOT"/In/Archive/* 2>/dev/null

# 2. Over max_message_size: archived with its reason, not delivered.
write_conf "max_message_size = 1M"
mkdir "$T/src"
{
	printf 'X-Sender: over-sender@example.net\r\nX-Receiver: over@example.com\r\n'
	printf 'Subject: two megabytes\r\n\r\n'
	head -c 1500000 /dev/urandom | base64 -w 76 | sed 's/$/\r/'
} > "$T/src/over.eml"
OVER_SIZE=$(stat -c %s "$T/src/over.eml")
check "over.eml is over 1M ($OVER_SIZE bytes)" test "$OVER_SIZE" -gt 1048576
cp "$T/src/over.eml" "$P/.over.eml.tmp" && mv "$P/.over.eml.tmp" "$P/over.eml"
check "--once with an oversize file exits 0" run_once

check "over.eml left Pickup" test ! -e "$P/over.eml"
check "over.eml not delivered" test "$(mailbox_count example.com over)" = 0
check "one file and one reason in Pickup/Archive" \
    test "$(find "$P/Archive" -maxdepth 1 -name '*.eml' | wc -l)/$(find "$P/Archive" -maxdepth 1 -name '*.reason' | wc -l)" = 1/1
reason=$(find "$P/Archive" -maxdepth 1 -name '*.reason' | head -1)
qid=$(basename "${reason:-none}" .reason)
check "archived as <qid>.eml with <qid>.reason" test -f "$P/Archive/$qid.eml"
check "reason names max_message_size" grep -q '^reason: .*max_message_size' "$reason"
check "reason names the original file" grep -q '^original-name: over.eml' "$reason"
check "reason carries the queue id" grep -q "^queue-id: $qid" "$reason"
check "archived content is the file as written" cmp -s "$T/src/over.eml" "$P/Archive/$qid.eml"
check "log: archived event for $qid" grep -q "event=archived qid=$qid" "$ROOT"/Log/*.log
check "Work/ and In/ empty after the oversize file" test "$(count_files "$ROOT/Work")$(count_files "$ROOT/In")" = 00
[ -n "$reason" ] && sed 's/^/# /' "$reason" | tr -d '\r'
grep -h 'event=archived' "$ROOT"/Log/*.log | sed 's/^/# /'

rm -rf "$T/src" "$P/Archive/$qid.eml" 2>/dev/null
finish
