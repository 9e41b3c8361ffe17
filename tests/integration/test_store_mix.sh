#!/usr/bin/env bash
# store per [domain], three backends in one run: example.com in the
# built-in Maildir (the global store), example.org in the Drop folder,
# lmtp.test to an LMTP server that does not run. One message to all three
# and a remote recipient: the Maildir copy (LF), one Drop file naming only
# the Drop recipients (CRLF), and the LMTP recipients deferred cleanly:
# waiting in Out/ with the store named in the tracking log, tried again
# after local_retry (not the SMTP retry_schedule), never delivered
# anywhere else; a second run delivers nothing twice.
. "$(dirname "$0")/lib.sh"

# a loopback port nothing listens on
LMTP_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
write_conf "local_domains = example.com, example.org, lmtp.test" \
	"local_retry = 1m" "retry_schedule = 4h" "store = maildir" \
	"[domain example.org]" "store = drop" \
	"[domain lmtp.test]" "store = lmtp:[127.0.0.1]:$LMTP_PORT"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null || abort_test "imc-layout create"
drop mix.eml 'From: app@example.net\r\nTo: ann@example.com, olga@example.org, lee@lmtp.test, liz@lmtp.test, far@remote.test\r\nSubject: mix\r\n\r\nthe body\r\n'
t0=$(date +%s)
run_once
t1=$(date +%s)
LOG=$(cat "$ROOT"/Log/[0-9]*.log)

# Maildir
ann=$(mailbox_one example.com ann)
check "example.com: one copy in the built-in Maildir" test -n "$ann"
check "the Maildir copy has LF line ends" bash -c "test -n '$ann' && ! grep -q \$'\\r' '$ann'"
check "Maildir delivery logged" has 'event=delivered .*to=<ann@example.com> .*relay=maildir' "$LOG"
# Drop
check "example.org: one Drop file" test "$(find "$ROOT/Drop" -name '*.eml' -type f | wc -l)" = 1
d=$(find "$ROOT/Drop" -name '*.eml' -type f | head -1)
check "the Drop file names only the Drop recipient" \
	test "$(grep -a '^x-' "$d" 2>/dev/null | tr -d '\r')" = "$(printf 'x-sender: app@example.net\nx-receiver: olga@example.org')"
check "the Drop file is CRLF" bash -c "test -n '$d' && [ \"\$(grep -c \$'\\r\$' '$d')\" = \"\$(wc -l < '$d')\" ]"
check "Drop delivery logged" has 'event=delivered .*to=<olga@example.org> .*relay=drop' "$LOG"
check "nothing of example.org or lmtp.test in the Maildir store" \
	test -z "$(ls "$ROOT/Store" | grep -v '^example.com$')"
# LMTP, no server
for r in lee liz; do
	check "$r@lmtp.test deferred, the store named" \
		has "event=deferred .*to=<$r@lmtp.test> .*relay=lmtp:127.0.0.1:$LMTP_PORT" "$LOG"
	check "$r@lmtp.test not delivered anywhere" lacks "event=delivered .*to=<$r@lmtp.test>" "$LOG"
done
check "the LMTP recipients wait in Out/ (one entry with the remote one)" test "$(out_count)" = 1
env=$(out_envs)
check "Out/ entry: lee pending" has '^rcpt pending .* lee@lmtp.test ' "$env"
check "Out/ entry: liz pending" has '^rcpt pending .* liz@lmtp.test ' "$env"
check "Out/ entry: the remote recipient" has ' far@remote.test ' "$env"
next=$(sed -n 's/^next //p' <<<"$env")
check "next try after local_retry (1m), not retry_schedule (4h): $((next - t0))s" \
	test -n "$next" -a "$next" -ge $((t0 + 60)) -a "$next" -le $((t1 + 60))
check "In/ and Work/ are empty" test "$(count_files "$ROOT/In")$(count_files "$ROOT/Work")" = 00
check "no bounce for anyone" lacks 'event=bounced' "$LOG"

# A second run with everything due: the LMTP recipients are tried again,
# nothing delivered twice.
"$IMC_BIN/imc-queue" -c "$CONF" flush >/dev/null 2>&1
run_once
LOG=$(cat "$ROOT"/Log/[0-9]*.log)
check "second run: the LMTP recipients deferred again" \
	test "$(grep -c 'event=deferred .*to=<lee@lmtp.test>' <<<"$LOG")" = 2
check "second run: still one Maildir copy" test "$(mailbox_count example.com ann)" = 1
check "second run: still one Drop file" test "$(find "$ROOT/Drop" -name '*.eml' -type f | wc -l)" = 1
check "second run: the entry still waits" has '^rcpt pending .* lee@lmtp.test ' "$(out_envs)"
finish
