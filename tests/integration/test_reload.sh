#!/usr/bin/env bash
# test_reload.sh - imc-connector --check-config [-v] and SIGHUP (issue 11,
# section 3). --check-config exits 0 or 78 (FILE:LINE), -v shows the
# effective settings. SIGHUP: a bad new file keeps the configuration in
# use and logs FILE:LINE; a good one takes effect for new work while an
# SMTP session in hand goes on (the same connection delivers) and queued
# entries stay; a key that needs a restart (hostname) keeps its value in
# use, and the log says so.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"

PORT=$(free_port)
# every reply 1 s late: a session lasts several seconds, long enough to
# reload twice while it is open
start_peer slow 127.0.0.1:$PORT --slow 1 || abort_test "peer starts"
conf_lines=("smarthost = [127.0.0.1]:$PORT" "tls = none" "retry_schedule = 1h"
	"pickup_rescan = 1s" "[domain defer.test]" "relay = [127.0.0.1]:9")
write_conf "${conf_lines[@]}"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null
cp "$CONF" "$T/good.conf"

# --check-config
out=$("$IMC_BIN/imc-connector" -c "$CONF" --check-config 2>"$T/check.log")
check "--check-config: a good file exits 0" test $? = 0
check "... and says it is valid" has "$CONF: the configuration is valid" "$out"
out=$("$IMC_BIN/imc-connector" -c "$CONF" --check-config -v 2>>"$T/check.log")
check "--check-config -v exits 0" test $? = 0
check "-v: a key the file sets" has "^smarthost = \[127.0.0.1\]:$PORT\$" "$out"
check "-v: a default" has '^max_rcpts_per_transaction = 100$' "$out"
check "-v: a key not set, with its meaning" has '^# dns_servers: not set (system resolver)$' "$out"
check "-v: the [domain] section" has '^\[domain defer.test\]$' "$out"
nkeys=$(grep -c -E '^([a-z_]+ = |# [a-z_]+: not set)' <<<"$out")
check "-v: a line for every key (42 or more, got $nkeys)" test "$nkeys" -ge 42
check "--check-config touches no tree" test ! -e "$ROOT/Log/imc-connector.pid"
"$IMC_BIN/imc-connector" -c "$CONF" -v >/dev/null 2>"$T/v.log"
check "-v without --check-config is a usage error (64)" test $? = 64
sed '2a max_hops = lots' "$CONF" >"$T/bad.conf"
badline=3
out=$("$IMC_BIN/imc-connector" -c "$T/bad.conf" --check-config 2>&1)
check "--check-config: a bad file exits 78" test $? = 78
check "... with FILE:LINE" has "$T/bad.conf:$badline: max_hops" "$out"

start_daemon || abort_test "the rest needs the daemon"
pid=$DAEMON_PID
drop q.eml 'From: app@example.com\r\nTo: q@defer.test\r\nSubject: queued\r\n\r\nwaits\r\n'
deferred() { grep -q 'event=deferred.*q@defer.test' "$ROOT"/Log/[0-9]*.log 2>/dev/null; }
wait_for 20 deferred
check "an entry waits in Out (deferred)" deferred
qq=$(entry_qids "$ROOT/Out")
check "... one entry ($qq)" test "$(grep -c . <<<"$qq")" = 1

# A session in hand: two messages, one for a domain that becomes local.
drop s1.eml 'From: app@example.com\r\nTo: r1@remote.test, u0@new.test\r\nSubject: s1\r\n\r\nin the session\r\n'
in_session() { grep -q '> MAIL FROM' "$T/peer-slow.log" 2>/dev/null; }
wait_for 20 in_session
check "the SMTP session has begun" in_session
# the deferred entry's envelope, written by now (the session is later)
q_before=$(entry_env "$ROOT/Out" "$qq")

# A bad file: the configuration in use stays; the log names FILE:LINE.
cp "$T/bad.conf" "$CONF"
before=$(stat -c %s "$T/daemon.log")
kill -HUP "$pid"
bad_logged() { tail -c +"$((before + 1))" "$T/daemon.log" | grep -q "reload: $CONF:$badline: max_hops.*the configuration in use stays"; }
wait_for 10 bad_logged
check "SIGHUP with a bad file: FILE:LINE logged, old configuration kept" bad_logged
check "... the daemon still runs" kill -0 "$pid"

# A good file: new.test becomes local, hostname changes (needs a restart).
write_conf "${conf_lines[@]}"
sed -i 's/^local_domains = .*/local_domains = example.com, example.org, new.test/;
	s/^hostname = .*/hostname = other.test.example/' "$CONF"
before=$(stat -c %s "$T/daemon.log")
kill -HUP "$pid"
good_logged() { tail -c +"$((before + 1))" "$T/daemon.log" | grep -q "reload: $CONF loaded"; }
wait_for 10 good_logged
check "SIGHUP with a good file: loaded" good_logged
check "... hostname logged as needing a restart" grep -q "reload: hostname changed in $CONF: that needs a restart" "$T/daemon.log"
check "the session was still open at the reload (nothing delivered yet)" test "$(peer_count slow)" = 0

# New work follows the new file.
drop n1.eml 'From: app@example.com\r\nTo: u1@new.test\r\nSubject: n1\r\n\r\nnow local\r\n'
wait_for 20 mailbox_has new.test u1 1
check "new work: a new.test recipient now goes to the store" mailbox_has new.test u1 1
f=$(mailbox_one new.test u1)
check "... its Received: still names the hostname in use (a restart key)" \
	grep -q 'by mx.test.example' "$f"
check "... not the new one" test -z "$(grep -l 'other.test.example' "$f")"

# The open session goes on: both messages arrive over the same connection.
wait_for 30 peer_has slow 1
check "the session in hand delivered after the reloads" peer_has slow 1
check "... over the one connection it had (no reconnect)" \
	test "$(grep -c '^< 220 ' "$T/peer-slow.log")" = 1
check "... to both recipients taken before the reload" \
	grep -q 'X-Peer-Rcpt-To: <u0@new.test>' "$(find "$T/peer-slow" -name '*.msg' | head -1)"
check "no delivery was deferred by the reload" \
	test -z "$(grep 'event=deferred' "$ROOT"/Log/[0-9]*.log | grep -v 'q@defer.test')"
only_q() { test "$(entry_qids "$ROOT/Out")" = "$qq"; }
wait_for 10 only_q
q_after=$(entry_env "$ROOT/Out" "$qq")
check "the queued entry stays as it was" test -n "$q_before" -a "$q_after" = "$q_before"
check "... and is the only one left in Out" only_q
check "the same daemon runs (pid $pid)" test "$(cat "$ROOT/Log/imc-connector.pid")" = "$pid"
stop_daemon

finish
