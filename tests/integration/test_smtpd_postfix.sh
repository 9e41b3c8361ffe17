#!/usr/bin/env bash
# test_smtpd_postfix.sh - Postfix as the sending MTA: a private instance
# takes 100 messages (smtp-source into its smtpd) and relays them with
# its smtp client to the connector's listener (relayhost); every one must
# arrive in the connector's store exactly once, with Postfix's log saying
# status=sent for each and the connector's tracking log a received line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"
need postfix smtp-source
N=100
P=$(free_port)		# the connector's listener
PIN=$(free_port)	# Postfix's own smtpd, where the messages go in
write_conf "listen = 127.0.0.1:$P" "smtpd_greet_pause = 0s"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null
start_daemon || abort_test "daemon starts"

PF_DIR=$T/pfs
mkdir -p "$PF_DIR/etc" "$PF_DIR/spool" "$PF_DIR/data"
chown postfix "$PF_DIR/data"
chmod 755 "$PF_DIR"
{
	echo "127.0.0.1:$PIN inet n -       n       -       -       smtpd"
	cat "$IMC_SRC/tools/postfix-services.cf"
	echo "tlsmgr    unix  -       -       n       1000?   1       tlsmgr"
	echo "smtp      unix  -       -       n       -       -       smtp"
	echo "relay     unix  -       -       n       -       -       smtp"
} > "$PF_DIR/etc/master.cf"
cat > "$PF_DIR/etc/main.cf" <<EOC
compatibility_level = 3.6
config_directory = $PF_DIR/etc
queue_directory = $PF_DIR/spool
data_directory = $PF_DIR/data
mail_owner = postfix
setgid_group = postdrop
myhostname = sender.lab.test
mydomain = lab.test
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
local_recipient_maps =
relay_domains =
relayhost = [127.0.0.1]:$P
smtp_tls_security_level = none
smtpd_relay_restrictions = permit_mynetworks, reject
smtputf8_enable = no
biff = no
maillog_file = $PF_DIR/postfix.log
maillog_file_prefixes = /var, /dev/stdout, /tmp
alias_maps =
alias_database =
EOC
timeout 60 postfix -c "$PF_DIR/etc" check >>"$T/pf.err" 2>&1 &&
	timeout 60 postfix -c "$PF_DIR/etc" start >>"$T/pf.err" 2>&1 ||
	abort_test "postfix starts: $(cat "$T/pf.err")"
for i in $(seq 1 200); do
	$PY -c "import socket; socket.create_connection(('127.0.0.1', $PIN), 1).close()" 2>/dev/null && break
	sleep 0.05
done
timeout 120 smtp-source -c -m $N -s 5 -l 2048 -f alice@lab.test -t pfuser@example.com \
	127.0.0.1:$PIN >"$T/source.log" 2>&1
check "smtp-source handed $N messages to Postfix" test $? = 0
wait_for 60 mailbox_has example.com pfuser $N
check "all $N messages in the connector's store" mailbox_has example.com pfuser $N
sent=$(grep -c 'relay=127.0.0.1\[127.0.0.1\]:'"$P"'.* status=sent' "$PF_DIR/postfix.log")
check "Postfix: status=sent for each of the $N (got $sent)" test "$sent" = $N
check "Postfix: nothing deferred or bounced" test "$(grep -cE 'status=(deferred|bounced)' "$PF_DIR/postfix.log")" = 0
check "tracking log: $N received lines from Postfix's client" \
	test "$(tracklog | grep -c 'event=received .*helo=sender.lab.test')" = $N
ids=$(grep -ho 'Received: from sender.lab.test .*' "$ROOT"/Store/example.com/pfuser/new/* | wc -l)
check "every stored copy names the Postfix host in its Received:" test "$ids" = $N
# Work files go after the barrier that follows the store links (within 20 ms)
work_empty() { [ -z "$(ls -A "$ROOT/Work")" ]; }
wait_for 10 work_empty
check "no Work file left" work_empty
stop_daemon
finish
