#!/usr/bin/env bash
# quickstart.sh - install, build, and show a message travel: a demo tree in
# ./demo/Imcdata, the connector running on the built-in store (no network,
# no other server), sample messages dropped into Pickup (one plain, one with
# X-Sender/X-Receiver lines, one in 1998-style windows-1252) and where they
# arrived.
#
#   tools/quickstart.sh          run the demo, then stop the connector
#   tools/quickstart.sh --stay   leave the connector running in the
#                                foreground afterwards (Ctrl-C stops it)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

if [ "$(id -u)" = 0 ]; then
	tools/install-deps.sh
fi
echo "== build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
bin=$top/build/bin

echo "== demo tree in demo/Imcdata"
rm -rf demo
mkdir -p demo
sed -e "s|^root = .*|root = $top/demo/Imcdata|" \
    -e "s|^hostname = .*|hostname = demo.example.com|" \
    tools/imc.conf.example > demo/imc.conf
# Started as root, the connector runs as a service user (imcsvc, made by
# install-deps.sh) when that user can reach the demo tree; else this demo
# says allow_root = yes, which a real installation never needs.
if [ "$(id -u)" = 0 ]; then
	if id imcsvc >/dev/null 2>&1 && runuser -u imcsvc -- test -x "$top/demo"; then
		echo "user = imcsvc" >> demo/imc.conf
	else
		echo "allow_root = yes" >> demo/imc.conf
	fi
fi
"$bin/imc-layout" -c demo/imc.conf create

echo "== connector (log in demo/connector.log)"
"$bin/imc-connector" -c demo/imc.conf --foreground 2> demo/connector.log &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
	grep -q watching demo/connector.log && break
	sleep 0.05
done

echo "== dropping two messages into demo/Imcdata/Pickup"
pickup=demo/Imcdata/Pickup
printf 'From: Alice <alice@example.com>\r\nTo: Bob <bob@example.com>\r\nSubject: A plain message\r\n\r\nHello Bob, this came in through Pickup.\r\n' \
	> "$pickup/.plain.tmp"
mv "$pickup/.plain.tmp" "$pickup/plain.eml"
printf 'x-sender: app@example.org\r\nx-receiver: carol@example.org\r\nx-receiver: dave@example.com\r\nFrom: The Application <app@example.org>\r\nTo: staff@example.org\r\nSubject: Envelope from X-Sender/X-Receiver lines\r\n\r\nThe envelope came from the x-sender and x-receiver lines.\r\n' \
	> "$pickup/.cdonts.tmp"
mv "$pickup/.cdonts.tmp" "$pickup/cdonts.eml"
# A 1998-style message: raw windows-1252 in the Subject and an unlabelled body.
printf 'From: Legacy App <legacy@example.com>\r\nTo: erin@example.com\r\nSubject: Caf\xe9 menu \x96 \x93today\x94\r\n\r\nSoup: 5 \x80\r\n' \
	> "$pickup/.legacy.tmp"
mv "$pickup/.legacy.tmp" "$pickup/legacy.eml"

for _ in $(seq 1 100); do
	n=$(find demo/Imcdata/Store -type f | wc -l)
	[ "$n" -ge 4 ] && break
	sleep 0.05
done

echo "== arrived:"
find demo/Imcdata/Store -type f | sort
echo
first=$(find demo/Imcdata/Store/example.org/carol/new -type f | head -1)
echo "== $first"
cat "$first"
echo
legacy=$(find demo/Imcdata/Store/example.com/erin/new -type f | head -1)
echo "== $legacy (repaired: the Subject as an encoded-word, the body labelled and in UTF-8)"
cat "$legacy"
echo
echo "== tracking log (demo/Imcdata/Log)"
cat demo/Imcdata/Log/*.log

if [ "${1:-}" = "--stay" ]; then
	echo "== the connector keeps running; drop more files into $pickup (Ctrl-C stops it)"
	trap - EXIT
	wait $pid
else
	kill -TERM $pid
	wait $pid || true
	trap - EXIT
	echo "== connector stopped (run with --stay to keep it running)"
fi
