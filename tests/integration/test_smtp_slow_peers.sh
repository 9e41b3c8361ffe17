#!/usr/bin/env bash
# test_smtp_slow_peers.sh - peers that drip their greeting, one "220-" line
# at a time (issue 13 item 14).
# 1. The greeting stage is a deadline: with timeout_greeting = 3s, a peer
#    dripping a line every second is cut after about 3 s (the timer used to
#    start again on every line, and the session lasted as long as the peer
#    liked); the message is deferred, not delivered and not lost.
# 2. Fairness: with max_connections = 4, two dripping destinations with
#    four messages each hold every slot; a message for a healthy
#    destination that arrives then is still delivered at once, long before
#    the dripping sessions end (timeout_greeting = 30s there), and the
#    dripping destinations' messages are not failed for it.
# The connector runs as the service user.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"

# ms_now - the clock in milliseconds
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }

# session_secs SESSION-NOTE - seconds from the first line of each protocol
# log session that has a note matching the regex to its last line; the
# longest, or nothing when no session matches
session_secs() {
	/usr/bin/python3 - "$1" "$ROOT"/Log/smtp-*.log <<'EOF'
import re, sys
from datetime import datetime
want = re.compile(sys.argv[1])
first, last, hit = {}, {}, set()
for path in sys.argv[2:]:
    for line in open(path, errors="replace"):
        parts = line.split(" ", 3)
        if len(parts) < 4:
            continue
        t = datetime.strptime(parts[0], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
        s = parts[1]
        first.setdefault(s, t)
        last[s] = t
        if parts[2] == "*" and want.search(parts[3]):
            hit.add(s)
if hit:
    print("%.1f" % max(last[s] - first[s] for s in hit))
EOF
}

# drip_conns NAME - connections the dripping peer has accepted
drip_conns() {
	grep -c '^\* connection from' "$T/peer-$1.log" 2>/dev/null
}

# all_conns N - the dripping peers together accepted at least N
all_conns() {
	[ $(( $(drip_conns d1) + $(drip_conns d2) )) -ge "$1" ]
}

# ---------------------------------------------------------------- 1
P1=$(free_port)
start_peer drip 127.0.0.2:$P1 --drip 1 --drip-lines 20 ||
	abort_test "dripping peer starts"
write_conf "user = imcsvc" "smarthost = [127.0.0.2]:$P1" "tls = none" \
	"timeout_greeting = 3s" "retry_schedule = 1h" "protocol_log = maximum" \
	"pickup_settle = 0s"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null ||
	abort_test "imc-layout create"
drop g1.eml 'From: alice@example.com\r\nTo: bob@remote.test\r\nSubject: greeting\r\n\r\nx\r\n'
t0=$(ms_now)
timeout 60 "$IMC_BIN/imc-connector" -c "$CONF" --once 2>>"$T/once.log"
rc=$?
took=$(( $(ms_now) - t0 ))
check "--once returns 0 (rc=$rc)" test "$rc" = 0
check "the run ended within 6 s of a 3 s greeting deadline (${took} ms)" \
	test "$took" -lt 6000
secs=$(session_secs 'timeout \(greeting stage\)')
check "protocol log: the session timed out in the greeting stage" test -n "$secs"
check "protocol log: the session lasted 3 to 4.5 s (${secs:-none} s)" \
	/usr/bin/python3 -c "import sys; sys.exit(not 3.0 <= float('${secs:-0}') <= 4.5)"
log=$(tracklog)
check "deferred with the timeout as the reason" \
	has 'event=deferred .*to=<bob@remote.test> .*dsn=4.4.1 .*timeout before the greeting' "$log"
check "not delivered" lacks 'event=delivered .*bob@remote.test' "$log"
check "the message waits in Out" grep -q 'bob@remote.test' <<<"$("$IMC_BIN/imc-queue" -c "$CONF" list)"
check "the peer gave no message a home" peer_has drip 0
stop_peer drip

# ---------------------------------------------------------------- 2
rm -rf "$ROOT"
D1=$(free_port); D2=$(free_port); OK=$(free_port)
start_peer d1 127.0.0.3:$D1 --drip 1 || abort_test "dripping peer d1 starts"
start_peer d2 127.0.0.4:$D2 --drip 1 || abort_test "dripping peer d2 starts"
start_peer ok 127.0.0.5:$OK || abort_test "healthy peer starts"
write_conf "user = imcsvc" "tls = none" "timeout_greeting = 30s" \
	"retry_schedule = 1h" "max_connections = 4" "max_per_destination = 4" \
	"protocol_log = minimum" \
	"[domain d1.test]" "relay = [127.0.0.3]:$D1" \
	"[domain d2.test]" "relay = [127.0.0.4]:$D2" \
	"[domain ok.test]" "relay = [127.0.0.5]:$OK"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null ||
	abort_test "imc-layout create"
start_daemon || abort_test "daemon starts"
for i in 1 2 3 4; do
	drop "a$i.eml" "From: alice@example.com\r\nTo: u$i@d1.test\r\nSubject: d1 $i\r\n\r\nx\r\n"
	drop "b$i.eml" "From: alice@example.com\r\nTo: u$i@d2.test\r\nSubject: d2 $i\r\n\r\nx\r\n"
done
wait_for 10 all_conns 4
check "the dripping destinations hold the 4 slots ($(drip_conns d1) + $(drip_conns d2) connections)" all_conns 4
sleep 0.5
t0=$(ms_now)
drop h1.eml 'From: alice@example.com\r\nTo: carol@ok.test\r\nSubject: healthy\r\n\r\nhello\r\n'
wait_for 10 peer_has ok 1
took=$(( $(ms_now) - t0 ))
check "the healthy destination got its message" peer_has ok 1
check "within 5 s, long before the 30 s greeting deadline (${took} ms)" \
	test "$took" -lt 5000
log=$(tracklog)
check "delivered line for the healthy destination" \
	has 'event=delivered .*to=<carol@ok.test> .*relay=127.0.0.5' "$log"
check "no dripping destination's message was failed or deferred for it" \
	lacks 'event=\(deferred\|failed\|bounced\) .*@d[12].test' "$log"
check "the daemon says which connection made way" \
	grep -q 'makes way for relay\[ok.test\]' "$T/daemon.log"
stop_daemon
check "every dripping message still waits in Out" \
	test "$("$IMC_BIN/imc-queue" -c "$CONF" list --json | grep -c '@d[12].test')" = 8
check "no errors or sanitizer reports from the connector" \
	bash -c "! grep -q -i 'imc-connector\[error\]\|sanitizer\|runtime error' $T/once.log $T/daemon.log"
finish
