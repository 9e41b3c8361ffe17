#!/usr/bin/env bash
# test_programs.sh - what every program's command line shares (issue 11,
# section 2): --help (usage on stdout, exit 0), --version (the project's
# version from CMakeLists.txt), an unknown option (usage on stderr, exit
# 64), and where the configuration comes from: -c, else $IMC_CONFIG, else
# /etc/imc-connector/imc.conf. The default is tried only inside a private
# mount namespace with an empty tmpfs over /etc: the real /etc is never read.
. "$(dirname "$0")/lib.sh"

SRC=${IMC_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
version=$(sed -n 's/^project([a-z_]* VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
[ -n "$version" ] || abort_test "the project version is not found in CMakeLists.txt"
PROGS="imc-connector imc-layout imc-queue imc-submit imc-convert"

for p in $PROGS; do
	"$IMC_BIN/$p" --help >"$T/help.out" 2>"$T/help.log"
	rc=$?
	check "$p --help exits 0" test "$rc" = 0
	check "$p --help: usage on stdout" grep -q "^usage: $p" "$T/help.out"
	check "$p --help: names IMC_CONFIG and the default path" \
		grep -q 'IMC_CONFIG, else /etc/imc-connector/imc.conf' "$T/help.out"
	check "$p --help: nothing on stderr" test ! -s "$T/help.log"
	out=$("$IMC_BIN/$p" --version 2>>"$T/version.log")
	rc=$?
	check "$p --version exits 0 and says '$p $version'" \
		test "$rc:$out" = "0:$p $version"
	"$IMC_BIN/$p" --no-such-option >"$T/bad.out" 2>"$T/bad.log"
	rc=$?
	check "$p --no-such-option exits 64" test "$rc" = 64
	check "$p --no-such-option: usage on stderr" grep -q "^usage: $p" "$T/bad.log"
	check "$p --no-such-option: nothing on stdout" test ! -s "$T/bad.out"
done
check "imc-connector -h is --help" bash -c '"$1" -h | grep -q "^usage: imc-connector"' _ "$IMC_BIN/imc-connector"
"$IMC_BIN/imc-layout" -c "$T/none.conf" frobnicate >/dev/null 2>"$T/cmd.log"
check "imc-layout with an unknown command exits 64 (before reading the file)" test $? = 64

# IMC_CONFIG names the file when -c does not; -c wins over it.
write_conf
unset IMC_CONFIG
IMC_CONFIG=$CONF "$IMC_BIN/imc-layout" create >"$T/create.out" 2>"$T/create.log"
check "imc-layout create with IMC_CONFIG (no -c) makes the tree" test -d "$ROOT/Pickup"
out=$(IMC_CONFIG=$CONF "$IMC_BIN/imc-layout" check 2>&1)
check "imc-layout check with IMC_CONFIG" test "$out" = "$ROOT: no drift"
out=$(IMC_CONFIG=$T/missing.conf "$IMC_BIN/imc-layout" -c "$CONF" check 2>&1)
check "-c wins over IMC_CONFIG" test "$out" = "$ROOT: no drift"
out=$(IMC_CONFIG=$CONF "$IMC_BIN/imc-layout" -c "$T/missing.conf" check 2>&1)
check "-c wins over IMC_CONFIG (the -c file is the one missing)" \
	has "$T/missing.conf" "$out"
for p in imc-connector imc-queue imc-submit; do
	case $p in
	imc-connector) args=(--once) ;;
	imc-queue) args=(list) ;;
	imc-submit) args=(a@example.com) ;;
	esac
	out=$(IMC_CONFIG=$T/env-missing.conf "$IMC_BIN/$p" "${args[@]}" </dev/null 2>&1)
	rc=$?
	check "$p reads \$IMC_CONFIG: exit 78 naming it" \
		test "$rc" = 78 -a -n "$(grep -F "$T/env-missing.conf" <<<"$out")"
done
IMC_CONFIG=$CONF connector env.log --once
check "imc-connector --once with IMC_CONFIG runs (exit 0)" test "$RC" = 0
printf 'Subject: x\n\nhello\n' | IMC_CONFIG=$CONF "$IMC_BIN/imc-submit" -f app@example.com u@example.com 2>"$T/submit.log"
check "imc-submit with IMC_CONFIG publishes into Pickup" test "$(count_files "$ROOT/Pickup")" = 1
out=$(IMC_CONFIG=$CONF "$IMC_BIN/imc-queue" list 2>&1)
check "imc-queue list with IMC_CONFIG exits 0" test $? = 0
sed -n '1,3p' "$CONF" >"$T/conv.conf"
printf '[domain x.test]\ncharset = iso-2022-jp\n' >>"$T/conv.conf"
printf 'Subject: x\nContent-Type: text/plain; charset=utf-8\n\n\xe6\x97\xa5\n' >"$T/in.eml"
IMC_CONFIG=$T/conv.conf "$IMC_BIN/imc-convert" --domain x.test "$T/in.eml" "$T/conv.out" 2>"$T/convert.log"
check "imc-convert takes the [domain] of \$IMC_CONFIG" grep -qi 'charset=iso-2022-jp' "$T/conv.out"
# an OUT that is not a regular file is written in place, never replaced
# by a rename (as root, `imc-convert IN /dev/null` replaced the system's
# /dev/null with a regular file): a FIFO with a reader, a character device
mkfifo "$T/out.fifo"
timeout 20 cat "$T/out.fifo" >"$T/fifo.got" &
reader=$!
timeout 20 "$IMC_BIN/imc-convert" --defaults "$T/in.eml" "$T/out.fifo" 2>"$T/fifo.log"
check "imc-convert into a FIFO exits 0 ($(cat "$T/fifo.log"))" test $? = 0
wait "$reader"
check "imc-convert into a FIFO: the reader got the message" grep -q '^Subject: x' "$T/fifo.got"
check "imc-convert into a FIFO: it is still a FIFO" test -p "$T/out.fifo"
check "imc-convert into a FIFO: no temporary file left" \
	test -z "$(find "$T" -maxdepth 1 -name 'out.fifo.imc-convert.*')"
if [ "$(id -u)" = 0 ]; then
	mknod "$T/null" c 1 3
	"$IMC_BIN/imc-convert" --defaults "$T/in.eml" "$T/null" 2>"$T/null.log"
	check "imc-convert into a character device exits 0 ($(cat "$T/null.log"))" test $? = 0
	check "imc-convert into a character device: it is still one" test -c "$T/null"
else
	skip "imc-convert into a character device" "mknod needs root"
fi

# The default path: an empty /etc in a private mount namespace, so the
# programs look for /etc/imc-connector/imc.conf and find nothing.
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
	skip "default path" "needs root and unshare(1) for a private /etc"
elif ! unshare --mount --propagation private true 2>/dev/null; then
	skip "default path" "unshare --mount is not allowed here"
else
	noetc() {
		IMC_CONFIG= unshare --mount --propagation private sh -c \
			'mount -t tmpfs imc-test-etc /etc && exec "$@"' sh "$@"
	}
	for p in imc-connector imc-layout imc-queue imc-submit; do
		case $p in
		imc-connector) args=(--once) ;;
		imc-layout) args=(check) ;;
		imc-queue) args=(list) ;;
		imc-submit) args=(a@example.com) ;;
		esac
		out=$(noetc "$IMC_BIN/$p" "${args[@]}" </dev/null 2>&1)
		rc=$?
		check "$p without -c or IMC_CONFIG: exit 78" test "$rc" = 78
		check "... naming /etc/imc-connector/imc.conf" \
			has '/etc/imc-connector/imc.conf: cannot open' "$out"
	done
	out=$(noetc "$IMC_BIN/imc-convert" "$T/in.eml" 2>&1)
	check "imc-convert with no configuration anywhere: the built-in defaults" \
		has 'charset=utf-8' "$out"
fi
# --defaults reads no file at all, not even the one IMC_CONFIG names
out=$(IMC_CONFIG=$T/conv.conf "$IMC_BIN/imc-convert" --defaults --domain x.test "$T/in.eml" 2>&1)
check "imc-convert --defaults: the built-in defaults, not \$IMC_CONFIG's" has 'charset=utf-8' "$out"
"$IMC_BIN/imc-convert" --defaults -c "$CONF" "$T/in.eml" >/dev/null 2>&1
check "imc-convert --defaults with -c is a usage error (64)" test $? = 64

finish
