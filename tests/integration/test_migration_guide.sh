#!/usr/bin/env bash
# README.md's migration guide ("## Migrating from IMC 5.5 or IIS SMTP"):
# every command in it runs, in order, taken from the README itself so the
# guide and the test cannot part. Its paths become scratch paths before
# anything runs (/etc/imc-connector/imc.conf the test's config,
# /var/lib/imc and /usr/local/sbin folders under $T, /usr/bin/imc-submit
# the build's), www-data the test writer imcwriter; a command still naming
# a system folder after that is a failure and is not run. Blocks: sh (run
# with bash -e, in $T/work, the build's programs first on PATH), imc.conf
# (the settings, added to the test's configuration before the first
# command), csharp (saved as pickup.cs, which a later sh block compiles).
# Then: the four old-style writers' messages are in the mailbox, Pickup
# is empty, and the tracking log names the writer.
. "$(dirname "$0")/lib.sh"
SRC=${IMC_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
[ "$(id -u)" = 0 ] || skip_all "the guide's commands run as root"
getent passwd imcwriter >/dev/null && getent group imcwriters >/dev/null ||
	skip_all "needs the imcwriter account (tools/install-deps.sh)"
need runuser adduser mcs mono php
WRITER=imcwriter
ROOT=$T/var/lib/imc/Imcdata

# The guide's fenced blocks, one file each: $T/guide/NN.INFO
mkdir -p "$T/guide" "$T/work" "$T/usr/local/sbin"
chmod 755 "$T/work" "$T/usr" "$T/usr/local" "$T/usr/local/sbin"
awk -v dir="$T/guide" '
	/^## / { inside = ($0 == "## Migrating from IMC 5.5 or IIS SMTP"); next }
	!inside { next }
	!fence && /^```[a-z.]+$/ { fence = 1; n++; f = sprintf("%s/%02d.%s", dir, n, substr($0, 4)); printf "" > f; next }
	fence && /^```$/ { fence = 0; close(f); next }
	fence { print > f }' "$SRC/README.md"
blocks=$(ls "$T/guide")
echo "# the guide's blocks: $(echo $blocks)"
check "the guide has sh, imc.conf and csharp blocks" bash -c "
	ls '$T'/guide/*.sh >/dev/null && ls '$T'/guide/*.imc.conf >/dev/null &&
	ls '$T'/guide/*.csharp >/dev/null"

# scratch FILE - the block with its paths made scratch paths
scratch() {
	sed -e "s|/etc/imc-connector/imc.conf|$CONF|g" \
		-e "s|/var/lib/imc|$T/var/lib/imc|g" \
		-e "s|/usr/local/sbin/|$T/usr/local/sbin/|g" \
		-e "s|/usr/bin/imc-submit|$IMC_BIN/imc-submit|g" \
		-e "s|www-data|$WRITER|g" "$1"
}
# system_paths TEXT - what in TEXT still names a system folder
system_paths() { sed "s|$T/||g" <<<"$1" | grep -oE '(^|[^A-Za-z0-9_.])/(etc|var|srv|home|usr/local|opt)/[^ ]*'; }

check "the guard sees a system folder" test -n "$(system_paths 'cat > /etc/x; ls /usr/local/sbin/')"
check "the guard lets scratch paths pass" test -z "$(system_paths "ls $T/var/lib/imc /usr/bin/php")"

conf_lines=()
for f in "$T"/guide/*.imc.conf; do
	while IFS= read -r l; do conf_lines+=("$l"); done < <(scratch "$f")
done
write_conf "group = imcwriters" "${conf_lines[@]}"
chmod 644 "$CONF"
for f in "$T"/guide/*.csharp; do
	scratch "$f" > "$T/work/pickup.cs"
done

for f in "$T"/guide/*.sh; do
	cmd=$(scratch "$f")
	name="guide block $(basename "$f"): $(head -n 1 "$f" | cut -c 1-60)"
	bad=$(system_paths "$cmd")
	if [ -n "$bad" ]; then
		not_ok "$name names a system folder: $bad"
		continue
	fi
	(cd "$T/work" && PATH=$IMC_BIN:$PATH timeout 120 bash -e -o pipefail -c "$cmd") \
		>"$T/out-$(basename "$f").log" 2>&1
	rc=$?
	check "$name (exit 0)" test $rc = 0
	[ $rc = 0 ] || tail -n 5 "$T/out-$(basename "$f").log" | sed 's/^/#   /'
done
outs=$(cat "$T"/out-*.log 2>/dev/null)
check "stat shows Pickup 1730, the service user's, group imcwriters" \
	has "^1730 $SVC_USER:imcwriters $ROOT/Pickup\$" "$outs"
check "stat shows the root 710" has "^710 $SVC_USER:imcwriters $ROOT\$" "$outs"
check "the writer could not list Pickup" has "$WRITER may add files, not list them" "$outs"
check "four messages in alice's mailbox" mailbox_has example.org alice 4
for s in "CDONTS style" ".NET pickup" "PHP mail()" "from a script"; do
	check "delivered: $s" bash -c "grep -lF 'Subject: $s' '$ROOT'/Store/example.org/alice/new/* >/dev/null"
done
check "Pickup is empty" bash -c "test -d '$ROOT/Pickup' && test -z \"\$(ls -A '$ROOT/Pickup' | grep -vx Archive)\""
check "nothing went to Pickup/Archive" bash -c "test -d '$ROOT/Pickup/Archive' && test -z \"\$(ls -A '$ROOT/Pickup/Archive')\""
check "the tracking log names the writer of each file" \
	test "$(grep -h 'picked-up' "$ROOT"/Log/*.log | grep -c "$WRITER")" = 4
finish
