#!/usr/bin/env bash
# test_smtp_tls.sh - STARTTLS and AUTH against real peers: a private Postfix
# with a certificate from a test CA (made here with openssl), verified by
# chain and name; TLS required but not offered; a wrong certificate name;
# AUTH PLAIN over STARTTLS to an aiosmtpd peer with the credentials file;
# the credentials file's mode is enforced.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"
need openssl /usr/sbin/postfix

CA=$T/ca
make_test_ca "$CA" || abort_test "test CA made with openssl"
PF_PORT=$(free_port)
start_postfix_receiver 127.0.0.5 "$PF_PORT" "$CA" ||
	abort_test "postfix starts"
ok "postfix listens on 127.0.0.5:$PF_PORT with STARTTLS"

# 1. tls = verify to Postfix, by name, with the test CA
# (the name checked is the target's, here the IP literal: the test
# certificate carries 127.0.0.2-9 as IP names)
write_conf "tls_ca_file = $CA/ca.pem" "smarthost = [127.0.0.5]:$PF_PORT" \
	"tls = verify"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null
drop v1.eml 'From: alice@example.com\r\nTo: bob@remote.test\r\nSubject: verified\r\n\r\nover TLS\r\n'
run_once
wait_for 20 bash -c "ls $T/pf-mail/*.msg >/dev/null 2>&1"
check "postfix received the message" bash -c "ls $T/pf-mail/*.msg >/dev/null 2>&1"
log=$(tracklog)
check "delivered with TLS 1.2 or 1.3 in the tracking log" grep -q 'event=delivered .*to=<bob@remote.test> .*tls=TLSv1\.[23]/' <<<"$log"
check "postfix logged a TLS connection" grep -q 'TLS connection established' "$T/pf/postfix.log"

# 2. verify against the wrong CA (system CAs only): deferred, reason given
write_conf "smarthost = [127.0.0.5]:$PF_PORT" "tls = verify" "timeout_greeting = 20s" "retry_schedule = 1h"
drop v2.eml 'From: alice@example.com\r\nTo: carol@remote.test\r\nSubject: unverified\r\n\r\nx\r\n'
run_once
log=$(tracklog)
check "unknown CA: deferred 4.7.5 with the verify error" grep -q 'event=deferred .*to=<carol@remote.test> .*dsn=4.7.5 .*certificate verify failed' <<<"$log"

# 3. tls = encrypt to a peer without STARTTLS: deferred 4.7.4
PORT=$(free_port)
start_peer plain 127.0.0.6:$PORT || not_ok "plain peer starts"
write_conf "smarthost = [127.0.0.6]:$PORT" "tls = encrypt" "timeout_greeting = 20s" "retry_schedule = 1h"
drop v3.eml 'From: alice@example.com\r\nTo: dave@remote.test\r\nSubject: must encrypt\r\n\r\nx\r\n'
run_once
log=$(tracklog)
check "TLS required but not offered: deferred 4.7.4" grep -q 'event=deferred .*to=<dave@remote.test> .*dsn=4.7.4 .*does not offer STARTTLS' <<<"$log"
check "nothing sent in clear" peer_has plain 0

# 4. a certificate for another name: verify fails on the name
PORT2=$(free_port)
start_peer wrong 127.0.0.7:$PORT2 --starttls "$CA/wrong.pem" "$CA/wrong.key" ||
	not_ok "wrong-name peer starts"
write_conf "smarthost = [127.0.0.7]:$PORT2" "tls = verify" "tls_ca_file = $CA/ca.pem" "timeout_greeting = 20s" "retry_schedule = 1h"
drop v4.eml 'From: alice@example.com\r\nTo: erin@remote.test\r\nSubject: wrong name\r\n\r\nx\r\n'
run_once
log=$(tracklog)
check "wrong certificate name: deferred, name mismatch" grep -q 'event=deferred .*to=<erin@remote.test> .*dsn=4.7.5 .*certificate verify failed: [Hh]ostname mismatch\|event=deferred .*to=<erin@remote.test> .*dsn=4.7.5 .*IP address mismatch' <<<"$log"
check "wrong-name peer got nothing" peer_has wrong 0

# 5. AUTH PLAIN over STARTTLS with credentials from a 0600 file
PORT3=$(free_port)
start_peer auth 127.0.0.8:$PORT3 --starttls "$CA/server.pem" "$CA/server.key" \
	--auth 'relayuser:s3cret' || not_ok "auth peer starts"
printf '# label user password\nrelay1 relayuser s3cret\n' > "$T/auth"
chmod 0644 "$T/auth"
write_conf "smarthost = [127.0.0.8]:$PORT3" "tls = encrypt" "auth = relay1" \
	"auth_file = $T/auth" "protocol_log = maximum"
expect_exit 78 "auth_file mode 0644: refused to start, exit 78" refused.log -c "$CONF" --once
check "the refusal says 0600" has 'auth_file: .* is mode 0644; it must be 0600' "$OUT"
chmod 0600 "$T/auth"
drop v5.eml 'From: alice@example.com\r\nTo: frank@remote.test\r\nSubject: auth\r\n\r\nx\r\n'
run_once
check "delivered through AUTH" peer_has auth 1
check "the peer saw the login" grep -q 'X-Peer-Auth: relayuser' "$T"/peer-auth/*.msg
check "the peer saw TLS" bash -c "! grep -q 'X-Peer-TLS: none' $T/peer-auth/*.msg"
plog=$(cat "$ROOT"/Log/smtp-*.log)
check "protocol log shows AUTH PLAIN ****" grep -q ' > AUTH PLAIN \*\*\*\*' <<<"$plog"
check "protocol log never shows the password" lacks 's3cret' "$plog"
check "protocol log never shows the credentials' base64" lacks 'AHJlbGF5dXNlcgBzM2NyZXQ' "$plog"

# 6. implicit TLS (port 465 style), verified with the test CA
PORT4=$(free_port)
start_peer implicit 127.0.0.9:$PORT4 --implicit-tls "$CA/server.pem" "$CA/server.key" ||
	not_ok "implicit-TLS peer starts"
write_conf "smarthost = [127.0.0.9]:$PORT4" "tls = implicit" \
	"tls_ca_file = $CA/ca.pem" "timeout_greeting = 20s" "retry_schedule = 1h"
drop v6.eml 'From: alice@example.com\r\nTo: gina@remote.test\r\nSubject: implicit\r\n\r\nx\r\n'
run_once
check "implicit TLS: delivered" peer_has implicit 1
log=$(tracklog)
check "implicit TLS: the tracking log has the TLS version" has 'event=delivered .*to=<gina@remote.test> .*tls=TLSv1\.[23]/' "$log"

# 7. STARTTLS offered but the handshake fails (the peer stops at TLS 1.1):
#    tls = may sends in clear on a second connection; tls = encrypt defers
PORT5=$(free_port)
start_peer oldtls 127.0.0.10:$PORT5 --starttls "$CA/server.pem" "$CA/server.key" \
	--old-tls-only || not_ok "old-TLS peer starts"
write_conf "smarthost = [127.0.0.10]:$PORT5" "tls = may" "timeout_greeting = 20s" \
	"retry_schedule = 1h" "protocol_log = minimum"
drop v7.eml 'From: alice@example.com\r\nTo: hank@remote.test\r\nSubject: may\r\n\r\nx\r\n'
run_once
check "tls = may, failed handshake: delivered in clear" peer_has oldtls 1
plog=$(cat "$ROOT"/Log/smtp-*.log)
check "the transcript says TLS failed, then tried without TLS" has 'tls = may: trying 127.0.0.10.* again without TLS' "$plog"
log=$(tracklog)
check "delivered line without tls=" has 'event=delivered .*to=<hank@remote.test> .*relay=127.0.0.10' "$log"
write_conf "smarthost = [127.0.0.10]:$PORT5" "tls = encrypt" "timeout_greeting = 20s" \
	"retry_schedule = 1h"
drop v8.eml 'From: alice@example.com\r\nTo: ivan@remote.test\r\nSubject: encrypt\r\n\r\nx\r\n'
run_once
log=$(tracklog)
check "tls = encrypt, failed handshake: deferred 4.7.5" has 'event=deferred .*to=<ivan@remote.test> .*dsn=4.7.5 .*TLS' "$log"
check "nothing more reached the peer" peer_has oldtls 1

# 8. auth with tls = none is a configuration error
write_conf "smarthost = [127.0.0.8]:$PORT3" "tls = none" "auth = relay1" "auth_file = $T/auth" "timeout_greeting = 20s" "retry_schedule = 1h"
expect_exit 78 "auth with tls = none: exit 78" refused.log -c "$CONF" --once
check "it says credentials only go over TLS" has 'only sent over TLS' "$OUT"
finish
