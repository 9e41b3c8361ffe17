#!/usr/bin/env bash
# test_config_bounds.sh - numbers in the configuration are bounded (issue 13
# item 15): 2^64-1 seconds for pickup_rescan used to be accepted and made
# the idle daemon spin (the next rescan wrapped to "now"), and the same for
# max_lifetime bounced every message at its first deferral. Such values
# now stop every program with FILE:LINE, the allowed range, and exit 78;
# the daemon never starts with them. Values at the edge are taken.
. "$(dirname "$0")/lib.sh"

U64MAX=18446744073709551615

# refused NAME TEXT CONF-LINES... - every program exits 78 with
# "FILE:LINE: TEXT", LINE the one of the last CONF-LINE (wherever
# write_conf put it); the daemon (no --once) too, within 10 s
refused() {
	local name=$1 text=$2; shift 2
	write_conf "$@"
	local prog out rc line want
	line=$(grep -n -F -x -- "${*: -1}" "$CONF" | tail -1 | cut -d: -f1)
	want="$CONF:$line: $text"
	for prog in once daemon layout queue; do
		case $prog in
		once) out=$(timeout 10 "$IMC_BIN/imc-connector" -c "$CONF" --once 2>&1) ;;
		daemon) out=$(timeout 10 "$IMC_BIN/imc-connector" -c "$CONF" 2>&1) ;;
		layout) out=$(timeout 10 "$IMC_BIN/imc-layout" -c "$CONF" check 2>&1) ;;
		queue) out=$(timeout 10 "$IMC_BIN/imc-queue" -c "$CONF" list 2>&1) ;;
		esac
		rc=$?
		if [ "$rc" != 78 ] || ! grep -qF -- "$want" <<<"$out"; then
			not_ok "$name ($prog: rc=$rc, said: $out)"
			return
		fi
	done
	ok "$name"
}

write_conf "user = imcsvc"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null ||
	{ not_ok "imc-layout create"; finish; exit 1; }

refused "pickup_rescan = 2^64-1 is refused with FILE:LINE and the range" \
	"pickup_rescan: \"$U64MAX\" is out of range: from 1s to 1d" \
	"pickup_rescan = $U64MAX"
refused "max_lifetime = 2^64-1 is refused with FILE:LINE and the range" \
	"max_lifetime: \"$U64MAX\" is out of range: from 1s to 365d" \
	"# a comment line" "max_lifetime = $U64MAX"
refused "pickup_rescan = 2^64 (past 64 bits) is out of range too" \
	"pickup_rescan: \"18446744073709551616\" is out of range" \
	"pickup_rescan = 18446744073709551616"
refused "a duration whose unit overflows is out of range" \
	"max_lifetime: \"213503982334602d\" is out of range" \
	"max_lifetime = 213503982334602d"
refused "max_connections above 10000 is refused" \
	"max_connections: \"10001\" is out of range: from 1 to 10000" \
	"max_connections = 10001"
refused "max_message_size above 2G is refused" \
	"max_message_size: \"3G\" is out of range: from 1K to 2G" \
	"max_message_size = 3G"

# the largest values allowed are taken: a run with them works
write_conf "user = imcsvc" "pickup_rescan = 1d" "max_lifetime = 365d" "max_connections = 10000" \
	"max_message_size = 2G" "timeout_data_done = 1d" "retry_schedule = 7d, 1s"
timeout 60 "$IMC_BIN/imc-connector" -c "$CONF" --once 2>>"$T/once.log"
check "the maximum values are accepted (--once exits 0)" test $? = 0

# and the daemon with the largest pickup_rescan sleeps instead of spinning:
# over 2 s it uses less than a quarter second of CPU time
start_daemon || not_ok "daemon starts with pickup_rescan = 1d"
if [ -n "$DAEMON_PID" ]; then
	t0=$(awk '{ print $14 + $15 }' "/proc/$DAEMON_PID/stat")
	sleep 2
	t1=$(awk '{ print $14 + $15 }' "/proc/$DAEMON_PID/stat")
	ticks=$(getconf CLK_TCK)
	check "the idle daemon does not spin ($((t1 - t0)) ticks of CPU in 2 s)" \
		test $((t1 - t0)) -lt $((ticks / 4))
	stop_daemon
fi
finish
