#!/usr/bin/env bash
# test_smtpd_bdat.sh - CHUNKING / BDAT (RFC 3030) at the listener, with a
# raw socket client (smtpd_probe.py; swaks and smtplib have no BDAT):
# CHUNKING offered (BINARYMIME not); a chunked message stored byte for
# byte (no dot-unstuffing, a "." line is no end, NUL and 8-bit bytes
# kept), bare CR/LF made CRLF as in DATA also when a CRLF is split between
# chunks, a last line without its line end ended; pipelined chunks and
# transactions; a zero-length LAST; BDAT before MAIL/RCPT refused with the
# chunk read and dropped (its bytes are never commands); DATA after BDAT
# refused (503) and the transaction dropped; max_message_size at each
# chunk; RSET between chunks; a BDAT syntax error closes; a client that
# vanishes mid-chunk leaves nothing; and the LAST chunk's 250 waits for
# the batch's barrier like DATA's (a failed syncfs: 451, nothing stored).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"
PROBE=$IMC_SRC/tests/integration/smtpd_probe.py
SHIM=${IMC_FAILSYNCFS:-$IMC_BIN/../tests/libfailsyncfs.so}
[ -f "$SHIM" ] || skip_all "no $SHIM (built with the tests: cmake --build)"
P=$(free_port)
write_conf "listen = 127.0.0.1:$P" "smtpd_greet_pause = 0s" \
	"max_message_size = 100K" "smtpd_max_errors = 50" "retry_schedule = 1h" \
	"relay_domains = partner.test"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null || abort_test "imc-layout create"
ARM=$T/failsyncfs.arm
FAILSYNCFS_ARM=$ARM FAILSYNCFS_COUNT=1 LD_PRELOAD=$SHIM \
	ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" \
	start_daemon || abort_test "daemon starts"

# send NAME PYEXPR - the bytes of the Python expression PYEXPR, pipelined
# in one go to the listener; the transcript in $T/NAME.log
send() {
	$PY -c "import sys; sys.stdout.buffer.write($2)" |
		$PY "$PROBE" 127.0.0.1 "$P" --timeout 3 >"$T/$1.log" 2>&1
}
# chunk PYBYTES [" LAST"] - a BDAT command and its chunk, as a Python
# expression (PYBYTES a Python bytes expression)
H="b'EHLO bdat.test\\r\\nMAIL FROM:<a@remote.test>\\r\\n'"
rcpt() { echo "b'RCPT TO:<$1@example.com>\\r\\n'"; }
chunk() { echo "(lambda c: b'BDAT %d${2:-}\\r\\n' % len(c) + c)($1)"; }
msg() { cat "$(mailbox_one example.com "$1")"; }
no_tmp() { [ -z "$(ls -A "$ROOT/Work")" ]; }

# --- EHLO
send ehlo "b'EHLO x\\r\\nQUIT\\r\\n'"
check "EHLO offers CHUNKING" grep -q '^250-CHUNKING' "$T/ehlo.log"
check "EHLO does not offer BINARYMIME" lacks 'BINARYMIME' "$(cat "$T/ehlo.log")"

# --- one message in three pipelined chunks, split inside a CRLF; a "."
# line, a ".." line, a NUL, 8-bit text and a bare LF; the LAST chunk
# ends without a line end
send three "$H + $(rcpt three) + b'RCPT TO:<three@partner.test>\\r\\n' + $(chunk "b'Subject: three\\r\\n\\r\\nline1\\r'") + $(chunk "b'\\n.\\r\\n..\\r\\nnul\\x00here caf\\xc3\\xa9\\nbare lf\\r\\n'") + $(chunk "b'no end'" " LAST") + b'QUIT\\r\\n'"
sed 's/^/# /' "$T/three.log"
check "chunk 1: 250 with the octets so far" grep -q '^250 2.0.0 24 octets received' "$T/three.log"
check "chunk 2: 250" grep -q '^250 2.0.0 56 octets received' "$T/three.log"
check "LAST: 250 queued" grep -q '^250 2.0.0 Ok: queued as [0-9A-Z]\{16\}' "$T/three.log"
wait_for 5 mailbox_has example.com three 1
check "delivered" mailbox_has example.com three 1
F=$(mailbox_one example.com three)
# the body as queued for the remote copy (Out/ keeps CRLF; the store
# writes LF line ends), after the header the connector adds
OQ=$(entry_qids "$ROOT/Out" | head -1)
$PY - "$ROOT/Out/$OQ.eml" "$F" >"$T/three.body" <<'PYEOF'
import sys
for f, eol in ((sys.argv[1], b"\r\n"), (sys.argv[2], b"\n")):
    b = open(f, "rb").read()
    print(repr(b[b.index(eol + eol) + 2 * len(eol):]))
PYEOF
cat "$T/three.body" | sed 's/^/# /'
check "Out/: the body byte for byte: dots kept, NUL and 8-bit kept, CRLF whole, bare LF made CRLF, last line ended" \
	test "$(sed -n 1p "$T/three.body")" = "b'line1\\r\\n.\\r\\n..\\r\\nnul\\x00here caf\\xc3\\xa9\\r\\nbare lf\\r\\nno end\\r\\n'"
check "the store: the same lines" \
	test "$(sed -n 2p "$T/three.body")" = "b'line1\\n.\\n..\\nnul\\x00here caf\\xc3\\xa9\\nbare lf\\nno end\\n'"
check "Received: with ESMTP" grep -q 'with ESMTP id' "$F"
check "the Subject" grep -q '^Subject: three' "$F"

# --- a zero-length LAST after a chunk; then a DATA transaction and a
# BDAT-only empty message in the same pipelined session
send zero "$H + $(rcpt zero) + $(chunk "b'Subject: zero\\r\\n\\r\\nz\\r\\n'") + $(chunk "b''" " LAST") + b'MAIL FROM:<a@remote.test>\\r\\n' + $(rcpt viadata) + b'DATA\\r\\nSubject: d\\r\\n\\r\\nd\\r\\n.\\r\\n' + b'MAIL FROM:<a@remote.test>\\r\\n' + $(rcpt empty) + $(chunk "b''" " LAST") + b'QUIT\\r\\n'"
check "zero-length LAST: three messages queued in one pipelined session" \
	test "$(grep -c '^250 2.0.0 Ok: queued as' "$T/zero.log")" = 3
wait_for 5 mailbox_has example.com empty 1
check "zero-length LAST: delivered" mailbox_has example.com zero 1
check "DATA after a BDAT message: delivered" mailbox_has example.com viadata 1
check "an empty BDAT message: delivered" mailbox_has example.com empty 1

# --- BDAT before MAIL: refused, and the chunk's bytes are no commands
SMUG="b'MAIL FROM:<evil@remote.test>\\r\\nRCPT TO:<smuggled@example.com>\\r\\nDATA\\r\\nSubject: smuggled\\r\\n\\r\\nx\\r\\n.\\r\\n'"
send nomail "b'EHLO x\\r\\n' + $(chunk "$SMUG" " LAST") + b'NOOP\\r\\nQUIT\\r\\n'"
sed 's/^/# /' "$T/nomail.log"
check "BDAT before MAIL: 503 5.5.1" grep -q '^503 5.5.1 ' "$T/nomail.log"
check "BDAT before MAIL: the chunk's MAIL/RCPT/DATA never answered" \
	lacks '^250 2.1.\|^354' "$(cat "$T/nomail.log")"
check "BDAT before MAIL: the next command is answered (NOOP 250, QUIT 221)" \
	grep -q '^221 ' "$T/nomail.log"
# the same before RCPT: 554 no valid recipients, the chunk dropped
send norcpt "$H + b'RCPT TO:<x@remote.test>\\r\\n' + $(chunk "$SMUG" " LAST") + b'NOOP\\r\\nQUIT\\r\\n'"
check "BDAT without a recipient: 554 5.5.1" grep -q '^554 5.5.1 Error: no valid recipients' "$T/norcpt.log"
check "BDAT without a recipient: the chunk's commands never answered" \
	sh -c "[ \"\$(grep -c '^250 2.1.0' '$T/norcpt.log')\" = 1 ] && ! grep -q '^250 2.1.5\|^354' '$T/norcpt.log'"
sleep 0.5
check "nothing smuggled was delivered" test ! -e "$ROOT/Store/example.com/smuggled"

# --- DATA after BDAT: 503, the transaction dropped
send mixed "$H + $(rcpt mixed) + $(chunk "b'Subject: m\\r\\n\\r\\n'") + b'DATA\\r\\n' + $(chunk "b'x\\r\\n'" " LAST") + b'QUIT\\r\\n'"
sed 's/^/# /' "$T/mixed.log"
check "DATA after BDAT: 503" grep -q '^503 5.5.1 Error: DATA after BDAT' "$T/mixed.log"
check "DATA after BDAT: no 354" lacks '^354' "$(cat "$T/mixed.log")"
check "DATA after BDAT: the transaction is gone (the next BDAT: 503)" \
	test "$(grep -c '^503 ' "$T/mixed.log")" = 2
check "DATA after BDAT: no temp file left" no_tmp

# --- max_message_size (100K) at each chunk
big="b'x' * 70000"
send size "$H + $(rcpt big) + $(chunk "$big") + $(chunk "$big") + $(chunk "b'end\\r\\n'" " LAST") + b'NOOP\\r\\nQUIT\\r\\n'"
sed 's/^/# /' "$T/size.log"
check "size: the first chunk within the limit: 250" grep -q '^250 2.0.0 70000 octets received' "$T/size.log"
check "size: the chunk past the limit: 552 5.3.4" grep -q '^552 5.3.4 ' "$T/size.log"
check "size: the LAST after it: 503 (the transaction was dropped)" grep -q '^503 5.5.1 ' "$T/size.log"
check "size: the session goes on" grep -q '^221 ' "$T/size.log"
send size1 "$H + $(rcpt big) + $(chunk "b'y' * 200000" " LAST") + b'QUIT\\r\\n'"
check "size: one chunk larger than the limit: 552, its bytes read and dropped" \
	grep -q '^552 5.3.4 ' "$T/size1.log"
check "size: ... and QUIT after it answered" grep -q '^221 ' "$T/size1.log"
# bare LFs made CRLF count against the limit too
send size2 "$H + $(rcpt big) + $(chunk "b'\\n' * 60000" " LAST") + b'QUIT\\r\\n'"
check "size: bare LFs grown to CRLF past the limit: 552" grep -q '^552 5.3.4 ' "$T/size2.log"
sleep 0.3
check "size: nothing delivered" test ! -e "$ROOT/Store/example.com/big"
check "size: no temp file left" no_tmp

# --- RSET between chunks drops the message
send rset "$H + $(rcpt rset) + $(chunk "b'Subject: r\\r\\n\\r\\n'") + b'RSET\\r\\n' + $(chunk "b'x\\r\\n'" " LAST") + b'QUIT\\r\\n'"
check "RSET between chunks: 250, then BDAT 503" grep -q '^503 5.5.1 ' "$T/rset.log"
check "RSET between chunks: no temp file left" no_tmp
sleep 0.3
check "RSET between chunks: nothing delivered" test ! -e "$ROOT/Store/example.com/rset"

# --- a BDAT syntax error: the chunk's end is unknown, the session ends
send syntax "$H + $(rcpt syn) + b'BDAT 12x LAST\\r\\nRCPT TO:<syn2@example.com>\\r\\nQUIT\\r\\n'"
check "BDAT syntax error: 501 5.5.4" grep -q '^501 5.5.4 ' "$T/syntax.log"
check "BDAT syntax error: the connection closes, nothing after it answered" \
	sh -c "grep -q '^\\[closed\\]' '$T/syntax.log' && ! grep -q '^221' '$T/syntax.log'"

# --- a client that vanishes mid-chunk: nothing left behind
$PY - 127.0.0.1 "$P" "$ROOT/Work" >"$T/vanish.log" 2>&1 <<'PYEOF'
import glob, os, socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.recv(1000)
s.sendall(b"EHLO v\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<vanish@example.com>\r\n"
          b"BDAT 90000 LAST\r\n" + b"Subject: v\r\n\r\n" + b"v" * 70000)
for i in range(200):
    if glob.glob(sys.argv[3] + "/.*.smtp.tmp"):
        print("temp file seen")
        break
    time.sleep(0.05)
s.close()
PYEOF
check "vanish: the message was being written (temp file seen)" grep -q 'temp file seen' "$T/vanish.log"
wait_for 5 no_tmp
check "vanish: no Work file left" no_tmp
check "vanish: nothing delivered" test ! -e "$ROOT/Store/example.com/vanish"

# --- the LAST chunk's 250 waits for the batch's barrier: a failed syncfs
# gives 451 and nothing is stored. First the barrier after the earlier
# store links must have passed (their Work files go after it), or the
# shim would fail that one instead.
work_empty() { [ -z "$(ls -A "$ROOT/Work")" ]; }
wait_for 5 work_empty
check "earlier messages' Work files gone before the shim is armed" work_empty
touch "$ARM"
send durable "$H + $(rcpt durable) + $(chunk "b'Subject: d\\r\\n\\r\\nd\\r\\n'" " LAST") + b'QUIT\\r\\n'"
check "failed barrier: the LAST chunk hears 451 4.3.0" grep -q '^451 4.3.0 ' "$T/durable.log"
check "failed barrier: no 250 queued" lacks 'queued as' "$(cat "$T/durable.log")"
sleep 1.5
check "failed barrier: nothing delivered, nothing in Work" \
	sh -c "[ ! -e '$ROOT/Store/example.com/durable' ] && [ -z \"\$(ls -A '$ROOT/Work')\" ]"
send durable2 "$H + $(rcpt durable2) + $(chunk "b'Subject: d\\r\\n\\r\\nd\\r\\n'" " LAST") + b'QUIT\\r\\n'"
check "after it: 250 queued" grep -q '^250 2.0.0 Ok: queued as' "$T/durable2.log"
wait_for 5 mailbox_has example.com durable2 1
check "after it: delivered" mailbox_has example.com durable2 1
stop_daemon
finish
