#!/usr/bin/env bash
# test_smtpd_crash.sh - SIGKILL while 20 clients send 2,000 messages to
# the listener, then a restart: every message that got its 250 is in the
# store exactly once; a message whose final dot was never sent is not
# there at all; one whose dot went out but whose reply never came (the
# window between the barrier and the client reading its 250) is there at
# most once. Nothing is left in Work/.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"
CLIENT=$IMC_SRC/tests/integration/smtpd_crash_client.py
P=$(free_port)
write_conf "listen = 127.0.0.1:$P" "smtpd_greet_pause = 0s" "smtpd_max_per_client = 100"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null
start_daemon || abort_test "daemon starts"

$PY "$CLIENT" 127.0.0.1 "$P" --clients 20 --messages 100 --deadline 240 \
	--log "$T/clients.log" 2>"$T/clients.err" &
CPID=$!
# kill once a good part has been taken, while the clients are busy
for i in $(seq 1 600); do
	n=$(grep -c '^ok ' "$T/clients.log" 2>/dev/null)
	[ "${n:-0}" -ge 600 ] && break
	kill -0 $CPID 2>/dev/null || break
	sleep 0.05
done
before=$(grep -c '^ok ' "$T/clients.log")
kill -KILL "$DAEMON_SIG_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID= DAEMON_SIG_PID=
check "killed while the clients sent (250s before the kill: $before)" test "$before" -ge 1 -a "$before" -lt 2000
sleep 1
start_daemon || abort_test "daemon restarts after SIGKILL"
for i in $(seq 1 3000); do
	kill -0 $CPID 2>/dev/null || break
	sleep 0.1
done
if kill -0 $CPID 2>/dev/null; then
	kill -TERM $CPID
	not_ok "the clients did not finish within 300 s"
fi
wait $CPID
check "the clients' log is complete" grep -q '^done' "$T/clients.log"
# the store settles: every Work file taken
wait_for 30 eval 'test -z "$(ls -A "$ROOT/Work")"'
stop_daemon
check "nothing left in Work/" test -z "$(ls -A "$ROOT/Work")"

# what the store holds, per message id
grep -rh '^X-Crash-Id: ' "$ROOT/Store" | tr -d '\r' | awk '{ print $2 }' | sort > "$T/stored"
sort -u "$T/stored" > "$T/stored.u"
awk '$1 == "ok" { print $2 }' "$T/clients.log" | sort -u > "$T/ok"
awk '$1 == "dot" { print $2 }' "$T/clients.log" | sort -u > "$T/dot"
n_ok=$(wc -l < "$T/ok")
n_dot=$(wc -l < "$T/dot")
n_stored=$(wc -l < "$T/stored")
echo "# 250s: $n_ok, final dots sent: $n_dot, stored: $n_stored"
check "some 250s came after the restart ($n_ok in all, $before before the kill)" test "$n_ok" -gt "$before"
check "no message is stored twice" test "$(uniq -d "$T/stored" | wc -l)" = 0
check "every message that got its 250 is stored ($(comm -23 "$T/ok" "$T/stored.u" | wc -l) missing)" \
	test "$(comm -23 "$T/ok" "$T/stored.u" | wc -l)" = 0
check "nothing stored whose final dot was never sent ($(comm -13 "$T/dot" "$T/stored.u" | wc -l) such)" \
	test "$(comm -13 "$T/dot" "$T/stored.u" | wc -l)" = 0
unknown=$(comm -23 "$T/dot" "$T/ok" | wc -l)
echo "# dots without a 250 (the kill's window): $unknown, of them stored: $(comm -12 <(comm -23 "$T/dot" "$T/ok") "$T/stored.u" | wc -l)"
check "the dots without a reply are few (the kill's window: $unknown)" test "$unknown" -le 40
finish
