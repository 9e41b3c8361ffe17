#!/usr/bin/env bash
# imc-submit: sendmail-compatible injection by a writers' group member who
# cannot list Pickup; the connector (as the service user) delivers it.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! getent passwd imcwriter >/dev/null ||
	! getent passwd imcother >/dev/null || ! command -v setpriv >/dev/null; then
	skip_all "needs root, setpriv and the imc test accounts (tools/install-deps.sh)"
fi
as_user() { local u=$1; shift; setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups "$@"; }

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

check "no temp names left" test -z "$(ls -A "$P" | grep '^\.')"
check "three files published" test "$(find "$P" -maxdepth 1 -type f -name '*.eml' | wc -l)" = 3

check "connector run as service user exits 0" run_once

amy=$(mailbox_one example.com amy)
body=$(sed -n '/^\r$/,$p' "$amy" | tr -d '\r' | tail -n +2)
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

printf 'Subject: x\n\nx\n' | as_user imcwriter "$IMC_BIN/imc-submit" -c "$CONF" 2>/dev/null
check "no recipients: EX_NOINPUT" test $? = 66
printf 'Subject: x\n\nx\n' | as_user imcwriter "$IMC_BIN/imc-submit" -c "$CONF" '<<bad' 2>/dev/null
check "bad address: EX_DATAERR" test $? = 65
printf 'Subject: x\n\nx\n' | as_user imcother "$IMC_BIN/imc-submit" -c "$CONF" fay@example.com 2>/dev/null
check "a user outside the writers' group: EX_CANTCREAT" test $? = 73
"$IMC_BIN/imc-submit" -c "$T/none.conf" a@example.com </dev/null 2>/dev/null
check "missing config: EX_CONFIG" test $? = 78
finish
