#!/usr/bin/env bash
# Hostile and broken files in Pickup: each is skipped, archived with a
# reason, or delivered intact; none blocks the connector or is lost.
. "$(dirname "$0")/lib.sh"

write_conf
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null || { not_ok "create"; finish; exit 1; }
P=$ROOT/Pickup

# Hostile types: never opened for reading, left in place, logged once.
ln -s /etc/passwd "$P/symlink.eml"
printf 'From: a@example.com\r\nTo: victim@example.com\r\n\r\nsecret\r\n' > "$T/outside.eml"
ln "$T/outside.eml" "$P/hardlink.eml"
mkfifo "$P/fifo.eml"
if [ "$(id -u)" = 0 ]; then mknod "$P/device.eml" c 1 3; fi	# else: skip, below
mkdir "$P/folder.eml"
# Names writers use while writing: ignored.
printf 'From: a@example.com\r\nTo: hidden@example.com\r\n\r\nx\r\n' > "$P/.hidden.eml"
printf 'From: a@example.com\r\nTo: tmp@example.com\r\n\r\nx\r\n' > "$P/partial.tmp"

# Broken files: moved to Pickup/Archive with a reason.
: > "$P/empty.eml"
printf 'Subject: nobody to send to\r\nFrom: a@example.com\r\n\r\nbody\r\n' > "$P/norcpt.eml"
printf 'To: b@example.com\r\nSubject: no sender\r\n\r\nbody\r\n' > "$P/nosender.eml"
printf 'From: a@example.com\r\nTo: <<broken@@\r\n\r\nbody\r\n' > "$P/badaddr.eml"

# Odd but valid files: delivered intact.
{ printf 'From: a@example.com\r\nTo: nul@example.com\r\n\r\nbefore'; printf '\0'; printf 'after\r\n'; } > "$P/nul.eml"
long=$(head -c 5000 /dev/zero | tr '\0' 'L')
printf 'From: a@example.com\r\nTo: long@example.com\r\n\r\n%s\r\n' "$long" > "$P/long.eml"
printf 'From: a@example.com\r\nTo: nosep@example.com\r\nSubject: header only' > "$P/nosep.eml"
printf 'From: a@example.com\nTo: bodyline@example.com\nthis line starts the body\nsecond\n' > "$P/bodyline.eml"

CONNECTOR_TIMEOUT=60
check "once finishes without blocking on the FIFO" run_once
out1=$OUT

for f in symlink.eml hardlink.eml fifo.eml folder.eml .hidden.eml partial.tmp; do
	check "$f left in Pickup" test -e "$P/$f" -o -L "$P/$f"
done
if [ "$(id -u)" = 0 ]; then
	check "device left in Pickup" test -c "$P/device.eml"
else
	skip "device left in Pickup" "mknod needs root"
fi
check "symlink target not delivered" test "$(mailbox_count example.com root)" = 0
check "hard-linked file not delivered" test "$(mailbox_count example.com victim)" = 0
check "hidden and .tmp names not taken" test "$(mailbox_count example.com hidden)$(mailbox_count example.com tmp)" = 00
check "symlink logged" has 'symlink.eml: symbolic link' "$out1"
check "hard link logged" has 'hardlink.eml: has more than one hard link' "$out1"
check "FIFO logged" has 'fifo.eml: a FIFO' "$out1"

# Each run logs a skipped file once, however many times it looks at Pickup.
check "second pass runs" run_once
out2=$OUT
check "skipped file logged once by the first run" test "$(grep -c 'symlink.eml' <<<"$out1")" = 1
check "and once by the second run" test "$(grep -c 'symlink.eml' <<<"$out2")" = 1

archived() { # archived ORIGNAME REASON-REGEX
	local r
	r=$(grep -l "^original-name: $1" "$ROOT"/Pickup/Archive/*.reason 2>/dev/null | head -1)
	[ -n "$r" ] && grep -q "^reason: .*$2" "$r" && test -f "${r%.reason}.eml"
}
check "empty file archived" archived empty.eml 'empty file'
check "no recipients archived" archived norcpt.eml 'no recipients'
check "no originator archived" archived nosender.eml 'no originator'
check "unparsable address archived" archived badaddr.eml 'unparsable address in To'
check "archived content kept as written" grep -q 'nobody to send to' "$(grep -l '^original-name: norcpt.eml' "$ROOT"/Pickup/Archive/*.reason | sed 's/reason$/eml/')"
check "archive events logged" test "$(grep -c 'event=archived' "$ROOT"/Log/*.log)" = 4

nul=$(mailbox_one example.com nul)
check "NUL byte passes through (the store's copy in LF)" bash -c "sed -n '/^\$/,\$p' '$nul' | tail -n +2 | cmp -s - <(printf 'before\0after\n')"
longf=$(mailbox_one example.com long)
check "5000-character line kept whole (re-encoded, decodes to the same text)" \
	/usr/bin/python3 -c 'import email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
sys.exit(m.get_payload(decode=True).rstrip(b"\r\n") != sys.argv[2].encode())' "$longf" "$long"
check "no delivered line over 998 octets" bash -c "test -n '$longf' && awk 'length(\$0) > 999 { exit 1 }' '$longf'"
nosep=$(mailbox_one example.com nosep)
check "header without body separator delivered" test -n "$nosep"
check "blank line added after header-only file" bash -c "tail -c 2 '$nosep' | od -c | grep -q '\\\\n  \\\\n' && grep -q '^Subject: header only\$' '$nosep'"
bl=$(mailbox_one example.com bodyline)
check "non-header line starts the body after an added blank line" bash -c "grep -A1 -x '' '$bl' | grep -q 'this line starts the body'"

# A file still open for writing is not claimed until closed.
( exec 3>"$P/open.eml"; printf 'From: a@example.com\r\nTo: open@example.com\r\n\r\nstill writing\r\n' >&3; exec sleep 30 ) &
holder=$!
sleep 0.3
run_once
check "open-for-write file left in Pickup" test -f "$P/open.eml"
# that run looked at Pickup again while the file stayed open
check "a run that scans Pickup several times logs a skipped file once" \
	test "$(grep -c 'symlink.eml' <<<"$OUT")" = 1
check "open-for-write file not delivered" test "$(mailbox_count example.com open)" = 0
kill "$holder"; wait "$holder" 2>/dev/null
run_once
check "closed file then taken" test "$(mailbox_count example.com open)" = 1

# A file the connector may not read: left in place and logged once. The
# connector must not be root for that, so it runs as the imcsvc account.
if [ "$(id -u)" = 0 ] && getent passwd imcsvc >/dev/null; then
	rm -rf "$ROOT"
	write_conf "user = imcsvc" "pickup_settle = 1s"
	"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null
	printf 'From: a@example.com\r\nTo: private@example.com\r\n\r\nx\r\n' > "$P/private.eml"
	chmod 600 "$P/private.eml"
	printf 'From: a@example.com\r\nTo: public@example.com\r\n\r\nx\r\n' > "$P/public.eml"
	chmod 644 "$P/public.eml"
	check "service user run exits 0" run_once
	check "unreadable file left in Pickup" test -f "$P/private.eml"
	check "unreadable file logged" has 'private.eml: cannot open: Permission denied' "$OUT"
	check "readable file delivered by the service user" test "$(mailbox_count example.com public)" = 1
	check "store file owned by the service user" test "$(stat -c %U "$(mailbox_one example.com public)")" = imcsvc
else
	skip "unreadable file left in Pickup" "needs root and the imcsvc account (tools/install-deps.sh)"
fi
finish
