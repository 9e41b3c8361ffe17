#!/usr/bin/env bash
# Charset repair against the legacy corpus (tests/data/charset, made by
# make-corpus.sh): every case through imc-convert, then the default cases end
# to end through the connector into a Maildir. Each output is decoded by an
# independent decoder (Debian's /usr/bin/python3, email package) and compared
# with the case's expect.json (tests/integration/check_corpus.py).
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${IMC_TEST_DATA:-$HERE/../data}/charset
CHECK=$HERE/check_corpus.py
PY=/usr/bin/python3	# Debian's, not the first python3 on PATH

if [ ! -x "$PY" ]; then
	not_ok "Debian python3 ($PY) is needed to check the corpus"
	finish; exit 1
fi
cases=$(ls "$DATA"/[0-9][0-9]-*.eml 2>/dev/null)
if [ -z "$cases" ]; then
	not_ok "no corpus in $DATA (run tests/data/charset/make-corpus.sh)"
	finish; exit 1
fi

# check_out NAME OUT EXPECT [check_corpus options] - one ok/not ok line
check_out() {
	local name=$1 out=$2 exp=$3
	shift 3
	if timeout 30 "$PY" "$CHECK" --name "$name" "$@" "$out" "$exp"; then
		ok "$name"
	else
		not_ok "$name"
	fi
}

# -- 1. imc-convert on every case -----------------------------------------
if [ ! -x "$IMC_BIN/imc-convert" ]; then
	not_ok "imc-convert missing from $IMC_BIN: the charset repair CLI is not built"
else
	for in in $cases; do
		b=$(basename "$in" .eml)
		args=()
		[ -f "$DATA/$b.args" ] && read -r -a args < "$DATA/$b.args"
		# what the checker asserts follows from the destination options
		copts=(--charset utf-8)
		for ((i = 0; i < ${#args[@]}; i++)); do
			case ${args[i]} in
			--7bit) copts+=(--7bit) ;;
			--charset) copts[1]=${args[i + 1]} ;;
			esac
		done
		out=$T/$b.out
		rm -f "$out"
		# --defaults: no configuration file of the machine is read
		timeout 30 "$IMC_BIN/imc-convert" --defaults "${args[@]}" "$in" "$out" \
			>"$T/$b.stdout" 2>"$T/$b.stderr"
		rc=$?
		if [ "$rc" != 0 ] || [ ! -s "$out" ]; then
			not_ok "convert: $b (imc-convert ${args[*]} exit $rc, $(head -c 300 "$T/$b.stderr" | tr '\n' ' '))"
			continue
		fi
		check_out "convert: $b${args[*]:+ (${args[*]})}" "$out" \
			"$DATA/$b.expect.json" "${copts[@]}"
	done
fi

# -- 2. end to end: Pickup -> connector -> Maildir (target utf-8) -----------
write_conf
if ! "$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null 2>"$T/layout.log"; then
	not_ok "connector: imc-layout create ($(head -c 300 "$T/layout.log"))"
	finish; exit 1
fi
n=0
e2e=()
for in in $cases; do
	b=$(basename "$in" .eml)
	[ -f "$DATA/$b.args" ] && continue	# destination variants: convert only
	box=c${b%%-*}	# mailbox c01, c02, ...
	{
		printf 'X-Sender: a@example.com\r\nX-Receiver: %s@example.com\r\n' "$box"
		cat "$in"
	} > "$ROOT/Pickup/.$b.tmp" && mv "$ROOT/Pickup/.$b.tmp" "$ROOT/Pickup/$b.eml"
	e2e+=("$b")
	n=$((n + 1))
done
run_once
check "connector: --once exits 0 (rc $RC)" test "$RC" = 0
for b in "${e2e[@]}"; do
	box=c${b%%-*}
	f=$(mailbox_one example.com "$box")
	if [ -z "$f" ]; then
		not_ok "connector: $b delivered to $box@example.com"
		continue
	fi
	check_out "connector: $b" "$f" "$DATA/$b.expect.json" --charset utf-8
done
check "connector: pickup empty" test "$(count_files "$ROOT/Pickup")" = 0
check "connector: repairs are in the tracking log" \
	grep -q 'event=repaired .*status=In reason=".*ks_c_5601-1987' "$ROOT"/Log/*.log
check "connector: the tracking log names an unknown label and what was done" \
	grep -q 'event=repaired .*reason=".*charset us-askey (unknown), 8-bit; an unknown label, read as unlabelled text; read as WINDOWS-1252' "$ROOT"/Log/*.log
check "connector: the tracking log names a label only iconv knows" \
	grep -q 'event=repaired .*reason=".*charset ansi_x3.110-1983 (iconv only), 8-bit; a label modern readers do not know' "$ROOT"/Log/*.log
# -- 3. a part left as it was is logged, even when nothing else changes ----
printf 'X-Sender: a@example.com\r\nX-Receiver: left@example.com\r\nSubject: left\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-2022-jp\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xff\xfe\xfd\x80\r\n' \
	> "$ROOT/Pickup/.left.tmp" && mv "$ROOT/Pickup/.left.tmp" "$ROOT/Pickup/left.eml"
run_once
check "left: delivered as it was" test -n "$(mailbox_one example.com left)"
check "left: the tracking log says the part was left as it was" \
	grep -q 'event=left-as-is .*reason=".*8-bit bytes under the 7-bit label iso-2022-jp; does not decode as ISO-2022-JP-2, left as it was' "$ROOT"/Log/*.log
check "left: the connector log says so too" grep -q 'left as it was' "$T/once.log"
# -- 4. detect = yes end to end: the --detect cases through the connector --
write_conf "detect = yes"
for in in $cases; do
	b=$(basename "$in" .eml)
	grep -qx -- '--detect' "$DATA/$b.args" 2>/dev/null || continue
	{
		printf 'X-Sender: a@example.com\r\nX-Receiver: d%s@example.com\r\n' "${b%%-*}"
		cat "$in"
	} > "$ROOT/Pickup/.$b.tmp" && mv "$ROOT/Pickup/.$b.tmp" "$ROOT/Pickup/$b.eml"
	run_once
	f=$(mailbox_one example.com "d${b%%-*}")
	if [ -z "$f" ]; then
		not_ok "connector, detect = yes: $b delivered"
	else
		check_out "connector, detect = yes: $b" "$f" "$DATA/$b.expect.json" --charset utf-8
	fi
	check "connector, detect = yes: the tracking log names the guess" \
		grep -q 'event=repaired .*libuchardet says WINDOWS-1251; read as WINDOWS-1251' "$ROOT"/Log/*.log
done
[ "$FAILS" = 0 ] || { echo "# connector log:"; tail -n 20 "$T/once.log" 2>/dev/null | sed 's/^/#   /'; }
finish
