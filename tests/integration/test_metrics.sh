#!/usr/bin/env bash
# test_metrics.sh - Log/metrics.prom (issue 11, section 3): written at the
# end of --once and every metrics_interval by the daemon, atomically, in
# the Prometheus text format (promtool check metrics, Debian's prometheus
# package), with the numbers of a known run: 5 recipients delivered to the
# store, 1 over SMTP, 2 refused by the peer (null sender: Badmail),
# 1 deferred (a relay that refuses connections), 1 Pickup file archived.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"
need promtool

PORT=$(free_port)
start_peer p1 127.0.0.1:$PORT --rcpt-reply 'no1@remote.test=550 5.1.1 no such user' \
	--rcpt-reply 'no2@remote.test=550 5.1.1 no such user' || abort_test "peer starts"
write_conf "smarthost = [127.0.0.1]:$PORT" "tls = none" "retry_schedule = 1h" \
	"metrics_interval = 1s" "[domain defer.test]" "relay = [127.0.0.1]:9"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null
M=$ROOT/Log/metrics.prom

for i in 1 2 3 4 5; do
	drop "l$i.eml" "From: app@example.com\r\nTo: u$i@example.com\r\nSubject: l$i\r\n\r\nlocal $i\r\n"
done
drop r1.eml 'From: app@example.com\r\nTo: yes@remote.test\r\nSubject: r1\r\n\r\nremote\r\n'
drop n1.eml 'X-Sender: <>\r\nX-Receiver: <no1@remote.test>\r\nSubject: n1\r\n\r\nrefused\r\n'
drop n2.eml 'X-Sender: <>\r\nX-Receiver: <no2@remote.test>\r\nSubject: n2\r\n\r\nrefused\r\n'
drop d1.eml 'From: app@example.com\r\nTo: later@defer.test\r\nSubject: d1\r\n\r\nlater\r\n'
drop x1.eml 'Subject: no recipients at all\r\n\r\nnothing\r\n'
run_once
check "--once writes Log/metrics.prom" test -s "$M"
out=$(promtool check metrics <"$M" 2>&1)
check "promtool check metrics: no complaint" test $? = 0 -a -z "$out"
[ -z "$out" ] || sed 's/^/#   /' <<<"$out"
# value NAME{LABELS} - the sample's value
value() { awk -v n="$1" '$1 == n { print $2 }' "$M"; }
check "5 + 1 recipients delivered" test "$(value imc_recipients_delivered_total)" = 6
check "2 bounced (refused, null sender: Badmail)" test "$(value imc_recipients_bounced_total)" = 2
check "1 deferred" test "$(value imc_recipients_deferred_total)" = 1
check "9 picked up" test "$(value imc_messages_picked_up_total)" = 9
check "1 archived (no recipients)" test "$(value imc_messages_archived_total)" = 1
check "store: 5 delivered" test "$(value 'imc_deliveries_total{destination="store",result="delivered"}')" = 5
check "smtp: 1 delivered" test "$(value 'imc_deliveries_total{destination="smtp",result="delivered"}')" = 1
check "smtp: 2 failed" test "$(value 'imc_deliveries_total{destination="smtp",result="failed"}')" = 2
check "smtp: 1 deferred" test "$(value 'imc_deliveries_total{destination="smtp",result="deferred"}')" = 1
check "store: none deferred or failed" test "$(value 'imc_deliveries_total{destination="store",result="deferred"}'):$(value 'imc_deliveries_total{destination="store",result="failed"}')" = 0:0
check "Out holds the deferred one" test "$(value 'imc_queue_messages{folder="Out"}')" = 1
check "Badmail holds the two refused" test "$(value 'imc_queue_messages{folder="Badmail"}')" = 2
check "Pickup/Archive holds the archived one" test "$(value 'imc_queue_messages{folder="Pickup/Archive"}')" = 1
check "Pickup, Work and In are empty" test "$(value 'imc_queue_messages{folder="Pickup"}'):$(value 'imc_queue_messages{folder="Work"}'):$(value 'imc_queue_messages{folder="In"}')" = 0:0:0
check "SMTP connections: none open at the end" test "$(value imc_smtp_connections)" = 0
check "... at least one opened" test "$(value imc_smtp_connections_opened_total)" -ge 1
check "no DNS failure (literal relays only)" test "$(value imc_dns_failures_total)" = 0
check "the oldest entry's age is a number of seconds below a minute" test "$(value imc_queue_oldest_message_age_seconds)" -lt 60
check "RSS above 1 MB" test "$(value imc_process_resident_memory_bytes)" -gt 1000000
now=$(date +%s)
ts=$(value imc_metrics_written_timestamp_seconds)
check "written just now" test $((now - ts)) -le 5 -a $((now - ts)) -ge 0
cp "$M" "$T/once.prom"

# The daemon writes it at start and every metrics_interval (1s): the
# counters start again, the folders are counted again.
rm -f "$M"
start_daemon
wait_for 10 test -s "$M"
check "daemon: metrics.prom written at start" test -s "$M"
check "... the counters start at 0 in a new process" test "$(value imc_recipients_delivered_total)" = 0
check "... the folders as they are" test "$(value 'imc_queue_messages{folder="Badmail"}')" = 2
drop l6.eml 'From: app@example.com\r\nTo: u6@example.com\r\nSubject: l6\r\n\r\nlocal 6\r\n'
one_more() { [ "$(value imc_recipients_delivered_total)" = 1 ]; }
wait_for 10 one_more
check "... rewritten within metrics_interval: 1 delivered" one_more
# Readers never see a part: read it 200 times while it is rewritten.
torn=0
for i in $(seq 1 200); do
	tail -n 1 "$M" | grep -q '^imc_metrics_written_timestamp_seconds [0-9]*$' || torn=$((torn + 1))
	sleep 0.01
done
check "every read of the file while it is rewritten is whole" test "$torn" = 0
check "no temp file left beside it" test -z "$(ls -A "$ROOT/Log" | grep 'metrics.prom.*tmp')"
stop_daemon
out=$(promtool check metrics <"$M" 2>&1)
check "the daemon's last file passes promtool too" test $? = 0 -a -z "$out"

finish
