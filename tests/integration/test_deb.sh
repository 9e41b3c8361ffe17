#!/usr/bin/env bash
# The Debian package, end to end, on this machine: cpack -G DEB builds
# imc-connector_VERSION_ARCH.deb (programs, unit, manual pages, the example
# configuration as a conffile, Depends from dpkg-shlibdeps); lintian finds
# no error; apt-get installs it, its postinst makes the service user imc
# and the group imcwriters (again: nothing changes) and neither enables nor
# starts the service; the installed imc-layout and imc-connector work on a
# scratch tree with the installed example configuration and deliver one
# message; apt-get purge leaves nothing of the package, only the scratch
# tree. It changes the machine, so it puts it back on every path out (the
# EXIT trap purges the package and removes accounts it made). Needs root.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "installs a package: needs root"
need cpack dpkg-deb dpkg-shlibdeps lintian apt-get file man
BUILD=$(cd "$IMC_BIN/.." && pwd)
[ -f "$BUILD/CPackConfig.cmake" ] || abort_test "no CPackConfig.cmake in $BUILD"
PKG=imc-connector
# Someone else's installation is not this test's to replace or purge.
if dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null | grep -qv '^not-installed$'; then
	abort_test "$PKG is already installed on this machine: not touching it"
fi
for p in /usr/sbin/imc-connector /etc/imc-connector; do
	[ ! -e "$p" ] || abort_test "$p exists outside the package: not touching it"
done

had_user=0 had_group=0 had_writers=0
getent passwd imc >/dev/null && had_user=1
getent group imc >/dev/null && had_group=1
getent group imcwriters >/dev/null && had_writers=1
INSTALLED=0
# pkg_cleanup - purge the package if this test installed it and it is
# still there, and remove the accounts its postinst made for the test
pkg_cleanup() {
	if [ "$INSTALLED" = 1 ] &&
		dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null | grep -qv '^not-installed$'; then
		DEBIAN_FRONTEND=noninteractive dpkg --purge "$PKG" >/dev/null 2>&1
	fi
	[ "$had_user" = 1 ] || ! getent passwd imc >/dev/null || userdel imc 2>/dev/null
	[ "$had_group" = 1 ] || ! getent group imc >/dev/null || groupdel imc 2>/dev/null
	[ "$had_writers" = 1 ] || ! getent group imcwriters >/dev/null || groupdel imcwriters 2>/dev/null
}
trap 'pkg_cleanup; cleanup' EXIT
trap 'exit 143' TERM INT HUP

# apt_retry LOG DONE ARGS... - apt-get ARGS, output (of every try) in
# $T/LOG. dpkg's lock is waited for (DPkg::Lock::Timeout), apt's other
# locks are not: another apt-get on the machine can fail a try at once,
# possibly after dpkg did the work. So a try that failed on a lock is
# followed by the command DONE (has the work been done?), and only when it
# fails is apt-get tried again (6 tries, 10 s apart); any other failure is
# returned as it is.
apt_retry() {
	local log=$T/$1 done=$2 i rc; shift 2
	: >"$log"
	for i in 1 2 3 4 5 6; do
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
			"$@" >"$log.try" 2>&1
		rc=$?
		cat "$log.try" >>"$log"
		[ $rc != 0 ] && grep -q 'Could not get lock\|Unable to lock' "$log.try" || return $rc
		echo "# apt-get $1, try $i of 6: $(grep -m 1 'lock' "$log.try")"
		$done && { echo "# ... and yet the work is done"; return 0; }
		sleep 10
	done
	return $rc
}
# installed / purged - the package's state in dpkg
installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null)" = installed ]; }
purged() { ! dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null | grep -qv '^not-installed$'; }

# --- build -----------------------------------------------------------
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$BUILD/CPackConfig.cmake")
deb=$T/pkg/${PKG}_${version}_$(dpkg --print-architecture).deb
cpack --config "$BUILD/CPackConfig.cmake" -G DEB -B "$T/pkg" >"$T/cpack.log" 2>&1
check "cpack -G DEB exits 0" test $? = 0
check "it writes $(basename "$deb")" test -f "$deb"
[ -f "$deb" ] || { tail -n 20 "$T/cpack.log" | sed 's/^/#   /'; abort_test "no package"; }
info=$(dpkg-deb -f "$deb")
echo "# $(grep '^Depends:' <<<"$info")"
for dep in 'libc6 (>= ' 'libssl3 (>= ' 'libc-ares2 (>= ' adduser; do
	check "Depends names $dep" has "^Depends:.*$dep" "$info"
done
check "the example configuration is a conffile" \
	bash -c "dpkg-deb --ctrl-tarfile '$deb' | tar -xOf - ./conffiles | grep -qx /etc/imc-connector/imc.conf"
files=$(dpkg-deb -c "$deb" | awk '{ print $6 }')
for f in ./usr/sbin/imc-connector ./usr/sbin/imc-layout ./usr/sbin/imc-queue \
	./usr/bin/imc-submit ./usr/bin/imc-convert ./etc/imc-connector/imc.conf \
	./usr/lib/systemd/system/imc-connector.service \
	./usr/share/man/man5/imc.conf.5.gz ./usr/share/man/man8/imc-connector.8.gz; do
	check "the package holds ${f#.}" grep -qxF "$f" <<<"$files"
done
lintian --fail-on error --tag-display-limit 0 "$deb" >"$T/lintian.log" 2>&1
rc=$?
grep -v 'running with root privileges' "$T/lintian.log" | sed 's/^/# lintian: /'
check "lintian --fail-on error exits 0" test $rc = 0
check "lintian reports no error" bash -c "! grep -q '^E:' '$T/lintian.log'"

# --- install ---------------------------------------------------------
INSTALLED=1
apt_retry apt-install.log installed install -y -q --no-install-recommends "$deb"
rc=$?
check "apt-get install ./$(basename "$deb") exits 0" test $rc = 0
[ $rc = 0 ] || tail -n 8 "$T/apt-install.log" | sed 's/^/#   /'
check "dpkg knows it installed" test "$(dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null)" = installed
check "the service user imc exists, a system account without a shell" \
	bash -c "u=\$(getent passwd imc) && [ \$(cut -d: -f3 <<<\"\$u\") -lt 1000 ] && [ \"\$(cut -d: -f7 <<<\"\$u\")\" = /usr/sbin/nologin ]"
check "the writers' group imcwriters exists" bash -c "getent group imcwriters >/dev/null"
uid_before=$(id -u imc 2>/dev/null)
/var/lib/dpkg/info/$PKG.postinst configure "$version" >"$T/postinst.log" 2>&1
check "postinst run again exits 0" test $? = 0
check "... and keeps the same account" test "$(id -u imc 2>/dev/null)" = "$uid_before"
check "the service is not enabled" bash -c "! ls /etc/systemd/system/*.wants/imc-connector.service >/dev/null 2>&1"
check "the service is not started" bash -c "! pgrep -u imc -x imc-connector >/dev/null"
# (a slim Debian image tells dpkg not to install manual pages at all)
if grep -qs '^path-exclude[= ]*/usr/share/man' /etc/dpkg/dpkg.cfg.d/*; then
	echo "# dpkg excludes /usr/share/man on this machine: the pages are checked in the package only"
else
	check "man finds imc.conf(5)" test "$(man -w 5 imc.conf 2>/dev/null)" = /usr/share/man/man5/imc.conf.5.gz
fi

# --- use: the installed example, pointed at the scratch tree --------
sed -e "s|^root = .*|root = $ROOT|" -e 's/^#user = imc$/user = imc/' \
	-e 's/^#group = imcwriters$/group = imcwriters/' \
	/etc/imc-connector/imc.conf > "$CONF"
check "the example was pointed at the scratch tree" bash -c "
	grep -qx 'root = $ROOT' '$CONF' && grep -qx 'user = imc' '$CONF' &&
	grep -qx 'group = imcwriters' '$CONF'"
chmod 644 "$CONF"
/usr/sbin/imc-layout -c "$CONF" create >"$T/layout.log" 2>&1
check "installed imc-layout create exits 0" test $? = 0
check "... the tree belongs to imc" test "$(stat -c %U "$ROOT/Pickup")" = imc
/usr/sbin/imc-connector -c "$CONF" --check-config >"$T/check-config.log" 2>&1
rc=$?
if [ $rc = 64 ]; then
	echo "# imc-connector --check-config: not in this build (usage error); the --once run below reads the configuration instead"
else
	check "installed imc-connector --check-config exits 0" test $rc = 0
fi
drop m1.eml 'From: app@example.org\nTo: dee@example.com\nSubject: from the package\n\nhello\n'
IMC_BIN=/usr/sbin run_once
check "installed imc-connector --once delivers one message" mailbox_has example.com dee 1

# --- purge -----------------------------------------------------------
pkgfiles=$(dpkg -L "$PKG" 2>/dev/null)
check "dpkg -L lists the package's files" test "$(grep -c . <<<"$pkgfiles")" -gt 10
apt_retry apt-purge.log purged purge -y -q "$PKG"
rc=$?
check "apt-get purge exits 0" test $rc = 0
[ $rc = 0 ] || tail -n 8 "$T/apt-purge.log" | sed 's/^/#   /'
check "dpkg knows it gone" test "$(dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null || echo not-installed)" = not-installed
left=
while read -r p; do
	[ -n "$p" ] || continue
	# folders the package shares with the system stay
	[ -d "$p" ] && [ -n "$(ls -A "$p" 2>/dev/null)" ] && [ "${p#*imc}" = "$p" ] && continue
	[ -e "$p" ] || [ -L "$p" ] && left="$left $p"
done <<<"$pkgfiles"
check "nothing of the package is left" test -z "$left"
[ -z "$left" ] || echo "#   left:$left"
check "no /etc/imc-connector" test ! -e /etc/imc-connector
check "no dpkg control files left" bash -c "! ls /var/lib/dpkg/info/$PKG.* >/dev/null 2>&1"
check "the scratch tree and its mail are still there" mailbox_has example.com dee 1
finish
