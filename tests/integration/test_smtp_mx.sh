#!/usr/bin/env bash
# test_smtp_mx.sh - delivery by DNS MX, with dnsmasq serving the records on
# loopback and c-ares pointed at it (dns_servers): preference order with the
# first MX down, implicit MX, null MX (5.1.10), NXDOMAIN (5.1.2), a failing
# upstream (temporary), an MX that is this host (mail loop, temporary), and
# too many Received: fields (5.4.6).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"
need /usr/sbin/dnsmasq

PORT=$(free_port)
start_peer mx2 127.0.0.4:$PORT || abort_test "peer starts"
start_dnsmasq \
	--host-record=ready.test,127.0.0.1 \
	--mx-host=lab.test,mx1.lab.test,10 --mx-host=lab.test,mx2.lab.test,20 \
	--host-record=mx1.lab.test,127.0.0.3 --host-record=mx2.lab.test,127.0.0.4 \
	--host-record=aonly.test,127.0.0.4 \
	--mx-host=nullmx.test,.,0 \
	--mx-host=loop.test,mx.test.example,10 \
	--server=/servfail.test/127.0.0.1#9 ||
	abort_test "dnsmasq starts"
write_conf "dns_servers = 127.0.0.1:$DNS_PORT" "mx_port = $PORT" "tls = none" \
	"max_hops = 3" "prefer_family = ipv4" "timeout_connect = 5s"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null

drop m1.eml 'From: alice@example.com\r\nTo: bob@lab.test\r\nSubject: mx order\r\n\r\nx\r\n'
drop m2.eml 'From: alice@example.com\r\nTo: carol@aonly.test\r\nSubject: implicit\r\n\r\nx\r\n'
drop m3.eml 'From: alice@example.com\r\nTo: dave@nullmx.test\r\nSubject: null mx\r\n\r\nx\r\n'
drop m4.eml 'From: alice@example.com\r\nTo: erin@nx.test\r\nSubject: nxdomain\r\n\r\nx\r\n'
drop m5.eml 'From: alice@example.com\r\nTo: frank@servfail.test\r\nSubject: servfail\r\n\r\nx\r\n'
drop m6.eml 'From: alice@example.com\r\nTo: gina@loop.test\r\nSubject: loop\r\n\r\nx\r\n'
# two Received: fields, plus the connector's own: 3, as max_hops allows
drop m7.eml 'Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\nreceived: from c by d; Mon, 1 Jan 2024 00:00:00 +0000\r\nFrom: alice@example.com\r\nTo: hank@lab.test\r\nSubject: hops\r\n\r\nx\r\n'
check "--once returns" run_once
log=$(tracklog)

check "first MX down, second MX got it" grep -q "event=delivered .*to=<bob@lab.test> .*relay=mx2.lab.test\[127.0.0.4\]:$PORT" <<<"$log"
check "implicit MX (A record only)" grep -q "event=delivered .*to=<carol@aonly.test> .*relay=aonly.test\[127.0.0.4\]:$PORT" <<<"$log"
check "null MX bounces 5.1.10" grep -q 'event=bounced .*to=<dave@nullmx.test> .*dsn=5.1.10' <<<"$log"
check "NXDOMAIN bounces 5.1.2" grep -q 'event=bounced .*to=<erin@nx.test> .*dsn=5.1.2' <<<"$log"
check "failing DNS upstream defers 4.4.3" grep -q 'event=deferred .*to=<frank@servfail.test> .*dsn=4.4.3' <<<"$log"
check "MX pointing to this host defers: mail loops back to myself" grep -q 'event=deferred .*to=<gina@loop.test> .*dsn=4.4.6 .*loops back to myself' <<<"$log"
check "three Received: fields with max_hops 3: sent" lacks 'to=<hank@lab.test> .*dsn=5.4.6' "$log"
check "peer got bob, carol and hank" peer_has mx2 3
check "two bounces in the sender's mailbox" mailbox_has example.com alice 2
check "two entries still in Out (deferred)" test "$(out_count)" = 2
# Log/metrics.prom (issue 11): every lookup that gave no address counts
dns_failures=$(awk '$1 == "imc_dns_failures_total" { print $2 }' "$ROOT/Log/metrics.prom")
check "metrics: 4 DNS failures (null MX, NXDOMAIN, SERVFAIL, MX of myself), got $dns_failures" \
	test "$dns_failures" = 4

# one more Received: field than max_hops (three, plus the connector's)
drop m8.eml 'Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\nReceived: from b by c; Mon, 1 Jan 2024 00:00:00 +0000\r\nReceived: from c by d; Mon, 1 Jan 2024 00:00:00 +0000\r\nFrom: alice@example.com\r\nTo: ivan@lab.test\r\nSubject: hops\r\n\r\nx\r\n'
check "second --once returns 0" run_once
log=$(tracklog)
check "four Received: fields, max_hops 3: bounced 5.4.6" grep -q 'event=bounced .*to=<ivan@lab.test> .*dsn=5.4.6' <<<"$log"
check "the looping message never reached the peer" peer_has mx2 3
finish
