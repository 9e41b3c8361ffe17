#!/usr/bin/env bash
# Charset repair and the size limit (issue 13 item 16): a 3 MB single-line
# Latin-1 body used to become 18.7 MB in the store and 9.4 MB in Out/
# (quoted-printable), after the size check. Now:
#  - with max_message_size = 10M it is queued base64: Out/ (charset kept)
#    and a store that keeps the charset under 1.4 times the file, a UTF-8
#    store under 2.8 times (UTF-8 itself doubles 8-bit text); text with a
#    few accents stays quoted-printable under 1.4 times; the content decodes
#    to the same text;
#  - with max_message_size just above the file but below the repaired copy,
#    nothing is cut or delivered: every recipient fails 5.3.4 with both sizes
#    in the reason, the sender gets an RFC 3464 report, and a null-sender
#    message goes whole to Badmail with a .bdr;
#  - a file near the limit that repair does not grow is delivered (the
#    connector's own CRLF and trace lines do not count).
. "$(dirname "$0")/lib.sh"

MB3=3000000
P=$ROOT/Pickup
mkdir "$T/src"

# latin1_line FILE PERMILLE - one line of MB3 Latin-1 bytes, PERMILLE of
# them accented letters (0xE0-0xFF), the rest ASCII
latin1_line() {
	/usr/bin/python3 - "$1" "$2" "$MB3" <<'EOF'
import sys
path, permille, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ascii = b"the quick brown fox "
out = bytearray()
acc = 0
for i in range(n):
    acc += permille
    if acc >= 1000:
        acc -= 1000
        out.append(0xE0 + i % 32)
    else:
        out.append(ascii[i % 20])
open(path, "wb").write(bytes(out))
EOF
}

# message NAME SENDER BODYFILE RCPT... - a Pickup file with envelope lines
message() {
	local name=$1 sender=$2 body=$3 r
	shift 3
	{
		printf 'X-Sender: %s\r\n' "$sender"
		for r in "$@"; do printf 'X-Receiver: <%s>\r\n' "$r"; done
		printf 'From: Sender <sender@example.com>\r\nTo: %s\r\n' "$1"
		printf 'Subject: %s\r\n\r\n' "$name"
		cat "$body"
		printf '\r\n'
	} > "$T/src/$name.eml"
}

publish() {
	cp "$T/src/$1.eml" "$P/.$1.tmp" && mv "$P/.$1.tmp" "$P/$1.eml"
}

once() {
	timeout 300 "$IMC_BIN/imc-connector" -c "$CONF" --once 2>>"$T/once.log"
	check "--once exits 0 ($1)" test $? = 0
}

# body_is FILE TEXTFILE CHARSET - the message's body decodes (transfer
# encoding, then its charset label) to the text of TEXTFILE, read as
# CHARSET, followed by CRLF; prints the transfer encoding
body_is() {
	/usr/bin/python3 - "$@" <<'EOF'
import email, email.policy, sys
msg = email.message_from_binary_file(open(sys.argv[1], "rb"),
                                     policy=email.policy.compat32)
raw = msg.get_payload(decode=True)
text = raw.decode(msg.get_content_charset() or "us-ascii")
want = open(sys.argv[2], "rb").read().decode(sys.argv[3]) + "\r\n"
print(msg.get("Content-Transfer-Encoding", "7bit"))
# Python's quoted-printable decoder gives a line break as LF
sys.exit(0 if text.replace("\r\n", "\n") == want.replace("\r\n", "\n")
         else 1)
EOF
}

size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

latin1_line "$T/src/all8" 1000		# every byte 8-bit
latin1_line "$T/src/few" 30		# 3% accented letters
message all8 sender@example.com "$T/src/all8" rcpt@example.com far@remote.test
message keep sender@example.com "$T/src/all8" keep@example.org
message few sender@example.com "$T/src/few" few@example.com
FILE_SIZE=$(size_of "$T/src/all8.eml")

# 1. max_message_size = 10M: queued, base64, within the bounds.
write_conf "max_message_size = 10M" "[domain example.org]" "charset = preserve"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null || { not_ok "create"; finish; exit 1; }
publish all8
publish keep
publish few
once "10M"

store=$(mailbox_one example.com rcpt)
kept=$(mailbox_one example.org keep)
fewm=$(mailbox_one example.com few)
out=$(ls "$ROOT"/Out/*.eml 2>/dev/null | head -1)
check "all8 delivered to the store" test -n "$store"
check "keep delivered to the store" test -n "$kept"
check "few delivered to the store" test -n "$fewm"
check "all8 queued in Out/ for the remote recipient" test -n "$out"
S_STORE=$(size_of "$store"); S_KEPT=$(size_of "$kept"); S_OUT=$(size_of "$out")
S_FEW=$(size_of "$fewm"); FEW_FILE=$(size_of "$T/src/few.eml")
echo "# file $FILE_SIZE bytes: Out/ $S_OUT ($(ratio "$S_OUT" "$FILE_SIZE")x)," \
    "store utf-8 $S_STORE ($(ratio "$S_STORE" "$FILE_SIZE")x)," \
    "store preserve $S_KEPT ($(ratio "$S_KEPT" "$FILE_SIZE")x);" \
    "3% accents: file $FEW_FILE, store utf-8 $S_FEW ($(ratio "$S_FEW" "$FEW_FILE")x)"
check "Out/ copy under 1.4 x the file ($S_OUT)" \
    test "$S_OUT" -lt $((FILE_SIZE * 14 / 10))
check "store copy kept in its charset under 1.4 x the file ($S_KEPT)" \
    test "$S_KEPT" -lt $((FILE_SIZE * 14 / 10))
check "UTF-8 store copy under 2.8 x the file ($S_STORE)" \
    test "$S_STORE" -lt $((FILE_SIZE * 28 / 10))
check "few accents: UTF-8 store copy under 1.4 x the file ($S_FEW)" \
    test "$S_FEW" -lt $((FEW_FILE * 14 / 10))
cte=$(body_is "$out" "$T/src/all8" cp1252)
check "Out/ copy decodes to the text" test $? = 0
check "Out/ copy is base64 ($cte)" test "$cte" = base64
cte=$(body_is "$store" "$T/src/all8" cp1252)
check "UTF-8 store copy decodes to the text" test $? = 0
check "UTF-8 store copy is base64 ($cte)" test "$cte" = base64
cte=$(body_is "$kept" "$T/src/all8" cp1252)
check "preserved store copy decodes to the text" test $? = 0
check "preserved store copy is base64 ($cte)" test "$cte" = base64
cte=$(body_is "$fewm" "$T/src/few" cp1252)
check "few accents: store copy decodes to the text" test $? = 0
check "few accents: store copy stays quoted-printable ($cte)" \
    test "$cte" = quoted-printable
check "no 5.3.4 at 10M" bash -c "! grep -q 'dsn=5.3.4' '$ROOT'/Log/*.log"

# 2. The limit between the file and the repaired copy: 5.3.4, not cut.
rm -rf "$ROOT"
LIMIT=$((FILE_SIZE + 200000))	# above the file, below 1.37 x
write_conf "max_message_size = $LIMIT"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null || { not_ok "create 2"; finish; exit 1; }
message grown sender@example.com "$T/src/all8" rcpt@example.com far@remote.test
message nullgrown '<>' "$T/src/all8" rcpt@example.com
# the control: ASCII with bare LF, near the limit; pickup writes the Out/
# copy in CRLF (46,000 more bytes; the store's In/ copy keeps LF) but
# repair leaves it as it is: a remote recipient waits in Out/ with it
/usr/bin/python3 -c "
import sys
line = b'x' * 69 + b'\n'
sys.stdout.buffer.write(line * (($LIMIT - 2000) // 70))" > "$T/src/ascii"
{
	printf 'X-Sender: sender@example.com\nX-Receiver: <ascii@example.com>\n'
	printf 'X-Receiver: <ctl@remote.test>\n'
	printf 'Subject: near the limit\n\n'
	cat "$T/src/ascii"
} > "$T/src/ascii.eml"
publish grown
publish nullgrown
publish ascii
GROWN_SIZE=$(size_of "$T/src/grown.eml")
NULL_SIZE=$(size_of "$T/src/nullgrown.eml")
check "control file is under the limit" test "$(size_of "$T/src/ascii.eml")" -le "$LIMIT"
once "limit $LIMIT"

check "grown: nothing delivered to rcpt" test "$(mailbox_count example.com rcpt)" = 0
check "control near the limit delivered" test "$(mailbox_count example.com ascii)" = 1
ctl=$(grep -l '^Subject: near the limit' "$ROOT"/Out/*.eml 2>/dev/null | head -1)
check "control Out/ copy is over the limit (CRLF and trace lines): $(size_of "$ctl")" \
    test "$(size_of "$ctl")" -gt "$LIMIT"
check "control store copy has LF line ends: $(size_of "$(mailbox_one example.com ascii)")" \
    test "$(grep -c $'\r' "$(mailbox_one example.com ascii)")" = 0
n=$(grep -l '^Subject: Undeliverable: grown' "$ROOT"/Store/example.com/sender/new/* 2>/dev/null | wc -l)
echo "# $n report(s) to the sender"
check "the sender got a report for each copy (In/ and Out/)" test "$n" = 2
for f in $(grep -l '^Subject: Undeliverable: grown' "$ROOT"/Store/example.com/sender/new/* 2>/dev/null); do
	check "report is an RFC 3464 multipart/report" \
	    grep -q 'Content-Type: multipart/report; report-type=delivery-status;' "$f"
	check "report says Status: 5.3.4" grep -q '^Status: 5.3.4' "$f"
	check "report names both sizes and the limit" grep -q \
	    "message too big after charset repair: [0-9]* bytes in \(In\|Out\)/ ($GROWN_SIZE bytes as written), over max_message_size ($LIMIT)" "$f"
done
grep -h '^Diagnostic-Code' "$ROOT"/Store/example.com/sender/new/* 2>/dev/null | sed 's/^/# /'
check "log: bounced 5.3.4 for rcpt@example.com" \
    grep -q 'event=bounced .*to=<rcpt@example.com> .*dsn=5.3.4' "$ROOT"/Log/*.log
check "log: bounced 5.3.4 for far@remote.test" \
    grep -q 'event=bounced .*to=<far@remote.test> .*dsn=5.3.4' "$ROOT"/Log/*.log
bad=$(ls "$ROOT"/Badmail/*.bad 2>/dev/null)
check "null sender: one message in Badmail" test "$(echo "$bad" | grep -c .)" = 1
bdr=${bad%.bad}.bdr
[ -n "$bad" ] || bdr=/dev/null
check "null sender: .bdr says 5.3.4 with both sizes" grep -q \
    "<rcpt@example.com>: 5.3.4 message too big after charset repair: [0-9]* bytes in In/ ($NULL_SIZE bytes as written)" "$bdr"
cte=none
[ -n "$bad" ] && cte=$(body_is "$bad" "$T/src/all8" cp1252)
check "null sender: the whole repaired copy is in Badmail, not cut ($cte)" \
    test $? = 0 -a -n "$bad"
check "log: badmail 5.3.4" grep -q 'event=badmail .*dsn=5.3.4' "$ROOT"/Log/*.log
check "In/ and Work/ are empty, Out/ holds the control's remote copy" \
    test "$(count_files "$ROOT/In")$(count_files "$ROOT/Work")$(out_count)" = 001
check "Pickup holds no message files" test -z "$(find "$P" -maxdepth 1 -type f)"
check "no sanitizer report" bash -c "! grep -q -e 'Sanitizer' -e 'runtime error:' '$T/once.log'"
rm -rf "$T/src"
finish
