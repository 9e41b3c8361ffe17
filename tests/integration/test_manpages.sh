#!/usr/bin/env bash
# The manual pages: one per program and imc.conf(5); each renders with no
# warning from groff -wall or man --warnings; imc.conf(5), written by
# mkconfman from config.c's key table and README.md's meanings, has an
# entry with its default for every key, and mkconfman refuses to write a
# page that would leave a key out. Once a program has --help, every long
# option its usage names is in its page.
. "$(dirname "$0")/lib.sh"
need groff man gzip
SRC=${IMC_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=$(cd "$IMC_BIN/.." && pwd)
MKCONFMAN=$BUILD/tools/mkconfman
CONFMAN=$BUILD/tools/pkg/man/imc.conf.5
[ -x "$MKCONFMAN" ] && [ -f "$CONFMAN" ] || abort_test "the build has no mkconfman and no imc.conf.5 ($BUILD)"

# page_of PROGRAM - its page in the source tree
page_of() { ls "$SRC/tools/man/$1".[18] 2>/dev/null | head -1; }

# lint PAGE - groff's and man's warnings, if any
lint() {
	groff -wall -z -man "$1" 2>&1
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$1" 2>&1 >/dev/null
}

for prog in imc-connector imc-layout imc-queue imc-submit imc-convert; do
	check "$prog has a manual page" test -n "$(page_of "$prog")"
done
for page in "$SRC"/tools/man/*.[158] "$CONFMAN"; do
	w=$(lint "$page")
	check "$(basename "$page") renders without warnings" test -z "$w"
	[ -z "$w" ] || head -n 5 <<<"$w" | sed 's/^/#   /'
	check "$(basename "$page") has NAME, SYNOPSIS, DESCRIPTION, SEE ALSO" bash -c "
		for s in NAME SYNOPSIS DESCRIPTION 'SEE ALSO'; do
			grep -qx \".SH \$s\" '$page' || exit 1
		done"
done
# The lint finds what it should: an undefined macro and a bad font.
printf '.TH BAD 1\n.SH NAME\nbad \\- x\n.XY y\n\\fQz\n' > "$T/bad.1"
check "the lint reports a broken page" test -n "$(lint "$T/bad.1")"

# imc.conf(5) against README.md's key table (which check_config_doc holds
# against config.c): every key an entry, with README's default.
keys=$(sed -n 's/^| `\([a-z0-9_]*\)` | \(.*\) | .* |$/\1\t\2/p' "$SRC/README.md")
check "README.md's key table was read" test "$(grep -c . <<<"$keys")" -gt 30
missing=
while IFS=$'\t' read -r key dflt; do
	want="Default: $(sed -e 's/\\/\\e/g' -e 's/`\([^`]*\)`/\\fB\1\\fR/g' <<<"$dflt")"
	# ENVIRON, not -v: awk would read the \f of \fB as an escape
	K=".B $key" D=$want awk '
		prev == ".TP" && $0 == ENVIRON["K"] { found = 1; next }
		found == 1 { ok = index($0, ENVIRON["D"]) == 1; exit }
		{ prev = $0 }
		END { exit ok ? 0 : 1 }' "$CONFMAN" || missing="$missing $key"
done <<<"$keys"
check "imc.conf(5) has every key of README.md with its default" test -z "$missing"
[ -z "$missing" ] || echo "#   missing or wrong:$missing"
check "imc.conf(5) describes relay ([domain] only)" grep -qx '.B relay' "$CONFMAN"
# the keys README's [domain] paragraph names (check_config_doc holds them
# to config.c), each in the page's DOMAIN SECTIONS
dkeys=$(sed -n '/^`\[domain NAME\]` sections/,/^$/p' "$SRC/README.md" | tr '\n' ' ' |
	sed 's/.* accept //; s/([^)]*)//g' | grep -o '`[a-z_]*`' | tr -d '`' | grep -vx relay)
check "README.md's [domain] keys were read" test "$(grep -c . <<<"$dkeys")" -ge 5
missing=
for k in $dkeys; do
	sed -n '/^\.SH DOMAIN SECTIONS/,/^\.SH /p' "$CONFMAN" | grep -qx ".BR $k ," || missing="$missing $k"
done
check "imc.conf(5)'s DOMAIN SECTIONS lists every [domain] key" test -z "$missing"
[ -z "$missing" ] || echo "#   missing:$missing"
check "imc.conf(5) names the default path and IMC_CONFIG" \
	bash -c "grep -q '/etc/imc-connector/imc.conf' '$CONFMAN' && grep -q IMC_CONFIG '$CONFMAN'"

# mkconfman stops the build rather than leave a key out.
sed '/^| `archive` |/d' "$SRC/README.md" > "$T/README.md"
"$MKCONFMAN" "$T/README.md" "$SRC/tools/man/imc.conf.5.in" "$T/out.5" 2>"$T/mk.log"
check "a README without the archive row: mkconfman exits 65" test $? = 65
check "... names the key" grep -q 'archive: a key of config.c without a row' "$T/mk.log"
check "... and writes no page" test ! -e "$T/out.5"
sed '/^\.B relay$/d' "$SRC/tools/man/imc.conf.5.in" > "$T/tmpl.5.in"
"$MKCONFMAN" "$SRC/README.md" "$T/tmpl.5.in" "$T/out.5" 2>"$T/mk.log"
check "a template that lacks relay: mkconfman exits 65 naming it" \
	bash -c "test $? = 65 && grep -q '^mkconfman: relay:' '$T/mk.log'"
grep -v '^\.\\" @DOMAIN_KEYS@$' "$SRC/tools/man/imc.conf.5.in" > "$T/tmpl.5.in"
"$MKCONFMAN" "$SRC/README.md" "$T/tmpl.5.in" "$T/out.5" 2>"$T/mk.log"
check "a template without the [domain] keys line: mkconfman exits 65" \
	bash -c "test $? = 65 && grep -q 'no line .* @DOMAIN_KEYS@' '$T/mk.log'"
"$MKCONFMAN" "$SRC/README.md" "$SRC/tools/man/imc.conf.5.in" "$T/out.5"
check "mkconfman on the real files writes the built page" cmp -s "$T/out.5" "$CONFMAN"

# Every long option a program's --help names is in its page (once the
# program has --help: until then its usage is an error, exit 64).
for prog in imc-connector imc-layout imc-queue imc-submit imc-convert; do
	if ! help=$("$IMC_BIN/$prog" --help 2>/dev/null); then
		echo "# $prog --help: not available in this build, options not compared"
		continue
	fi
	page=$(page_of "$prog") undocumented=
	for opt in $(grep -o -- '--[a-z][a-z0-9-]*' <<<"$help" | sort -u); do
		grep -q -- "$(sed 's/-/\\\\-/g' <<<"$opt")" "$page" || undocumented="$undocumented $opt"
	done
	check "$prog: every option of --help is in its page" test -z "$undocumented"
	[ -z "$undocumented" ] || echo "#   not in $(basename "$page"):$undocumented"
done
finish
