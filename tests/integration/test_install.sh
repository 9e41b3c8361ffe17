#!/usr/bin/env bash
# cmake --install: programs in sbin (imc-connector, imc-layout, imc-queue)
# and bin (imc-submit, imc-convert), the example configuration in
# SYSCONFDIR/imc-connector/imc.conf (/etc for the /usr prefix), the unit
# file in PREFIX/lib/systemd/system with ExecStart naming the installed
# program, compressed manual pages in share/man; all under DESTDIR, and
# nothing else anywhere. Installs only into DESTDIRs inside $T.
. "$(dirname "$0")/lib.sh"
need cmake gzip
SRC=${IMC_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=$(cd "$IMC_BIN/.." && pwd)
[ -f "$BUILD/cmake_install.cmake" ] || skip_all "$BUILD is not a CMake build folder"

# install PREFIX DESTDIR - one install; its output in $T/install.log
install_into() {
	DESTDIR=$2 cmake --install "$BUILD" --prefix "$1" >>"$T/install.log" 2>&1
}
# listing DESTDIR - every file and link below it, relative, sorted
listing() { (cd "$1" && find . ! -type d | sed 's|^\./||' | sort); }

D=$T/usr-prefix
check "cmake --install --prefix /usr into DESTDIR" install_into /usr "$D"
want=$(sort <<EOT
etc/imc-connector/imc.conf
usr/bin/imc-convert
usr/bin/imc-submit
usr/lib/systemd/system/imc-connector.service
usr/sbin/imc-connector
usr/sbin/imc-layout
usr/sbin/imc-queue
usr/share/doc/imc-connector/changelog.gz
usr/share/doc/imc-connector/copyright
usr/share/man/man1/imc-convert.1.gz
usr/share/man/man1/imc-submit.1.gz
usr/share/man/man5/imc.conf.5.gz
usr/share/man/man8/imc-connector.8.gz
usr/share/man/man8/imc-layout.8.gz
usr/share/man/man8/imc-queue.8.gz
EOT
)
got=$(listing "$D")
echo "# what landed under DESTDIR with --prefix /usr:"
sed 's/^/#   /' <<<"$got"
check "exactly the expected files landed" test "$got" = "$want"
[ "$got" = "$want" ] || diff <(echo "$want") <(echo "$got") | sed 's/^/#   /'
check "nothing was written outside DESTDIR (install log names only DESTDIR paths)" \
	bash -c "! grep -E '^-- (Installing|Up-to-date): ' '$T/install.log' | grep -v -- ' $D/'"
for p in usr/sbin/imc-connector usr/sbin/imc-layout usr/sbin/imc-queue usr/bin/imc-submit usr/bin/imc-convert; do
	check "$p is executable" test -x "$D/$p"
done
check "the example configuration is tools/imc.conf.example" cmp -s "$SRC/tools/imc.conf.example" "$D/etc/imc-connector/imc.conf"
check "the configuration is mode 644" test "$(stat -c %a "$D/etc/imc-connector/imc.conf")" = 644
unit=$D/usr/lib/systemd/system/imc-connector.service
check "the unit starts the installed daemon on the installed configuration" \
	grep -qx 'ExecStart=/usr/sbin/imc-connector -c /etc/imc-connector/imc.conf' "$unit"
check "with the /usr prefix the unit is the source file unchanged" cmp -s "$SRC/tools/imc-connector.service" "$unit"
for m in "$D"/usr/share/man/man*/*.gz; do
	check "${m#"$D"/} is gzip and renders without warnings" \
		bash -c "gzip -t '$m' && test -z \"\$(zcat '$m' | groff -wall -z -man 2>&1)\""
done

# Another prefix: the configuration goes to PREFIX/etc, and the unit names
# that configuration and PREFIX/sbin.
D2=$T/local-prefix
check "cmake --install --prefix /usr/local into DESTDIR" install_into /usr/local "$D2"
check "/usr/local: configuration in usr/local/etc/imc-connector" test -f "$D2/usr/local/etc/imc-connector/imc.conf"
check "/usr/local: no /etc written" test ! -e "$D2/etc"
check "/usr/local: the unit names /usr/local paths" grep -qx \
	'ExecStart=/usr/local/sbin/imc-connector -c /usr/local/etc/imc-connector/imc.conf' \
	"$D2/usr/local/lib/systemd/system/imc-connector.service"
check "/usr/local: programs in usr/local/sbin and usr/local/bin" \
	test -x "$D2/usr/local/sbin/imc-connector" -a -x "$D2/usr/local/bin/imc-submit"
D3=$T/opt-prefix
check "cmake --install --prefix /opt/imc into DESTDIR" install_into /opt/imc "$D3"
check "/opt/imc: configuration in etc/opt/imc/imc-connector (GNUInstallDirs)" \
	test -f "$D3/etc/opt/imc/imc-connector/imc.conf"

# The installed programs work: make a tree and deliver one message with
# the installed daemon.
write_conf
"$D/usr/sbin/imc-layout" -c "$CONF" create >/dev/null 2>"$T/layout.log"
check "installed imc-layout creates the tree" test -d "$ROOT/Pickup"
drop m1.eml 'From: a@example.org\nTo: bo@example.com\nSubject: installed\n\nhello\n'
IMC_BIN=$D/usr/sbin run_once
check "installed imc-connector delivers" mailbox_has example.com bo 1
finish
