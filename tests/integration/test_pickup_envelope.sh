#!/usr/bin/env bash
# Envelope rules, routing and the queue copy, end to end through --once.
. "$(dirname "$0")/lib.sh"

write_conf "archive = yes"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null || { not_ok "create"; finish; exit 1; }

# 1. X-Sender/X-Receiver lines win over the header and are removed.
drop xlines.eml 'x-sender: app@example.org\r\nX-RECEIVER: <bob@example.com>\r\nx-receiver: "Carol C" <carol@example.com>\r\nFrom: other@example.org\r\nTo: nobody@example.com\r\nSubject: xlines\r\n\r\nbody one\r\n'
# 2. Header fallback: To + Cc + Bcc, Sender wins over From, Bcc removed.
drop header.eml 'From: Alice <alice@example.com>\nTo: "Dave, D." <dave@example.com>, undisclosed-recipients:;\nCc: eve@EXAMPLE.com (Eve)\nBcc: frank@example.com\nSender: secretary@example.com\nSubject: header\n\nbody two\n'
# 3. Split: one local, one remote recipient.
drop split.eml 'X-Sender: app@example.org\r\nX-Receiver: gina@example.com\r\nX-Receiver: henry@remote.example.net\r\nSubject: split\r\n\r\nbody three\r\n'
# 4. Dots under pickup_dots = iis, and a final lone dot.
drop dots.eml 'From: a@example.com\r\nTo: ivan@example.com\r\nSubject: dots\r\n\r\n..stuffed\r\n.single\r\n.\r\nlast line\r\n.\r\n'
# 5. Unqualified sender is qualified with hostname.
drop unq.eml 'X-Sender: Sender\r\nX-Receiver: jane@example.com\r\nSubject: unq\r\n\r\nb\r\n'

run_once
check "once exits 0" test $? = 0

bob=$(mailbox_one example.com bob)
check "x-receiver bob delivered" test -n "$bob"
check "x-receiver carol delivered" test "$(mailbox_count example.com carol)" = 1
check "header To not used when X-Receiver given" test "$(mailbox_count example.com nobody)" = 0
check "x- lines removed" bash -c "! grep -qi '^x-receiver\|^x-sender' '$bob'"
check "return-path is x-sender" grep -q '^Return-Path: <app@example.org>' "$bob"
check "the store's copy has LF line ends (no CR)" bash -c "grep -c \$'\\r' '$bob' | grep -qx 0"
check "the Out/ and Pickup copies keep CRLF: Out/ has CRs" bash -c "grep -q \$'\\r\$' '$ROOT'/Out/*.eml"

dave=$(mailbox_one example.com dave)
check "to with quoted comma display name" test -n "$dave"
check "cc domain any case" test "$(mailbox_count example.com eve)" = 1
check "bcc recipient delivered" test "$(mailbox_count example.com frank)" = 1
check "bcc header removed" bash -c "! grep -qi '^bcc:' '$(mailbox_one example.com frank)'"
check "sender wins over from" grep -q '^Return-Path: <secretary@example.com>' "$dave"

check "split: local part in store" test "$(mailbox_count example.com gina)" = 1
check "split: remote part in Out" test "$(out_count)" = 1
check "split: Out entry names the remote recipient" has 'henry@remote.example.net' "$(out_envs)"
check "split: Out copy has no Return-Path" bash -c "! grep -q '^Return-Path' '$ROOT'/Out/*.eml"
check "archive copy in Out/Archive" test "$(count_files "$ROOT/Out/Archive")" = 1
check "archive copies in In/Archive" test "$(count_files "$ROOT/In/Archive")" = 5

ivan=$(mailbox_one example.com ivan)
body=$(sed -n '/^$/,$p' "$ivan" | tail -n +2)
expect=$'.stuffed\nsingle\n\nlast line'
check "iis dots: one dot removed, lone dot line kept empty, final dot dropped" test "$body" = "$expect"

check "unqualified sender gets hostname" grep -q '^Return-Path: <Sender@mx.test.example>' "$(mailbox_one example.com jane)"

check "pickup empty" test "$(count_files "$ROOT/Pickup")" = 0
check "work empty" test "$(count_files "$ROOT/Work")" = 0
check "in empty" test "$(count_files "$ROOT/In")" = 0

log=$(cat "$ROOT"/Log/*.log)
check "log: picked-up lines" test "$(grep -c 'event=picked-up' <<<"$log")" = 5
check "log: delivered line with fields" grep -q 'event=delivered qid=[0-9A-Z]\{16\} from=<app@example.org> to=<bob@example.com> size=[0-9]* status=sent dsn=2.0.0 relay=maildir' <<<"$log"
check "log: queued for remote" grep -q 'event=queued .*to=<henry@remote.example.net>' <<<"$log"

list=$("$IMC_BIN/imc-queue" -c "$CONF" list)
check "imc-queue lists the Out entry, deferred with the reason" grep -q "^[0-9A-Z]\{16\} Out .* <app@example.org> <henry@remote.example.net> deferred .*127.0.0.1.*[Rr]efused" <<<"$list"
check "imc-queue lists one entry" test "$(wc -l <<<"$list")" = 1

# 6. pickup_dots = literal keeps dots as written.
write_conf "pickup_dots = literal"
drop lit.eml 'From: a@example.com\r\nTo: kim@example.com\r\nSubject: lit\r\n\r\n..two\r\n.one\r\n.\r\n'
run_once
body=$(sed -n '/^$/,$p' "$(mailbox_one example.com kim)" | tail -n +2)
check "literal dots kept, final lone dot dropped" test "$body" = $'..two\n.one'
finish
