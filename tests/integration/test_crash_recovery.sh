#!/usr/bin/env bash
# Crash recovery under load: 2,000 distinct messages are published into
# Pickup while the connector daemon is killed with SIGKILL at random moments
# (every 50-300 ms) and restarted; a final --once pass finishes the work.
# Then every message must be in every mailbox it was addressed to exactly
# once (matched by its body marker: losses, duplicates and misroutes fail and
# are listed), and Pickup, Work/, In/, Out/, Badmail and Pickup/Archive must
# hold nothing.
#
# The kill loop is bounded by time (as long as the dropper runs, plus a few
# seconds, never more than KILL_MAX_SECS), not by a count of kills, so a slow
# build (AddressSanitizer) sees fewer kills rather than a longer run.
. "$(dirname "$0")/lib.sh"

N=${IMC_CRASH_MESSAGES:-2000}
KILL_MAX_SECS=${IMC_CRASH_KILL_SECS:-90}	# hard bound on the kill loop
TAIL_SECS=3				# keep killing this long after the last drop
SEED=${IMC_CRASH_SEED:-$(( $(date +%s%N) % 32768 ))}
RANDOM=$SEED
echo "# $N messages, random seed $SEED"

# Run a copy of the programs: the build folder may be rebuilt while this
# test runs, and an exec of a half-linked file is not the connector's fault.
mkdir "$T/bin" && cp "$IMC_BIN/imc-connector" "$IMC_BIN/imc-layout" "$T/bin/" ||
    { not_ok "copy the programs from $IMC_BIN"; finish; exit 1; }
IMC_BIN=$T/bin

write_conf "pickup_settle = 1s"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null || { not_ok "create"; finish; exit 1; }
P=$ROOT/Pickup

# Mailboxes (domain/local, lowercase as the store names them).
BOXES=(example.com/alice example.com/bob example.com/carol
       example.org/dave example.org/erin example.com/frank)
NB=${#BOXES[@]}

# rcpts_of I - sets R1, A1 (and R2, A2 for every fifth message: a second
# local recipient); Rn is the mailbox (domain/local), An the address.
rcpts_of() {
	local i=$1
	R1=${BOXES[$((i % NB))]}
	A1=${R1#*/}@${R1%%/*}
	R2='' A2=''
	if [ $((i % 5)) = 0 ]; then
		# offset 1..NB-1, so never the same mailbox as R1
		R2=${BOXES[$(( (i + 1 + (i / 5) % (NB - 1)) % NB ))]}
		A2=${R2#*/}@${R2%%/*}
	fi
}

# A few hundred bytes of filler; every 50th message carries ~15 KB.
printf -v FILL 'filler line %03d abcdefghijklmnopqrstuvwxyz0123456789 ABCDEFGHIJKLMNOPQR\\r\\n' $(seq 1 10)
BIGFILL=
for k in $(seq 1 20); do BIGFILL=$BIGFILL$FILL; done

# msg_of I - sets MSG, the content of message I (printf %b escapes, as drop
# expects); no subshell, as forks are what makes a bash dropper slow.
msg_of() {
	local i=$1 m head body
	printf -v m 'M%05d' "$i"
	rcpts_of "$i"
	if [ $((i % 2)) = 0 ]; then
		head="X-Sender: app@example.net\\r\\nX-Receiver: <$A1>\\r\\n"
		[ -n "$R2" ] && head="$head""X-Receiver: $A2\\r\\n"
		head="$head""From: App <app@example.net>\\r\\nTo: someone-else@example.net\\r\\n"
	else
		head="From: Sender $i <sender$i@example.net>\\r\\nTo: \"Box One\" <$A1>\\r\\n"
		[ -n "$R2" ] && head="$head""Cc: $A2\\r\\n"
	fi
	head="$head""Subject: crash test $m\\r\\nMessage-ID: <$m.crash@test.example>\\r\\n"
	body="body-marker=$m\\r\\n$FILL"
	[ $((i % 50)) = 0 ] && body="$body$BIGFILL"
	MSG="$head\\r\\n$body"
}

# Expected deliveries, one "domain/local marker" line each.
for i in $(seq 1 "$N"); do
	rcpts_of "$i"
	printf -v m 'M%05d' "$i"
	echo "$R1 $m"
	[ -n "$R2" ] && echo "$R2 $m"
done | sort > "$T/expected"
NEXP=$(wc -l < "$T/expected")

# The dropper publishes messages 1..N atomically, in random bursts of 5-35
# with pauses of 50-250 ms, so the drops spread over ~20 s. Every tenth file
# is written as Pickup/.mI.eml.tmp and renamed (drop); the others are written
# in $T/stage (same filesystem) and renamed into Pickup by one mv per burst,
# as forks are slow and a fork per file would make the dropper the bottleneck.
dropper() {
	local i=1 k burst pause names f
	mkdir -p "$T/stage" || return 1
	while [ "$i" -le "$N" ]; do
		burst=$((5 + RANDOM % 31))
		names=()
		for ((k = 0; k < burst && i <= N; k++, i++)); do
			msg_of "$i"
			if [ $((i % 10)) = 0 ]; then
				drop "m$i.eml" "$MSG" ||
				    echo "drop of m$i.eml failed" >> "$T/dropper.err"
			else
				printf '%b' "$MSG" > "$T/stage/m$i.eml" ||
				    echo "write of m$i.eml failed" >> "$T/dropper.err"
				names+=("$T/stage/m$i.eml")
			fi
		done
		# mv's status is no use here: after each rename it stats the new
		# name, which the daemon may already have taken. A file still in
		# stage/ is one that was not published.
		if [ ${#names[@]} -gt 0 ]; then
			mv -t "$P" -- "${names[@]}" 2>>"$T/mv.log"
			for f in "${names[@]}"; do
				[ -e "$f" ] && echo "$f not moved into Pickup" >> "$T/dropper.err"
			done
		fi
		printf -v pause '0.%03d' $((50 + RANDOM % 201))
		sleep "$pause"
	done
	echo "$N" > "$T/dropper.done"
}

START=$SECONDS
dropper &
DROP_PID=$!

# The kill loop: start the daemon, let it run 50-300 ms, SIGKILL it, and
# again, while the dropper runs and TAIL_SECS after; bounded by time.
kills=0 early=0 starts=0 dropper_end=
while [ $((SECONDS - START)) -lt "$KILL_MAX_SECS" ]; do
	if [ -z "$dropper_end" ] && ! kill -0 "$DROP_PID" 2>/dev/null; then
		dropper_end=$SECONDS
	fi
	[ -n "$dropper_end" ] && [ "$SECONDS" -ge $((dropper_end + TAIL_SECS)) ] && break
	"$IMC_BIN/imc-connector" -c "$CONF" --foreground 2>>"$T/daemon.log" &
	DAEMON_PID=$!
	starts=$((starts + 1))
	printf -v pause '0.%03d' $((50 + RANDOM % 251))
	sleep "$pause"
	kill -KILL "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	rc=$?
	DAEMON_PID=
	if [ "$rc" = 137 ]; then
		kills=$((kills + 1))
	else
		early=$((early + 1))
		echo "# daemon start $starts exited on its own with status $rc"
	fi
done
# The dropper ends by itself (N files); bound the wait anyway.
for _ in $(seq 1 600); do kill -0 "$DROP_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$DROP_PID" 2>/dev/null; then
	kill "$DROP_PID" 2>/dev/null
	not_ok "dropper did not finish within the kill loop bound plus 60 s"
fi
wait "$DROP_PID" 2>/dev/null
KILLED_AT=$SECONDS
echo "# dropper: $(( ${dropper_end:-$SECONDS} - START )) s; kill loop: $starts starts, $kills SIGKILLs, $((KILLED_AT - START)) s"

[ -s "$T/dropper.err" ] && head -20 "$T/dropper.err" | sed 's/^/# dropper: /'
check "dropper published all $N files" test -f "$T/dropper.done" -a ! -s "$T/dropper.err"
check "no daemon start exited on its own before its SIGKILL" test "$early" = 0
check "the daemon was killed at least 20 times" test "$kills" -ge 20

before=$(find "$ROOT/Store" -type f -path '*/new/*' 2>/dev/null | wc -l)
echo "# delivered before the final pass: $before of $NEXP"
check "daemons made progress between kills" test "$before" -gt 0

# The final pass: recovery of the last crash, then every Pickup file.
CONNECTOR_TIMEOUT=150 run_once
check "final --once exits 0 (rc $RC)" test "$RC" = 0
echo "# final pass: $((SECONDS - KILLED_AT)) s; total $((SECONDS - START)) s"

# What arrived: "domain/local marker" for every file in new/ and cur/.
find "$ROOT/Store" -type f \( -path '*/new/*' -o -path '*/cur/*' \) > "$T/files"
NFILES=$(wc -l < "$T/files")
tr '\n' '\0' < "$T/files" | xargs -0 -r grep -a -H -o '^body-marker=M[0-9]*' |
    sed "s|^$ROOT/Store/\([^/]*/[^/]*\)/[a-z]*/[^:]*:body-marker=|\1 |" |
    sort > "$T/actual"
NACT=$(wc -l < "$T/actual")

sort -u "$T/actual" > "$T/actual.u"
uniq -d "$T/actual" > "$T/dups"
comm -23 "$T/expected" "$T/actual.u" > "$T/missing"
comm -13 "$T/expected" "$T/actual.u" > "$T/extra"
show() { # show FILE TITLE - list up to 30 lines of a problem file
	[ -s "$1" ] || return 0
	echo "# $2 ($(wc -l < "$1")):"
	head -30 "$1" | sed 's/^/#   /'
	if [ "$1" = "$T/dups" ]; then
		head -5 "$1" | while read -r box m; do
			echo "#   files of $m in $box:"
			grep -l -a "^body-marker=$m" "$ROOT/Store/$box"/new/* "$ROOT/Store/$box"/cur/* 2>/dev/null | sed 's/^/#     /'
		done
	fi
}
show "$T/missing" "lost (mailbox marker)"
show "$T/dups" "delivered more than once (mailbox marker)"
show "$T/extra" "delivered to a mailbox it was not addressed to"
check "no message lost ($(wc -l < "$T/missing") missing)" test ! -s "$T/missing"
check "no message duplicated ($(wc -l < "$T/dups") duplicated)" test ! -s "$T/dups"
check "no message misrouted" test ! -s "$T/extra"
check "store holds $NEXP files (has $NFILES)" test "$NFILES" = "$NEXP"
check "every stored file carries one marker ($NACT markers, $NFILES files)" test "$NACT" = "$NFILES"

left() { # left DIR - entries in DIR (recursive, folders of the layout aside)
	find "$1" -mindepth 1 \( -type f -o -type l -o -type p \) 2>/dev/null | head -20
}
check "Pickup holds no message files" test -z "$(find "$P" -maxdepth 1 ! -type d)"
check "Pickup/Archive empty" test -z "$(left "$P/Archive")"
check "Work/ empty" test -z "$(find "$ROOT/Work" -mindepth 1)"
check "In/ empty" test -z "$(left "$ROOT/In")"
check "Out/ empty (all recipients are local)" test -z "$(left "$ROOT/Out")"
check "Badmail empty" test -z "$(left "$ROOT/Badmail")"
for d in Pickup Work In Out Badmail; do
	l=$(left "$ROOT/$d")
	[ -n "$l" ] && echo "# left in $d:" && echo "$l" | sed 's/^/#   /'
done

# The tracking log reaches its file before a batch's Work files go, so a
# crash may repeat a line (the batch is redone) but never loses one.
cat "$ROOT"/Log/*.log > "$T/track" 2>/dev/null
sed -n 's/.*event=delivered qid=\([0-9A-Z]*\) .*to=<\([^>]*\)>.*/\1 \2/p' "$T/track" | sort -u > "$T/track.delivered"
echo "# tracking log: $(grep -c 'event=picked-up' "$T/track") picked-up lines for $N messages," \
    "$(wc -l < "$T/track.delivered") distinct delivered (qid, recipient) for $NFILES store files"
check "tracking log: a delivered line for every store file" \
    test "$(wc -l < "$T/track.delivered")" = "$NFILES"
sed -n 's/.*event=picked-up qid=\([0-9A-Z]*\) .*/\1/p' "$T/track" | sort -u > "$T/track.picked"
sed -n 's/.*\.Q\([0-9A-Z]\{16\}\)_[0-9]*\..*/\1/p' "$T/files" | sort -u > "$T/store.qids"
check "tracking log: a picked-up line for every stored message" \
    test -s "$T/store.qids" -a -z "$(comm -23 "$T/store.qids" "$T/track.picked")"
finish
