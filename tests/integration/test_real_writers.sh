#!/usr/bin/env bash
# test_real_writers.sh - Pickup files as real legacy writers make them
# (issue 12, "Real writers"), generated here with the real library, must
# arrive with the text the application meant, as Python's strict reader
# (email package, policy=default, no alias table) reads the delivered copy
# (check_corpus.py):
# - .NET/Mono System.Net.Mail.SmtpClient with SpecifiedPickupDirectory
#   (mono_writer.cs): SubjectEncoding/BodyEncoding iso-2022-jp, shift_jis
#   (written as CP932 bytes under iso-2022-jp), windows-1251 (its body
#   labelled koi8-r), koi8-r; attachments with non-ASCII names; lines that
#   start with a dot and a final "." line (no dot-stuffing); a Subject far
#   over 998 octets; display names as quoted encoded-words;
# - PHP mail() through imc-submit as sendmail_path;
# - CDO-style files with x-sender/x-receiver lines, dot-stuffed as IIS
#   reads them.
# The connector runs with the default configuration (pickup_dots = auto).
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
CHECK=$HERE/check_corpus.py
PY=/usr/bin/python3
for prog in mcs mono php "$PY"; do
	command -v "$prog" >/dev/null ||
		skip_all "needs $prog (tools/install-deps.sh installs it)"
done

write_conf
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null || abort_test "imc-layout create"
P=$ROOT/Pickup
W=$T/writers
mkdir -p "$W/mono" "$W/expect"

# check_box BOX - the one message in BOX@example.com reads as BOX.expect.json
check_box() {
	local f
	f=$(mailbox_one example.com "$1") || { not_ok "$1: delivered once"; return; }
	if timeout 30 "$PY" "$CHECK" --name "$1" --charset utf-8 "$f" \
	    "$W/expect/$1.expect.json"; then
		ok "$1: reads as the application meant"
	else
		not_ok "$1: reads as the application meant"
	fi
}

# --- Mono's SmtpClient ------------------------------------------------------
if ! timeout 120 mcs -nowarn:618 -out:"$W/mono_writer.exe" \
    "$HERE/mono_writer.cs" >"$W/mcs.log" 2>&1; then
	not_ok "mono_writer.cs compiles ($(tail -c 300 "$W/mcs.log" | tr '\n' ' '))"
elif ! timeout 120 mono "$W/mono_writer.exe" "$W/mono" "$W/expect" \
    >"$W/mono.log" 2>&1; then
	not_ok "mono_writer.exe runs ($(tail -c 300 "$W/mono.log" | tr '\n' ' '))"
else
	check "mono: four pickup files written" test "$(ls "$W/mono" | wc -l)" = 4
	check "mono: it does not dot-stuff" grep -q '^\.leading dot line' "$W"/mono/*.eml
	check "mono: a header line over 998 octets" \
		bash -c "awk 'length(\$0) > 998 { found = 1 } END { exit !found }' '$W'/mono/*.eml"
	check "mono: CP932 bytes under iso-2022-jp" \
		grep -q 'Subject: =?iso-2022-jp?Q?=87@' "$W"/mono/*.eml
	check "mono: a windows-1251 body labelled koi8-r" \
		grep -q 'charset=koi8-r' "$W"/mono/*.eml
	for f in "$W"/mono/*.eml; do
		mv "$f" "$P/$(basename "$f")"
	done
fi

# --- PHP mail() through imc-submit -------------------------------------------
SUBMIT="$IMC_BIN/imc-submit -c $CONF -t -i"
cat >"$W/mail.php" <<'PHP'
<?php
// A PHP application as many were written: raw UTF-8 in the Subject and the
// From display name, a body with lines that start with a dot and a line
// holding only "."; then one in ISO-8859-1 (its bytes written as they
// were) with an encoded Subject.
$ok1 = mail("php1@example.com", "Grüße aus Köln – Bestellung ✓",
    "Hallo,\n.leading dot\n.\nthe line above holds only a dot\n..two dots\nEnde",
    "From: Zoë Müller <zoe@example.com>\r\nMIME-Version: 1.0\r\n" .
    "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit");
$ok2 = mail("php2@example.com", "=?ISO-8859-1?Q?R=E9servation_confirm=E9e?=",
    "Merci, Am\xe9lie.\n.fin",
    "From: Amelie <amelie@example.fr>\r\nMIME-Version: 1.0\r\n" .
    "Content-Type: text/plain; charset=ISO-8859-1\r\n" .
    "Content-Transfer-Encoding: 8bit");
exit($ok1 && $ok2 ? 0 : 1);
PHP
timeout 60 php -d "sendmail_path=$SUBMIT" "$W/mail.php" >"$W/php.log" 2>&1
rc=$?
check "php: mail() returned true twice (exit $rc: $(tail -c 200 "$W/php.log" | tr '\n' ' '))" test "$rc" = 0
cat >"$W/expect/php1.expect.json" <<'JSON'
{"subject": "Grüße aus Köln – Bestellung ✓", "from_display": "Zoë Müller",
 "parts": [{"content_type": "text/plain",
  "text": "Hallo,\n.leading dot\n.\nthe line above holds only a dot\n..two dots\nEnde"}]}
JSON
cat >"$W/expect/php2.expect.json" <<'JSON'
{"subject": "Réservation confirmée", "from_display": "Amelie",
 "parts": [{"content_type": "text/plain", "text": "Merci, Amélie.\n.fin"}]}
JSON

# --- CDO-style files ---------------------------------------------------------
# CDONTS/CDOSYS hand IIS SMTP-ready files: x-sender/x-receiver first, the
# body dot-stuffed, windows-1252 quoted-printable.
printf '%s\r\n' 'x-sender: webapp@example.com' 'x-receiver: cdo1@example.com' \
	'From: "Web Shop" <webapp@example.com>' 'To: <cdo1@example.com>' \
	'Subject: =?windows-1252?Q?Bestellbest=E4tigung_=96_Nr._42?=' \
	'MIME-Version: 1.0' 'Content-Type: text/plain; charset="windows-1252"' \
	'Content-Transfer-Encoding: quoted-printable' '' \
	'Vielen Dank f=FCr Ihre Bestellung =96 Gr=FC=DFe!' \
	'..NET-Anwendung, Zeile mit Punkt' '.' >"$P/.cdo1.tmp" && mv "$P/.cdo1.tmp" "$P/cdo1.eml"
cat >"$W/expect/cdo1.expect.json" <<'JSON'
{"subject": "Bestellbestätigung – Nr. 42", "from_display": "Web Shop",
 "parts": [{"content_type": "text/plain",
  "text": "Vielen Dank für Ihre Bestellung – Grüße!\n.NET-Anwendung, Zeile mit Punkt"}]}
JSON

run_once
for box in mono1 mono2 mono3 mono4 php1 php2 cdo1; do
	check_box "$box"
done
check "pickup empty" test "$(count_files "$P")" = 0
log=$(cat "$ROOT"/Log/*.log)
check "log: the Mono files were read as written (no dot-stuffing)" \
	grep -q 'reason="pickup_dots auto: read as written' <<<"$log"
check "log: the CDO file was read as dot-stuffed" \
	grep -q 'reason="pickup_dots auto: read as dot-stuffed, 1 line lost a leading dot, a final \\"\.\\" line dropped"' <<<"$log"
[ "$FAILS" = 0 ] || { echo "# connector log:"; tail -n 20 "$T/once.log" 2>/dev/null | sed 's/^/#   /'; }
finish
