#!/usr/bin/env bash
# install-deps.sh - install the Debian packages the project builds and tests
# with (run as root; idempotent: apt runs only when something is missing),
# and the test accounts the permission tests run as.
set -euo pipefail

PACKAGES=(cmake make gcc pkg-config check libc-ares-dev libssl-dev
	clang libclang-rt-14-dev procps python3 util-linux dnsmasq-base)

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
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
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
