#!/usr/bin/env bash
# test_lmtp_tls.sh - issue 9: lmtp_tls for a store over TCP, against a
# private Dovecot (lib_dovecot.sh): encrypt defers while the store offers no
# STARTTLS and delivers over TLS once it does (tracking log tls=); verify
# checks the certificate's name (a self-signed store.test certificate
# reached as 127.0.0.1 is refused, deferred); a unix socket store never
# uses TLS, whatever lmtp_tls says.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_dovecot.sh"
need openssl

tracklog() { cat "$ROOT"/Log/[0-9]*.log 2>/dev/null; }
conf() {
	write_conf "protocol_log = maximum" "local_retry = 1h" "$@"
}

DC_TLS=0
dovecot_start || abort_test "dovecot starts (no TLS)"
conf "store = lmtp:[127.0.0.1]:$DC_LMTP_PORT" "lmtp_tls = encrypt"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null
drop m1.eml 'X-Sender: bob@remote.test\nX-Receiver: alice@example.com\nSubject: tls\n\nsecret\n'
check "--once returns (no STARTTLS offered)" run_once
check "lmtp_tls = encrypt defers when the store offers no STARTTLS" \
	grep -q 'event=deferred .*to=<alice@example.com> .*dsn=4.7.4 .*TLS is required' <<<"$(tracklog)"
check "nothing delivered in clear" dc_has alice 0

dovecot_stop
DC_TLS=1
dovecot_start || abort_test "dovecot starts (TLS)"
"$IMC_BIN/imc-queue" -c "$CONF" flush >/dev/null 2>&1
check "--once returns (STARTTLS offered)" run_once
check "delivered once TLS is offered" dc_has alice 1
check "the tracking log shows the TLS version" \
	grep -q 'event=delivered .*to=<alice@example.com> .*tls=TLSv1\.[23]' <<<"$(tracklog)"
after_starttls=$(sed -n '/ > STARTTLS$/,$p' "$ROOT"/Log/smtp-*.log)
check "STARTTLS then LHLO again on the wire" grep -q ' > LHLO ' <<<"$(tail -n +2 <<<"$after_starttls")"

# verify: the chain is trusted (tls_ca_file), the name is not the one asked
conf "store = lmtp:[127.0.0.1]:$DC_LMTP_PORT" "lmtp_tls = verify" "tls_ca_file = $DC/cert.pem"
drop m2.eml 'X-Sender: bob@remote.test\nX-Receiver: alice@example.com\nSubject: verify\n\nsecret\n'
check "--once returns (verify)" run_once
check "lmtp_tls = verify refuses a certificate for another name" \
	grep -q 'event=deferred .*to=<alice@example.com> .*TLS with .* failed' <<<"$(tracklog)"
check "still one message for alice" dc_has alice 1

# a unix socket: no TLS even with lmtp_tls = encrypt
conf "store = lmtp:unix:$DC_LMTP_SOCK" "lmtp_tls = encrypt"
drop m3.eml 'X-Sender: bob@remote.test\nX-Receiver: bob@example.com\nSubject: socket\n\nlocal\n'
check "--once returns (socket)" run_once
check "delivered over the socket without TLS" dc_has bob 1
finish
