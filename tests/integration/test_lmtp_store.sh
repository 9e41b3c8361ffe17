#!/usr/bin/env bash
# test_lmtp_store.sh - issue 9: local domains handed to a real store over
# LMTP (RFC 2033): a private Dovecot (lib_dovecot.sh) on a loopback TCP
# port and on a unix socket, beside a domain on the built-in Maildir store.
# Mail read back through Dovecot's IMAP equals what the built-in store
# writes for the same message (the stores' own trace headers aside); the
# store's per-recipient replies decide each recipient: 250 delivered, 550
# unknown user and 552 over quota bounce with Dovecot's words, 452 waits
# local_retry and is delivered once at the retry without a duplicate for
# the others; a store that is down defers (the tracking log names it and
# its words), and the mail goes in once it is back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_dovecot.sh"

dovecot_start || abort_test "dovecot starts"
LMTP_TCP="lmtp:127\.0\.0\.1\[127\.0\.0\.1\]:$DC_LMTP_PORT"	# a regex
write_conf "store = lmtp:[127.0.0.1]:$DC_LMTP_PORT" "[domain example.org]" "store = maildir" \
	"protocol_log = maximum" "max_per_destination = 1" "local_retry = 7s" "retry_schedule = 1h"
dc_section_last "[domain example.org]"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null
tracklog() { cat "$ROOT"/Log/[0-9]*.log 2>/dev/null; }

# One message to a Dovecot user and to a Maildir user; its body is
# unlabelled Latin-1, which the charset policy turns into UTF-8 for
# either store.
drop m1.eml 'X-Sender: bob@example.org\nX-Receiver: alice@example.com\nX-Receiver: alice@example.org\nFrom: bob@example.org\nTo: alice@example.com, alice@example.org\nSubject: caf\xe9 for two\n\nd\xe9j\xe0 vu\n..one dot\n'
# A mixed transaction: 250, 550 at RCPT, 552 and 452 after the dot.
drop m2.eml 'X-Sender: bob@example.org\nX-Receiver: carol@example.com\nX-Receiver: nobody@example.com\nX-Receiver: full@example.com\nX-Receiver: tempfull@example.com\nFrom: bob@example.org\nSubject: mixed\n\nfour recipients\n'
check "--once returns" run_once

check "Dovecot has alice's copy" dc_has alice 1
check "the built-in store has alice@example.org's copy" mailbox_has example.org alice 1
dc_fetch alice 1 > "$T/dovecot-alice.eml" || not_ok "IMAP fetch of alice's message"
dc_strip_trace "$T/dovecot-alice.eml" > "$T/a.eml"
dc_strip_trace "$(mailbox_one example.org alice)" > "$T/b.eml"
check "what Dovecot stored equals what the Maildir store wrote, byte for byte" cmp "$T/a.eml" "$T/b.eml"
check "the charset policy applied to the LMTP copy too (UTF-8 body)" \
	grep -q "$(printf 'd\xc3\xa9j\xc3\xa0 vu')" "$T/a.eml"
check "a leading dot arrives once" grep -q -P '^\.one dot\r$' "$T/a.eml"
log=$(tracklog)
check "delivered line names the store and its reply" \
	grep -q "event=delivered .*to=<alice@example.com> .*dsn=2.0.0 relay=$LMTP_TCP .*Saved" <<<"$log"
check "LHLO on the wire (protocol log)" grep -q ' > LHLO mx.test.example' "$ROOT"/Log/smtp-*.log
check "no EHLO or HELO to the store" lacks ' > [EH][HE]LO' "$(cat "$ROOT"/Log/smtp-*.log)"
check "one connection for both messages (reuse, max_per_destination 1)" \
	test "$(grep -c ' > LHLO' "$ROOT"/Log/smtp-*.log)" = 1
check "RSET between the two transactions" grep -q ' > RSET' "$ROOT"/Log/smtp-*.log

check "carol delivered" dc_has carol 1
check "unknown user bounced with Dovecot's 550" \
	grep -q "event=failed .*to=<nobody@example.com> .*dsn=5.1.1 .*User doesn't exist" <<<"$log"
check "over quota bounced with Dovecot's 552" \
	grep -q "event=failed .*to=<full@example.com> .*dsn=5.2.2 .*Quota exceeded" <<<"$log"
check "452 deferred" grep -q "event=deferred .*to=<tempfull@example.com> .*dsn=4.2.2 relay=$LMTP_TCP" <<<"$log"
check "nobody and full got nothing" test "$(dc_count full)" = 0
check "the bounce reached the sender (built-in store)" mailbox_has example.org bob 1
nd=$(cat "$(mailbox_one example.org bob)")
check "the bounce carries Dovecot's words for the unknown user" grep -q "User doesn't exist: nobody@example.com" <<<"$nd"
check "the bounce carries Dovecot's words for the full mailbox" grep -q "Quota exceeded (mailbox for user is full)" <<<"$nd"
check "one Out/ entry left (tempfull)" test "$(out_count)" = 1
envs=$(out_envs)
check "tempfull pending, carol done in the same entry" \
	grep -q 'rcpt pending 4.2.2 tempfull@example.com' <<<"$envs"
check "carol recorded as done" grep -q 'rcpt done 2.0.0 carol@example.com' <<<"$envs"
arrival=$(sed -n 's/^arrival //p' <<<"$envs")
next=$(sed -n 's/^next //p' <<<"$envs")
check "the retry waits local_retry (7s), not retry_schedule (1h)" test $((next - arrival)) -le 30

# The mailbox has room again: the retry delivers tempfull's copy, and
# carol's is not sent again.
dc_set_quota tempfull 100M
"$IMC_BIN/imc-queue" -c "$CONF" flush >/dev/null 2>&1
check "--once returns (retry)" run_once
check "tempfull delivered at the retry" dc_has tempfull 1
check "carol still has one copy (no duplicate)" dc_has carol 1
check "Out/ empty" test "$(out_count)" = 0

# The store is down: deferred, with the store named; then back: once.
dovecot_stop
drop m3.eml 'X-Sender: bob@example.org\nX-Receiver: alice@example.com\nSubject: while down\n\nwait\n'
check "--once returns (store down)" run_once
log=$(tracklog)
check "deferred while the store is down, naming it and its words" \
	grep -q "event=deferred .*to=<alice@example.com> .*reason=\"$LMTP_TCP: connect: Connection refused" <<<"$log"
check "the message waits in Out/" test "$(out_count)" = 1
dovecot_start || abort_test "dovecot starts again"
"$IMC_BIN/imc-queue" -c "$CONF" flush >/dev/null 2>&1
check "--once returns (store back)" run_once
check "delivered once the store is back" dc_has alice 2
check "Out/ empty again" test "$(out_count)" = 0
check "nothing bounced for the outage" test "$(mailbox_count example.org bob)" = 1

# The same store on its unix socket.
sed -i "s|^store = lmtp:\[127.0.0.1\]:$DC_LMTP_PORT\$|store = lmtp:unix:$DC_LMTP_SOCK|" "$CONF"
check "config names the socket" grep -q "^store = lmtp:unix:$DC_LMTP_SOCK\$" "$CONF"
drop m4.eml 'X-Sender: bob@example.org\nX-Receiver: bob@example.com\nX-Receiver: carol@example.com\nSubject: by socket\n\nunix\n'
check "--once returns (unix socket)" run_once
check "bob delivered over the socket" dc_has bob 1
check "carol delivered over the socket" dc_has carol 2
check "tracking log names the socket" \
	grep -q "event=delivered .*to=<bob@example.com> .*relay=lmtp:unix:$DC_LMTP_SOCK" <<<"$(tracklog)"
check "Out/ empty at the end" test "$(out_count)" = 0
finish
