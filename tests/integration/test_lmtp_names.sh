#!/usr/bin/env bash
# test_lmtp_names.sh - issue 9: an LMTP store named by a host name. The
# name's address records are used (store.test, from a private dnsmasq, no
# MX asked for); a store name that does not resolve (NXDOMAIN, which would
# bounce a remote domain for good) defers the local mail with 4.4.3 and
# the store's name, and nothing bounces.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"
. "$(dirname "$0")/lib_dovecot.sh"
need /usr/sbin/dnsmasq

dovecot_start || abort_test "dovecot starts"
# store.test has an address and no MX; an MX lookup would find nothing
start_dnsmasq --host-record=store.test,127.0.0.1 || abort_test "dnsmasq starts"
write_conf "dns_servers = 127.0.0.1:$DNS_PORT" "protocol_log = maximum" \
	"store = lmtp:store.test:$DC_LMTP_PORT" \
	"[domain example.org]" "store = lmtp:nosuch.test:$DC_LMTP_PORT"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null

drop m1.eml 'X-Sender: bob@remote.test\nX-Receiver: alice@example.com\nSubject: by name\n\nhello\n'
drop m2.eml 'X-Sender: bob@remote.test\nX-Receiver: carol@example.org\nSubject: no such store\n\nhello\n'
check "--once returns" run_once
check "delivered to the store found by its name" dc_has alice 1
log=$(tracklog)
check "the relay is the store's name and address" \
	grep -q "event=delivered .*to=<alice@example.com> .*relay=lmtp:store\.test\[127\.0\.0\.1\]:$DC_LMTP_PORT" <<<"$log"
check "a store name that does not resolve defers (4.4.3, the store named)" \
	grep -q 'event=deferred .*to=<carol@example.org> .*dsn=4.4.3 .*LMTP store nosuch.test' <<<"$log"
check "nothing failed or bounced" lacks 'event=\(failed\|bounced\)' "$log"
check "carol's message waits in Out/" test "$(out_count)" = 1
check "carol got nothing" dc_has carol 0
finish
