#!/usr/bin/env bash
# Recipients that fail for good are returned to the sender as an RFC 3464
# notification; a message from the null sender goes to Badmail with a
# reason; a message older than max_lifetime bounces.
. "$(dirname "$0")/lib.sh"

write_conf
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null
drop bad.eml 'X-Sender: alice@example.com\r\nX-Receiver: "..evil"@example.com\r\nX-Receiver: ok@example.com\r\nSubject: Quarterly report\r\n\r\nbody\r\n'
drop null.eml 'X-Sender: <>\r\nX-Receiver: ".x"@example.com\r\nSubject: from nobody\r\n\r\nbody\r\n'
run_once
check "good recipient delivered" test "$(mailbox_count example.com ok)" = 1
n=$(mailbox_one example.com alice)
check "notification delivered to the local sender" test -n "$n"
check "notification from the null sender" grep -q '^Return-Path: <>' "$n"
check "subject starts Undeliverable:" grep -q '^Subject: Undeliverable: Quarterly report' "$n"
check "Exchange-style opening" grep -q '^Your message did not reach some or all of the intended recipients.' "$n"
check "multipart/report" grep -q 'Content-Type: multipart/report; report-type=delivery-status;' "$n"
check "delivery-status names the recipient" grep -q '^Final-Recipient: rfc822; "..evil"@example.com' "$n"
check "status 5.1.3" grep -q '^Status: 5.1.3' "$n"
check "original headers attached" grep -q '^Subject: Quarterly report' "$n"
check "bounced event logged" grep -q 'event=bounced .*from=<alice@example.com> to=<"..evil@example.com>"\|event=bounced .*to="<\\"..evil\\"@example.com>"' "$ROOT"/Log/*.log
check "null sender: Badmail .bad" test "$(ls "$ROOT"/Badmail/*.bad 2>/dev/null | wc -l)" = 1
check "null sender: Badmail .bdr with the reason" grep -q 'mailbox name cannot be a folder name' "$ROOT"/Badmail/*.bdr
check "badmail event logged" grep -q 'event=badmail' "$ROOT"/Log/*.log
check "queue empty" test "$(count_files "$ROOT/In")$(count_files "$ROOT/Work")" = 00

# Expiry: a delivery that keeps failing for a while bounces.
mkdir -p "$ROOT/Store/example.com/stuck" && svc_own "$ROOT/Store/example.com"
ln -s /tmp "$ROOT/Store/example.com/stuck/new"
drop stuck.eml 'X-Sender: alice@example.com\r\nX-Receiver: stuck@example.com\r\nSubject: stuck\r\n\r\nbody\r\n'
run_once
check "deferred first" test "$(ls "$ROOT"/In/*.env 2>/dev/null | wc -l)" = 1
list=$("$IMC_BIN/imc-queue" -c "$CONF" list --json)
check "imc-queue shows the deferral and its reason" grep -q '"folder":"In","state":"deferred".*"address":"stuck@example.com".*symbolic link' <<<"$list"
sleep 1.1
write_conf "max_lifetime = 1s"
# the entry is due again only after local_retry; SIGUSR1-free: --once runs due entries
sed -i 's/^next [0-9]*/next 0/' "$ROOT"/In/*.env
run_once
check "expired entry left the queue" test "$(ls "$ROOT"/In/*.env 2>/dev/null | wc -l)" = 0
check "expiry notification sent" test "$(grep -l 'Subject: Undeliverable: stuck' "$ROOT"/Store/example.com/alice/new/* | wc -l)" = 1
check "expiry status 4.4.7" grep -q '^Status: 4.4.7' $(grep -l 'Subject: Undeliverable: stuck' "$ROOT"/Store/example.com/alice/new/*)
finish
