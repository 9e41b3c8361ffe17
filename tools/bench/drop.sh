#!/usr/bin/env bash
#
# tools/bench/drop.sh - part 7 of tools/bench.sh (a BENCHMARK, not a test):
# Pickup to the IIS-style Drop folder (store = drop).
#
# N messages of SIZE bytes (to user1..userRCPTS@example.com) already in
# Pickup, then the time of `imc-connector --once` (it exits once every
# message is in Drop/ as <qid>.eml, durably: one syncfs per batch before
# and after the store handoff), RUNS times; beside it, in the same run and
# on the same messages, the same with store = maildir (the built-in
# store), so the two backends can be compared. Each row: msg/s (median of
# the runs; every run's figure after it), seconds, user and system CPU,
# peak RSS (GNU time), syncs per message (the connector's stats line).
# Every run is checked: N files in Drop/ (N messages in the mailboxes'
# new/), nothing left in Pickup, Work, In, Out or Badmail.
#
# Called by tools/bench.sh with BIN, PY, DRIVER, W (its scratch folder),
# N, SIZE, RCPTS, RUNS, USER_LINE (the config line for the connector's
# user, or empty) and TMO (seconds allowed to one run). Everything lives in
# $W/drop, removed at the end; nothing is left running (--once only).

set -euo pipefail
BENCH_TAG=drop
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${BIN:?}" "${PY:?}" "${DRIVER:?}" "${W:?}"
N=${N:-10000}
SIZE=${SIZE:-2048}
RCPTS=${RCPTS:-20}
RUNS=${RUNS:-3}
TMO=${TMO:-900}
USER_LINE=${USER_LINE:-}

[[ -x /usr/bin/time ]] || die "needs GNU time (/usr/bin/time)"

D=$W/drop
rm -rf "$D"
mkdir -p "$D"
chmod 755 "$D"
log "generating $N messages of $SIZE bytes"
$PY "$DRIVER" gen "$D/msgs" "$N" "$SIZE" "$RCPTS" d
$PY "$DRIVER" gen "$D/warm" "$RCPTS" 600 "$RCPTS" w

# tree STORE: a tree and configuration for that store in $D/STORE
tree() {
	local c=$D/$1
	mkdir -p "$c"
	chmod 755 "$c"
	{
		echo "root = $c/Imcdata"
		echo "hostname = mx.bench.example"
		[[ -z $USER_LINE ]] || echo "$USER_LINE"
		echo "local_domains = example.com"
		echo "store = $1"
		echo "smarthost = [127.0.0.1]:9"
	} >"$c/imc.conf"
	"$BIN/imc-layout" -c "$c/imc.conf" create >/dev/null ||
	    die "imc-layout create ($1) failed"
}

# stored STORE: messages the store holds
stored() {
	local r=$D/$1/Imcdata
	if [[ $1 == drop ]]; then
		find "$r/Drop" -maxdepth 1 -name '*.eml' -type f | wc -l
	else
		find "$r/Store/example.com" -mindepth 3 -maxdepth 3 \
		    -path '*/new/*' -type f 2>/dev/null | wc -l
	fi
}
clear_store() {
	local r=$D/$1/Imcdata
	find "$r/Drop" -maxdepth 1 -name '*.eml' -type f -delete
	find "$r/Store" -mindepth 4 -maxdepth 4 -path '*/new/*' -type f \
	    -delete 2>/dev/null || true
	sync
}

# once STORE RUN: one timed --once; appends "rate secs usr sys hwm spm" to
# $D/STORE.runs
once() {
	local s=$1 run=$2 c=$D/$1 t0 t1 rc=0 got secs usr sys hwm barriers
	rm -rf "$D/stage"
	cp -r "$D/msgs" "$D/stage"
	$PY "$DRIVER" drop "$D/stage" "$c/Imcdata/Pickup" >/dev/null ||
	    die "drop into Pickup failed"
	sync	# the drop is not part of the timing
	t0=$(now_ns)
	timeout "$TMO" /usr/bin/time -f '%U %S %M' -o "$D/time.out" \
	    "$BIN/imc-connector" -c "$c/imc.conf" --once 2>"$D/once.log" || rc=$?
	t1=$(now_ns)
	(( rc == 0 )) || { tail -5 "$D/once.log" >&2; die "--once ($s run $run) exited $rc"; }
	got=$(stored "$s")
	(( got == N )) || die "$s run $run: $got of $N stored"
	(( $(find "$c/Imcdata/Pickup" "$c/Imcdata/Work" "$c/Imcdata/In" \
	    "$c/Imcdata/Out" "$c/Imcdata/Badmail" -maxdepth 1 -type f | wc -l) == 0 )) ||
	    die "$s run $run: files left in Pickup, Work, In, Out or Badmail"
	read -r usr sys hwm < <(tail -1 "$D/time.out")
	barriers=$(grep 'stats:' "$D/once.log" | tail -1 |
	    sed -n 's/.*barriers=\([0-9]*\).*/\1/p')
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	echo "$(awk -v s="$secs" -v n="$N" 'BEGIN { printf "%.0f", n / s }') $secs $usr $sys $hwm $(awk -v b="${barriers:-0}" -v n="$N" 'BEGIN { printf "%.4f", b / n }')" >>"$D/$s.runs"
	log "$s run $run: $N in ${secs}s, user ${usr}s sys ${sys}s, max RSS ${hwm} kB, barriers=${barriers:-?}"
	rm -rf "$D/stage"
	clear_store "$s"
}

for s in drop maildir; do
	tree "$s"
	: >"$D/$s.runs"
	# warm-up: one message per mailbox
	cp "$D/warm/"* "$D/$s/Imcdata/Pickup/"
	timeout 120 "$BIN/imc-connector" -c "$D/$s/imc.conf" --once 2>"$D/once.log" ||
	    { tail -5 "$D/once.log" >&2; die "warm-up ($s) failed"; }
	clear_store "$s"
done
log "$RUNS run(s) of $N messages each, drop and maildir in turn (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
for ((r = 1; r <= RUNS; r++)); do
	once drop "$r"
	once maildir "$r"
done

# the median line of a .runs file by msg/s, then every run's msg/s
summary() {
	local f=$1 med all
	med=$(sort -n "$f" | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }')
	all=$(awk '{ printf "%s%s", (NR > 1 ? "/" : ""), $1 }' "$f")
	echo "$med $all"
}
echo
echo "Part 7: Pickup to Drop ($N x $SIZE bytes, --once, $RUNS run(s), root file system $(findmnt -n -o FSTYPE -T "$D"); median by msg/s)"
printf '%-22s %8s %-20s %8s %7s %7s %9s %9s\n' store "msg/s" "(each run)" secs "user s" "sys s" "RSS kB" "syncs/msg"
for s in drop maildir; do
	read -r rate secs usr sys hwm spm all < <(summary "$D/$s.runs")
	printf '%-22s %8s %-20s %8s %7s %7s %9s %9s\n' \
	    "$([[ $s == drop ]] && echo 'Drop/ (store = drop)' || echo 'Maildir (built-in)')" \
	    "$rate" "($all)" "$secs" "$usr" "$sys" "$hwm" "$spm"
done
rm -rf "$D"
