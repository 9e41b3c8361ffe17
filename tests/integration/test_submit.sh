#!/usr/bin/env bash
# imc-submit: sendmail-compatible injection by a writers' group member who
# cannot list Pickup; the connector (as the service user) delivers it.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! getent passwd imcwriter >/dev/null ||
	! getent passwd imcother >/dev/null || ! command -v setpriv >/dev/null; then
	skip_all "needs root, setpriv and the imc test accounts (tools/install-deps.sh)"
fi
as_user() { local u=$1; shift; setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups "$@"; }
export -f as_user

write_conf "user = imcsvc" "group = imcwriters" "pickup_settle = 1s"
chmod 644 "$CONF"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null
P=$ROOT/Pickup

check "writer cannot list Pickup" bash -c "! setpriv --reuid=imcwriter --regid=$(id -g imcwriter) --init-groups ls '$P' >/dev/null 2>&1"

printf 'Subject: one\n\n.leading dot\n..two dots\nend\n' |
	as_user imcwriter "$IMC_BIN/imc-submit" -c "$CONF" -f app@example.org amy@example.com
check "submit with recipients exits 0" test $? = 0
printf 'From: app@example.org\nTo: Ben <ben@example.com>\nCc: cat@example.com\nBcc: dan@example.com\nSubject: two\n\nbody\n.\nafter the dot\n' |
	as_user imcwriter "$IMC_BIN/imc-submit" -c "$CONF" -t
check "submit -t exits 0" test $? = 0
printf 'Subject: three\n\nline\n.\nstill here\n' |
	as_user imcwriter "$IMC_BIN/imc-submit" -c "$CONF" -i -f app@example.org eli@example.com
check "submit -i exits 0" test $? = 0

# A sender with CR LF (a web form passing its user's words to -f) must not
# add envelope lines: refused with EX_DATAERR, nothing published.
before=$(ls -A "$P" | wc -l)
printf 'Subject: evil\n\nx\n' |
	as_user imcwriter "$IMC_BIN/imc-submit" -c "$CONF" -f $'a@example.com\r\nX-Receiver: <evil@remote.test>' amy@example.com 2>"$T/inject.err"
check "-f with CR LF: EX_DATAERR" test $? = 65
check "-f with CR LF: nothing lands in Pickup" test "$(ls -A "$P" | wc -l)" = "$before"
check "-f with CR LF: the reason is given" grep -q 'bad sender address (-f): control character' "$T/inject.err"
printf 'Subject: evil\n\nx\n' |
	as_user imcwriter "$IMC_BIN/imc-submit" -c "$CONF" -f 'a@example.com' $'amy@example.com\nX-Receiver: <evil@remote.test>' 2>/dev/null
check "recipient with LF: EX_DATAERR" test $? = 65
printf 'Subject: evil\n\nx\n' | as_user imcwriter "$IMC_BIN/imc-submit" -c "$CONF" -f '<<bad' amy@example.com 2>/dev/null
check "unparsable -f: EX_DATAERR" test $? = 65
check "refused submissions left nothing in Pickup" test "$(ls -A "$P" | wc -l)" = "$before"

check "no temp names left" test -z "$(ls -A "$P" | grep '^\.')"
check "three files published" test "$(find "$P" -maxdepth 1 -type f -name '*.eml' | wc -l)" = 3

check "connector run as service user exits 0" run_once

amy=$(mailbox_one example.com amy)
body=$(sed -n '/^$/,$p' "$amy" | tail -n +2)
check "dots arrive as given" test "$body" = $'.leading dot\n..two dots\nend'
check "envelope sender from -f" grep -q '^Return-Path: <app@example.org>' "$amy"
check "-t: To recipient" test "$(mailbox_count example.com ben)" = 1
check "-t: Cc recipient" test "$(mailbox_count example.com cat)" = 1
check "-t: Bcc recipient" test "$(mailbox_count example.com dan)" = 1
dan=$(mailbox_one example.com dan)
check "-t: Bcc header removed" bash -c "test -n '$dan' && ! grep -qi '^bcc:' '$dan'"
ben=$(mailbox_one example.com ben)
check "without -i a lone dot ends the message" bash -c "test -n '$ben' && ! grep -q 'after the dot' '$ben'"
check "with -i a lone dot is content" grep -q 'still here' "$(mailbox_one example.com eli)"
check "no recipient from the refused -f" test "$(mailbox_count example.com evil)$(find "$ROOT/Out" -type f | wc -l)" = 00

# Who submitted: the Pickup file's owner, in the tracking log and in the
# stored message's Received: line (as Postfix writes "from userid N").
wuid=$(id -u imcwriter)
log=$(cat "$ROOT"/Log/[0-9]*.log)
check "tracking log: picked-up lines name the writer's uid and user" \
	test "$(grep -c "event=picked-up .* uid=$wuid user=imcwriter" <<<"$log")" = 3
check "Received: names the writer" \
	grep -q "^Received: by mx.test.example (imc-connector, from userid $wuid (imcwriter)) id " "$amy"

printf 'Subject: x\n\nx\n' | as_user imcwriter "$IMC_BIN/imc-submit" -c "$CONF" 2>/dev/null
check "no recipients: EX_NOINPUT" test $? = 66
printf 'Subject: x\n\nx\n' | as_user imcwriter "$IMC_BIN/imc-submit" -c "$CONF" '<<bad' 2>/dev/null
check "bad address: EX_DATAERR" test $? = 65
printf 'Subject: x\n\nx\n' | as_user imcother "$IMC_BIN/imc-submit" -c "$CONF" fay@example.com 2>/dev/null
check "a user outside the writers' group: EX_CANTCREAT" test $? = 73
"$IMC_BIN/imc-submit" -c "$T/none.conf" a@example.com </dev/null 2>/dev/null
check "missing config: EX_CONFIG" test $? = 78

# With auth_file set (root's, 0600: writers cannot read it) a writer can
# still submit: imc-submit reads only what it needs.
printf 'relay1 user secret\n' > "$T/auth"
chmod 600 "$T/auth"
{ cat "$CONF"; echo "auth_file = $T/auth"; echo "auth = relay1"; } > "$T/auth.conf"
chmod 644 "$T/auth.conf"
check "auth_file is unreadable for the writer" bash -c "! as_user imcwriter cat '$T/auth' >/dev/null 2>&1"
before=$(find "$P" -maxdepth 1 -type f -name '*.eml' | wc -l)
printf 'Subject: with auth_file\n\nx\n' |
	as_user imcwriter "$IMC_BIN/imc-submit" -c "$T/auth.conf" -f app@example.org gus@example.com 2>"$T/auth.err"
check "auth_file set: a writer's submission exits 0" test $? = 0
check "auth_file set: no error text" test ! -s "$T/auth.err"
check "auth_file set: the file is in Pickup" test "$(find "$P" -maxdepth 1 -type f -name '*.eml' | wc -l)" = $((before + 1))
check "auth_file set: the full configuration still loads" bash -c "'$IMC_BIN/imc-layout' -c '$T/auth.conf' check >/dev/null"
finish
