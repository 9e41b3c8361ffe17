#!/usr/bin/env bash
# Configuration errors name file and line and exit 78; imc-layout create,
# check and fix; the connector re-creates missing folders and refuses an
# unsafe tree with the same message as imc-layout check.
. "$(dirname "$0")/lib.sh"

expect_config_error() { # NAME LINE-REGEX CONTENT...
	local name=$1 want=$2; shift 2
	printf '%s\n' "$@" > "$T/bad.conf"
	local out rc prog
	for prog in imc-connector imc-layout imc-queue; do
		case $prog in
		imc-connector) connector bad-conf.log -c "$T/bad.conf" --once
			out=$OUT rc=$RC ;;
		imc-layout) out=$("$IMC_BIN/$prog" -c "$T/bad.conf" check 2>&1); rc=$? ;;
		imc-queue) out=$("$IMC_BIN/$prog" -c "$T/bad.conf" list 2>&1); rc=$? ;;
		esac
		if [ "$rc" != 78 ] || ! grep -q "$want" <<<"$out"; then
			not_ok "$name ($prog: rc=$rc, said: $out)"
			return
		fi
	done
	ok "$name"
}
B=$T/bad.conf
expect_config_error "unknown key names file and line" "$B:3: unknown key \"colour\"" \
	"root = $ROOT" "# comment" "colour = blue"
expect_config_error "bad size" "$B:2: max_message_size: \"ten\" is not a size" \
	"root = $ROOT" "max_message_size = ten"
expect_config_error "bad yes/no" "$B:2: archive: \"maybe\" is not yes or no" \
	"root = $ROOT" "archive = maybe"
expect_config_error "bad pickup_dots" "$B:2: pickup_dots: \"some\"" "root = $ROOT" "pickup_dots = some"
expect_config_error "bad store names file and line" "$B:3: store: \"lmtp:mail.example\": the port is missing" \
	"root = $ROOT" "[domain a.example]" "store = lmtp:mail.example"
expect_config_error "unknown store word" "$B:2: store: \"mbox\" is not supported" "root = $ROOT" "store = mbox"
expect_config_error "bad lmtp_tls" "$B:2: lmtp_tls: \"implicit\" is not none, may, encrypt or verify" \
	"root = $ROOT" "lmtp_tls = implicit"
expect_config_error "missing root" "$B: missing required key \"root\"" "hostname = a.example"
expect_config_error "relative root" "$B:1: root: \"rel/dir\" is not an absolute path" "root = rel/dir"
# A root that is or is inside a system folder. Only tools that never write
# run against the real paths (a connector or a fix that let one through
# would chown or fill /etc); those two run in a private mount namespace
# where /etc is a scratch copy.
expect_root_refused() { # NAME LINE-REGEX CONTENT...
	local name=$1 want=$2; shift 2
	printf '%s\n' "$@" > "$T/bad.conf"
	local out rc prog
	for prog in imc-layout imc-queue; do
		case $prog in
		imc-layout) out=$("$IMC_BIN/$prog" -c "$T/bad.conf" check 2>&1) ;;
		imc-queue) out=$("$IMC_BIN/$prog" -c "$T/bad.conf" list 2>&1) ;;
		esac
		rc=$?
		if [ "$rc" != 78 ] || ! grep -q "$want" <<<"$out"; then
			not_ok "$name ($prog: rc=$rc, said: $(head -c 300 <<<"$out"))"
			return
		fi
	done
	ok "$name"
}
expect_root_refused "root = /etc is refused" "$B:1: root: \"/etc\" is the system folder /etc;" "root = /etc"
expect_root_refused "root = / is refused" "$B:2: root: \"/\" is the system folder /;" "# c" "root = /"
expect_root_refused "root through .. into /etc is refused" "$B:1: root: \"/usr/../etc\" (that is /etc) is the system folder /etc" "root = /usr/../etc"
expect_root_refused "root inside /usr is refused" "$B:1: root: \"/usr/lib/imc\" is inside the system folder /usr" "root = /usr/lib/imc"
expect_root_refused "root = /var/lib itself is refused" "$B:1: root: \"/var/lib\" is the system folder /var/lib" "root = /var/lib"
ln -s /etc "$T/etc-link"
expect_root_refused "root through a symbolic link into /etc is refused" "$B:1: root: .* (that is /etc/imcdata) is inside the system folder /etc" "root = $T/etc-link/imcdata"
if [ "$(id -u)" = 0 ]; then
	fake=$T/fake-etc
	mkdir -m 755 "$fake" && cp -a /etc/passwd /etc/group /etc/nsswitch.conf "$fake/"
	printf 'root = /etc\nuser = imcsvc\nhostname = mx.test.example\n' > "$T/etc.conf"
	fake_before=$(stat -c '%u:%g %a' "$fake"; ls -A "$fake")
	out=$(unshare --mount --propagation private bash -c '
		mount --bind "$1" /etc || exit 99
		"$2/imc-layout" -c "$3" fix >/dev/null 2>&1; echo "fix=$?"
		"$2/imc-connector" -c "$3" --once >/dev/null 2>&1; echo "once=$?"
	' _ "$fake" "$IMC_BIN" "$T/etc.conf" 2>&1)
	check "namespace with a scratch /etc" grep -q '^fix=' <<<"$out"
	check "imc-layout fix with root = /etc exits 78" grep -q '^fix=78$' <<<"$out"
	check "the connector with root = /etc exits 78" grep -q '^once=78$' <<<"$out"
	check "/etc (the scratch copy) keeps its owner, mode and entries" \
		test "$(stat -c '%u:%g %a' "$fake"; ls -A "$fake")" = "$fake_before"
else
	echo "# skip: fix and the connector against root = /etc need root (a mount namespace)"
fi
expect_config_error "line without =" "$B:2: expected \"key = value\"" "root = $ROOT" "just words"
expect_config_error "unknown section kind" "$B:2: unknown section kind" "root = $ROOT" "[relay x]"
expect_config_error "unknown key in domain section" "$B:3: unknown key \"speed\" in \[domain example.net\]" \
	"root = $ROOT" "[domain example.net]" "speed = fast"
expect_config_error "unknown user" "$B:2: user: no such user" "root = $ROOT" "user = no-such-user-xyz"
expect_config_error "bad local domain" "$B:2: local_domains: \"bad domain!\"" "root = $ROOT" "local_domains = ok.example, bad domain!"
expect_exit 78 "missing config file is a config error" refused.log -c "$T/missing.conf" --once
expect_exit 64 "bad option is a usage error" refused.log --bogus

write_conf
check "create succeeds" "$IMC_BIN/imc-layout" -c "$CONF" create
check "check on a fresh tree is clean" "$IMC_BIN/imc-layout" -c "$CONF" check
check "Pickup mode 1730" test "$(stat -c %a "$ROOT/Pickup")" = 1730
check "Work mode 700" test "$(stat -c %a "$ROOT/Work")" = 700
check "root mode 710" test "$(stat -c %a "$ROOT")" = 710

rmdir "$ROOT/Out/Archive"
chmod 755 "$ROOT/In"
out=$("$IMC_BIN/imc-layout" -c "$CONF" check); rc=$?
check "check exits 1 on drift" test $rc = 1
check "check names a missing folder" grep -q 'drift: Out/Archive: missing' <<<"$out"
check "check names a wrong mode" grep -q 'drift: In: mode 0755, want 0700' <<<"$out"
check "connector starts on a tree with only safe drift" run_once
check "connector re-created the missing folder" test -d "$ROOT/Out/Archive"
check "fix repairs the mode" "$IMC_BIN/imc-layout" -c "$CONF" fix
check "check clean after fix" "$IMC_BIN/imc-layout" -c "$CONF" check

chmod 777 "$ROOT/Work"
out=$("$IMC_BIN/imc-layout" -c "$CONF" check)
check "world-writable queue folder is unsafe" grep -q 'UNSAFE: Work: world-writable' <<<"$out"
expect_exit 78 "connector refuses a world-writable Work" refused.log -c "$CONF" --once
check "refusal carries the same message" has 'Work: world-writable' "$OUT"
chmod 700 "$ROOT/Work"

mkdir -p "$ROOT/Store/example.com/bob" && svc_own "$ROOT/Store/example.com"
ln -s /tmp "$ROOT/Store/example.com/bob/new"
out=$("$IMC_BIN/imc-layout" -c "$CONF" check)
check "symlink deep in the tree is found" grep -q "UNSAFE: $ROOT/Store/example.com/bob/new: symbolic link" <<<"$out"
out=$("$IMC_BIN/imc-layout" -c "$CONF" fix); rc=$?
check "fix leaves a symlink for a person" test $rc = 1
drop tobob.eml 'From: a@example.com\r\nTo: bob@example.com\r\n\r\nx\r\n'
run_once
check "store never follows the symlink" test -z "$(ls /tmp | grep -F 'Q' | grep -F mx.test.example)"
check "message kept in In for a later try" test "$(ls "$ROOT"/In/*.env 2>/dev/null | wc -l)" = 1
check "deferral logged with the reason" grep -q 'event=deferred .*to=<bob@example.com>.*symbolic link' "$ROOT"/Log/*.log
rm "$ROOT/Store/example.com/bob/new"

# Work on another filesystem than Pickup: a claim by rename would fail.
# Mounting needs root; as root a failed mount is a failure, not a skip.
if [ "$(id -u)" != 0 ]; then
	skip "Work on another filesystem" "mounting a tmpfs needs root"
elif ! mount -t tmpfs imc-test "$ROOT/Work" 2>"$T/mount.err"; then
	not_ok "mount a tmpfs on Work: $(cat "$T/mount.err")"
else
	chmod 700 "$ROOT/Work"
	out=$("$IMC_BIN/imc-layout" -c "$CONF" check)
	check "Work on another filesystem is unsafe" grep -q 'UNSAFE: Work: on another filesystem than Pickup' <<<"$out"
	expect_exit 78 "connector refuses Work on another filesystem" refused.log -c "$CONF" --once
	umount "$ROOT/Work"
fi

mv "$ROOT/Work" "$T/Work.real"; ln -s "$T/Work.real" "$ROOT/Work"
expect_exit 78 "connector refuses a symlinked Work" refused.log -c "$CONF" --once
check "refusal names the symlink" has 'Work: is a symbolic link' "$OUT"

# A root that is someone else's non-empty folder (a web root named by
# mistake): fix must not give it to the service user, nor make folders in
# it; it says what to run if the folder really is meant for the connector.
F=$T/foreign
mkdir -m 755 "$F"; echo '<html>' > "$F/index.html"
printf 'root = %s\nuser = imcsvc\ngroup = imcwriters\n' "$F" > "$T/foreign.conf"
f_before=$(stat -c '%u:%g %a' "$F")
out=$("$IMC_BIN/imc-layout" -c "$T/foreign.conf" fix 2>&1); rc=$?
check "fix on a foreign folder exits 1 (drift left)" test $rc = 1
check "the foreign folder keeps its owner and mode" test "$(stat -c '%u:%g %a' "$F")" = "$f_before"
check "the foreign folder still belongs to root" test "$(stat -c %U "$F")" = "$(id -un)"
check "no tree folders made in it" test "$(ls -A "$F")" = index.html
check "fix says what to do instead" grep -q "drift: root: $F belongs to uid $(id -u) and holds other things (\"index.html\").*run \"chown imcsvc:imcwriters $F\" and \"chmod 0710 $F\" yourself" <<<"$out"
out=$("$IMC_BIN/imc-layout" -c "$T/foreign.conf" check 2>&1); rc=$?
check "check reports the foreign folder" test $rc = 1
check "check names it" grep -q "drift: root: $F belongs to uid" <<<"$out"
# the same folder empty is the admin's new root: fix takes it
rm "$F/index.html"
"$IMC_BIN/imc-layout" -c "$T/foreign.conf" fix >/dev/null; rc=$?
check "fix on an empty folder exits 0" test $rc = 0
check "the empty folder now belongs to the service user" test "$(stat -c %U "$F")" = imcsvc
finish
