#!/usr/bin/env bash
# install-deps.sh - install the Debian packages the project builds and tests
# with (run as root; idempotent: apt runs only when something is missing),
# and the test accounts the permission tests run as.
set -euo pipefail

# libuchardet-dev: detect = yes (on our labelled sample it reads 20 of 20
# legacy texts right where legacy_charset alone reads 4: tools/detect-accuracy.py)
PACKAGES=(cmake make gcc pkg-config check libc-ares-dev libssl-dev libuchardet-dev
	clang clang-format libclang-rt-14-dev procps python3 util-linux
	dnsmasq-base openssl python3-aiosmtpd postfix strace)

# packaging (tests test_install, test_manpages, test_systemd_unit, test_deb):
# groff and man for the manual pages, systemd-analyze for the unit, cpack's
# dpkg-shlibdeps and file, lintian, adduser for the package's postinst
PACKAGES+=(groff-base man-db systemd dpkg-dev file lintian adduser)
# the README's migration guide (test_migration_guide): a .NET pickup writer
# under Mono, PHP's mail() through imc-submit
PACKAGES+=(mono-mcs mono-runtime php-cli)
# the LMTP store tests (tests/integration/lib_dovecot.sh) and the bench's
# LMTP part: a private Dovecot, never the system's service
PACKAGES+=(dovecot-core dovecot-lmtpd dovecot-imapd)
# the SMTP listener's tests: swaks as a client; libcrypt-dev for AUTH
PACKAGES+=(swaks libcrypt-dev)

# tools/bench.sh: mkfs.ext4 and mount -o loop (its journaled ext4 image), GNU time
PACKAGES+=(e2fsprogs mount time)
# test_metrics.sh: promtool check metrics on Log/metrics.prom
PACKAGES+=(prometheus)
# test_real_writers.sh: Mono's SmtpClient (with the encodings it needs for
# iso-2022-jp, shift_jis, windows-1251, koi8-r) and PHP's mail()
PACKAGES+=(mono-mcs libmono-i18n-cjk4.0-cil libmono-i18n-west4.0-cil
	libmono-i18n-other4.0-cil php-cli)
missing=()
for p in "${PACKAGES[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "install-deps: missing packages: ${missing[*]} (run as root)" >&2
		exit 77
	fi
	export DEBIAN_FRONTEND=noninteractive
	# Postfix is a test peer and the benchmark's yardstick, never the
	# machine's MTA: no configuration, and no system instance left running.
	echo "postfix postfix/main_mailer_type select No configuration" |
		debconf-set-selections
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# A system Postfix started by the package would hold port 25 on loopback.
if [ "$(id -u)" = 0 ] && [ -x /usr/sbin/postfix ] &&
	pgrep -x master >/dev/null 2>&1 && [ -f /etc/postfix/main.cf ]; then
	postfix stop >/dev/null 2>&1 || true
fi

# Accounts for the tests that check what a non-root service user and a
# writer in the writers' group can and cannot do.
if [ "$(id -u)" = 0 ]; then
	getent group imcwriters >/dev/null || groupadd -r imcwriters
	getent passwd imcsvc >/dev/null ||
		useradd -r -M -d /nonexistent -s /usr/sbin/nologin imcsvc
	getent passwd imcwriter >/dev/null ||
		useradd -r -M -d /nonexistent -s /usr/sbin/nologin -G imcwriters imcwriter
	getent passwd imcother >/dev/null ||
		useradd -r -M -d /nonexistent -s /usr/sbin/nologin imcother
fi
exit 0
