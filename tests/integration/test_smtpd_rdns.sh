#!/usr/bin/env bash
# test_smtpd_rdns.sh - smtpd_reverse_dns: the listener looks up the
# client's name (PTR, then that name's addresses) through dns_servers
# (dnsmasq here) and writes it in Received: only when it points back to
# the client (forward-confirmed); a lie (a PTR name whose address is
# another) and a missing PTR give no name; a DNS server that never answers
# holds the greeting at most 3 s.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"
[ -x /usr/sbin/dnsmasq ] || skip_all "no dnsmasq (tools/install-deps.sh installs it)"
PROBE=$IMC_SRC/tests/integration/smtpd_probe.py
start_dnsmasq --host-record=good.test,127.0.0.3 \
	--ptr-record=4.0.0.127.in-addr.arpa,liar.test \
	--host-record=liar.test,127.0.0.9 || abort_test "dnsmasq starts"
P=$(free_port)
write_conf "listen = 127.0.0.1:$P" "smtpd_greet_pause = 0s" \
	"smtpd_reverse_dns = yes" "dns_servers = 127.0.0.1:$DNS_PORT" \
	"retry_schedule = 1h"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null || abort_test "imc-layout create"
start_daemon || abort_test "daemon starts"

# send SOURCE BOX - one message from SOURCE to BOX@example.com
send() {
	printf 'EHLO helo.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<%s@example.com>\r\nDATA\r\nSubject: rdns\r\n\r\nx\r\n.\r\nQUIT\r\n' "$2" |
		$PY "$PROBE" 127.0.0.1 "$P" --source "$1" >"$T/$2.log" 2>&1
	wait_for 10 mailbox_has example.com "$2" 1
}
received() { grep -m1 '^Received: from' "$(mailbox_one example.com "$1")"; }

send 127.0.0.3 good
check "confirmed: 250" grep -q '^250 2.0.0 Ok: queued' "$T/good.log"
R=$(received good)
echo "# $R"
check "confirmed: Received: names the client (good.test [127.0.0.3])" \
	has '^Received: from helo.test (good.test \[127.0.0.3\])' "$R"
send 127.0.0.4 liar
R=$(received liar)
echo "# $R"
check "a PTR name whose address is another: no name in Received:" \
	has '^Received: from helo.test (\[127.0.0.4\])' "$R"
check "... and liar.test nowhere" lacks 'liar.test' "$(cat "$(mailbox_one example.com liar)")"
send 127.0.0.5 nonexistent
R=$(received nonexistent)
check "no PTR: no name in Received:" has '^Received: from helo.test (\[127.0.0.5\])' "$R"
stop_daemon

# a DNS server that never answers: the greeting waits at most 3 s
$PY - >"$T/silent.port" 2>"$T/silent.log" <<'PYEOF' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
end = time.time() + 60
while time.time() < end:
    s.settimeout(1)
    try:
        s.recvfrom(512)		# read, never answer
    except socket.timeout:
        pass
PYEOF
SILENT_PID=$!
wait_for 5 test -s "$T/silent.port"
write_conf "listen = 127.0.0.1:$P" "smtpd_greet_pause = 0s" \
	"smtpd_reverse_dns = yes" "dns_servers = 127.0.0.1:$(cat "$T/silent.port")" \
	"retry_schedule = 1h"
start_daemon || abort_test "daemon restarts"
t0=$(date +%s%N)
send 127.0.0.3 silent
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
echo "# the session took $ms ms"
check "silent DNS: the message is still taken" grep -q '^250 2.0.0 Ok: queued' "$T/silent.log"
check "silent DNS: the greeting waited for the lookup (>= 2500 ms, took $ms)" test "$ms" -ge 2500
check "silent DNS: at most about 3 s (< 8000 ms, took $ms)" test "$ms" -lt 8000
check "silent DNS: no name in Received:" has '^Received: from helo.test (\[127.0.0.3\])' "$(received silent)"
stop_daemon
kill "$SILENT_PID" 2>/dev/null
wait "$SILENT_PID" 2>/dev/null
finish
