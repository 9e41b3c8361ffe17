#!/usr/bin/env bash
# test_lmtp_7bit.sh - issue 9: the 7-bit downgrade (encoding = 7bit) applies
# to an LMTP store as to the built-in one: a private Dovecot gets the same
# 7-bit message the Maildir store writes for the same policy (read back
# through Dovecot's IMAP, the stores' trace fields aside), with no 8-bit
# byte, and its text decodes to what the writer meant. (An LMTP server that
# does not offer 8BITMIME gets the downgrade too: check_smtp_conn.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_dovecot.sh"

dovecot_start || abort_test "dovecot starts"
write_conf "store = lmtp:[127.0.0.1]:$DC_LMTP_PORT" "encoding = 7bit" \
	"local_retry = 1h" "retry_schedule = 1h" "[domain example.org]" "store = maildir"
dc_section_last "[domain example.org]"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null


# unlabelled Latin-1 (legacy_charset) in the subject and the body, and a
# UTF-8 part: each becomes 7-bit for both stores
drop m.eml 'X-Sender: bob@example.org\nX-Receiver: alice@example.com\nX-Receiver: alice@example.org\nFrom: bob@example.org\nTo: alice@example.com, alice@example.org\nSubject: caf\xe9 au lait\n\nd\xe9j\xe0 vu, na\xefve fa\xe7ade\n..one dot\n'
check "--once returns" run_once
check "Dovecot has alice's copy" dc_has alice 1
check "the built-in store has alice@example.org's copy" mailbox_has example.org alice 1
dc_fetch alice 1 > "$T/dovecot.eml" || not_ok "IMAP fetch of alice's message"
dc_strip_trace "$T/dovecot.eml" > "$T/a.eml"
dc_strip_trace "$(mailbox_one example.org alice)" > "$T/b.eml"
check "Dovecot's copy equals the Maildir copy, byte for byte" cmp "$T/a.eml" "$T/b.eml"
check "no 8-bit byte in what Dovecot stored" bash -c "! LC_ALL=C grep -q -P '[\x80-\xff]' '$T/a.eml'"
check "the body is declared 7-bit safe (quoted-printable or base64)" \
	grep -q -i -E '^Content-Transfer-Encoding: (quoted-printable|base64)' "$T/a.eml"
decoded=$(/usr/bin/python3 - "$T/a.eml" <<'PY'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
print(m["subject"])
print(m.get_content().strip())
PY
)
check "a strict reader decodes the subject" has "$(printf 'caf\xc3\xa9 au lait')" "$decoded"
check "... and the body" has "$(printf 'd\xc3\xa9j\xc3\xa0 vu, na\xc3\xafve fa\xc3\xa7ade')" "$decoded"
check "... with its leading dot once" has '^\.one dot$' "$decoded"
finish
