#!/usr/bin/env bash
# test_store_change.sh - a local domain's store changed while mail for it
# waits (issue 9, "nothing lost"). Out/ mail queued for an LMTP store whose
# domain now uses the built-in Maildir is never sent to the smarthost (the
# MX of our own domain): it waits, deferred 4.3.5 with the reason logged,
# and is delivered once the store is set back. In/ mail waiting for the
# Maildir of a domain now on LMTP waits the same way, and is delivered
# when the store is set back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"

SMTP_PORT=$(free_port)
LMTP_PORT=$(free_port)
start_peer relay 127.0.0.4:$SMTP_PORT || abort_test "smarthost peer starts"
conf_lmtp() {
	write_conf "local_domains = example.com, lmtp.test" "smarthost = [127.0.0.4]:$SMTP_PORT" \
		"tls = none" "retry_schedule = 1h" "local_retry = 3600" \
		"[domain lmtp.test]" "store = lmtp:[127.0.0.5]:$LMTP_PORT"
}
conf_maildir() {
	write_conf "local_domains = example.com, lmtp.test" "smarthost = [127.0.0.4]:$SMTP_PORT" \
		"tls = none" "retry_schedule = 1h" "local_retry = 3600"
}

# --- Out/: queued for an LMTP store that is down
conf_lmtp
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null || abort_test "imc-layout create"
drop a.eml 'From: app@example.net\r\nTo: lee@lmtp.test\r\nSubject: a\r\n\r\nbody a\r\n'
run_once
qa=$(entry_qids "$ROOT/Out")
check "the LMTP recipient waits in Out/" test -n "$qa"
# the domain moves to the built-in store
conf_maildir
"$IMC_BIN/imc-queue" -c "$CONF" flush >/dev/null
run_once
log=$(tracklog)
check "not sent to the smarthost" test "$(peer_count relay)" = 0
check "deferred 4.3.5, the store change named" \
	has "event=deferred qid=$qa .*to=<lee@lmtp.test> .*dsn=4.3.5 .*store of this domain changed" "$log"
check "still waiting in Out/" test "$(entry_qids "$ROOT/Out")" = "$qa"
check "nothing in the Maildir store for it" test "$(mailbox_count lmtp.test lee)" = 0
# set back, with the store up: delivered once
conf_lmtp
start_peer store 127.0.0.5:$LMTP_PORT --lmtp || abort_test "LMTP store starts"
"$IMC_BIN/imc-queue" -c "$CONF" flush >/dev/null
run_once
check "delivered to the LMTP store once set back" peer_has store 1
check "Out/ empty" test "$(out_count)" = 0

# --- In/: waiting for the Maildir store (a mailbox that cannot be written)
conf_maildir
mkdir -p "$ROOT/Store/lmtp.test" && svc_own "$ROOT/Store/lmtp.test"
chmod 0500 "$ROOT/Store/lmtp.test"
drop b.eml 'From: app@example.net\r\nTo: liz@lmtp.test\r\nSubject: b\r\n\r\nbody b\r\n'
run_once
qb=$(ls "$ROOT/In" | sed -n 's/\.env$//p' | head -1)
check "the Maildir recipient waits in In/" test -n "$qb"
chmod 0700 "$ROOT/Store/lmtp.test"
# the domain moves to LMTP: the In/ entry is not sent there, nor anywhere
conf_lmtp
"$IMC_BIN/imc-queue" -c "$CONF" flush >/dev/null
run_once
log=$(tracklog)
check "In/ entry deferred 4.3.5, the store change named" \
	has "event=deferred qid=$qb .*to=<liz@lmtp.test> .*dsn=4.3.5 .*store of this domain changed" "$log"
check "the LMTP store did not get it" peer_has store 1
check "the smarthost did not get it" test "$(peer_count relay)" = 0
# set back: delivered into the Maildir
conf_maildir
"$IMC_BIN/imc-queue" -c "$CONF" flush >/dev/null
run_once
check "delivered into the Maildir once set back" test "$(mailbox_count lmtp.test liz)" = 1
check "In/ empty" test -z "$(ls "$ROOT/In" | grep -v '^Archive$')"
check "nothing in Badmail" test "$(count_files "$ROOT/Badmail")" = 0

finish
