#!/usr/bin/env bash
# test_conversion_groups.sh - the conversion follows each recipient's
# domain, whatever the recipient order (issue 13 item 17), one mailbox
# gets one copy however its address is spelt (item 18), and imc-convert
# gives byte for byte what the connector delivers, for the store and for
# SMTP (issue 8 item 3).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"

PORT=$(free_port)
start_peer p 127.0.0.5:$PORT || abort_test "peer starts"
write_conf "local_domains = example.com, example.org, example.net" \
	"smarthost = [127.0.0.5]:$PORT" "tls = none" "archive = yes" \
	"charset = utf-8" \
	"[domain example.com]" "charset = preserve" \
	"[domain example.org]" "charset = iso-2022-jp" \
	"[domain jp.test]" "charset = iso-2022-jp"
# write_conf's own local_domains line comes first; the later one wins
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null

# Japanese text in Shift_JIS, labelled: each copy is converted for its domain
sj=$(printf '\x93\xfa\x96\x7b\x8c\xea')	# "nihongo" in Shift_JIS
body="Content-Type: text/plain; charset=shift_jis\r\n\r\n$sj\r\n"
drop m1.eml "From: s@example.com\r\nTo: a@example.com, b@example.org, c@example.net\r\nSubject: one\r\nMIME-Version: 1.0\r\n$body"
drop m2.eml "From: s@example.com\r\nTo: c2@example.net, b2@example.org, a2@example.com\r\nSubject: two\r\nMIME-Version: 1.0\r\n$body"
drop m3.eml "From: s@example.com\r\nTo: x@remote.test, y@jp.test\r\nSubject: three\r\nMIME-Version: 1.0\r\n$body"
drop m4.eml "From: s@example.com\r\nTo: y2@jp.test, x2@remote.test\r\nSubject: four\r\nMIME-Version: 1.0\r\n$body"
drop m5.eml 'From: s@example.com\r\nTo: Bob@example.com\r\nCc: bob@example.com, "BOB"@EXAMPLE.COM\r\nSubject: five\r\n\r\nonce\r\n'
run_once

label() { grep -io 'charset="\?[a-z0-9_-]*' "$1" | head -1 | sed 's/.*=//; s/"//' | tr A-Z a-z; }
for who in a a2; do
	f=$(mailbox_one example.com $who)
	check "$who@example.com (charset = preserve) keeps shift_jis" test "$(label "$f")" = shift_jis
done
for who in b b2; do
	f=$(mailbox_one example.org $who)
	check "$who@example.org gets iso-2022-jp" test "$(label "$f")" = iso-2022-jp
done
for who in c c2; do
	f=$(mailbox_one example.net $who)
	check "$who@example.net (global) gets utf-8" test "$(label "$f")" = utf-8
done
check "no converted copy is left in In" test -z "$(ls -A "$ROOT/In" | grep '\.conv$')"

check "the peer got four transactions (one per conversion)" peer_has p 4
for who in x x2; do
	f=$(grep -l "X-Peer-Rcpt-To: <$who@remote.test>" "$T"/peer-p/*.msg)
	check "$who@remote.test: one recipient in its transaction" test "$(grep -c '^X-Peer-Rcpt-To:' "$f")" = 1
	check "$who@remote.test keeps shift_jis over SMTP" test "$(label "$f")" = shift_jis
done
for who in y y2; do
	f=$(grep -l "X-Peer-Rcpt-To: <$who@jp.test>" "$T"/peer-p/*.msg)
	check "$who@jp.test gets iso-2022-jp over SMTP" test "$(label "$f")" = iso-2022-jp
done

check "Bob, bob and \"BOB\": one copy" test "$(mailbox_count example.com bob)" = 1

# imc-convert, with the same configuration, on the queue copies before
# conversion (the archive links), gives what was delivered.
qid1=$(sed -n 's/.*event=picked-up .*qid=\([0-9A-Z]\{16\}\).*orig=m1.eml.*/\1/p;s/.*qid=\([0-9A-Z]\{16\}\) .*event=picked-up.*orig=m1.eml.*/\1/p' "$ROOT"/Log/[0-9]*.log | head -1)
[ -n "$qid1" ] || qid1=$(grep 'm1.eml' "$ROOT"/Log/[0-9]*.log | grep -o 'qid=[0-9A-Z]\{16\}' | head -1 | cut -d= -f2)
arch=$ROOT/In/Archive/$qid1.eml
check "the store copy before conversion is archived" test -f "$arch"
"$IMC_BIN/imc-convert" -c "$CONF" --domain example.org --sender-domain example.com "$arch" "$T/conv-org.eml"
check "imc-convert --domain example.org == the store's copy for b" cmp -s "$T/conv-org.eml" "$(mailbox_one example.org b)"
"$IMC_BIN/imc-convert" -c "$CONF" --domain example.net --sender-domain example.com "$arch" "$T/conv-net.eml"
check "imc-convert --domain example.net == the store's copy for c" cmp -s "$T/conv-net.eml" "$(mailbox_one example.net c)"
qid3=$(grep 'm3.eml' "$ROOT"/Log/[0-9]*.log | grep -o 'qid=[0-9A-Z]\{16\}' | head -1 | cut -d= -f2)
oarch=$ROOT/Out/Archive/$qid3.eml
"$IMC_BIN/imc-convert" -c "$CONF" --smtp --domain jp.test --sender-domain example.com "$oarch" "$T/conv-jp.eml"
peer_y=$(grep -l 'X-Peer-Rcpt-To: <y@jp.test>' "$T"/peer-p/*.msg)
sed '1,/^X-Peer-Auth:/d' "$peer_y" > "$T/peer-y.eml"
check "imc-convert --smtp --domain jp.test == what the peer got" cmp -s "$T/conv-jp.eml" "$T/peer-y.eml"
"$IMC_BIN/imc-convert" -c "$CONF" --smtp --domain remote.test --sender-domain example.com "$oarch" "$T/conv-remote.eml"
peer_x=$(grep -l 'X-Peer-Rcpt-To: <x@remote.test>' "$T"/peer-p/*.msg)
sed '1,/^X-Peer-Auth:/d' "$peer_x" > "$T/peer-x.eml"
check "imc-convert --smtp --domain remote.test == what the peer got" cmp -s "$T/conv-remote.eml" "$T/peer-x.eml"
"$IMC_BIN/imc-convert" -c "$CONF" --domain remote.test --sender-domain example.com "$oarch" "$T/conv-remote-store.eml"
check "without --smtp the same domain gets the store's rule (utf-8)" test "$(label "$T/conv-remote-store.eml")" = utf-8

finish
