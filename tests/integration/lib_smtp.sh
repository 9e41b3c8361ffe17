# lib_smtp.sh - SMTP test peers for the integration tests (sourced after
# lib.sh): scripted servers (smtp_peer.py on python3-aiosmtpd), dnsmasq for
# MX records, a private Postfix instance, and a test CA made with openssl.
# Everything listens on 127.0.0.0/8, is stopped by PID at exit, and every
# wait is bounded.

PY=/usr/bin/python3		# Debian's, with python3-aiosmtpd
PEER=$IMC_SRC/tests/integration/smtp_peer.py
"$PY" -c 'import aiosmtpd' 2>/dev/null ||
	skip_all "needs $PY with python3-aiosmtpd (tools/install-deps.sh installs it)"
PEER_PIDS=()
DNSMASQ_PID=
PF_DIR=

smtp_cleanup() {
	local p
	for p in "${PEER_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	if [ -n "$DNSMASQ_PID" ]; then kill -TERM "$DNSMASQ_PID" 2>/dev/null; fi
	if [ -n "$PF_DIR" ]; then
		timeout 30 postfix -c "$PF_DIR/etc" stop >/dev/null 2>&1
		[ -f "$PF_DIR/spool/pid/master.pid" ] &&
			kill -KILL "$(tr -d ' ' < "$PF_DIR/spool/pid/master.pid")" 2>/dev/null
	fi
	sleep 0.2
	for p in "${PEER_PIDS[@]}"; do
		kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	cleanup
}
trap smtp_cleanup EXIT

# free_port - a TCP port nothing listens on now (for 127.0.0.x)
free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_peer NAME ADDR:PORT ARGS... - smtp_peer.py in the background;
# messages in $T/peer-NAME/, its transcript in $T/peer-NAME.log
start_peer() {
	local name=$1 listen=$2; shift 2
	mkdir -p "$T/peer-$name"
	rm -f "$T/peer-$name.pid"
	$PY "$PEER" --listen "$listen" --pidfile "$T/peer-$name.pid" \
		--maildir "$T/peer-$name" --log "$T/peer-$name.log" "$@" \
		2>>"$T/peer-$name.err" &
	PEER_PIDS+=($!)
	local i
	for i in $(seq 1 100); do
		[ -s "$T/peer-$name.pid" ] && return 0
		sleep 0.05
	done
	echo "peer $name did not start: $(cat "$T/peer-$name.err")" >&2
	return 1
}

# stop_peer NAME
stop_peer() {
	local pid
	pid=$(cat "$T/peer-$1.pid" 2>/dev/null) || return 0
	kill -TERM "$pid" 2>/dev/null
	local i
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
}

# peer_count NAME - messages the peer accepted
peer_count() {
	find "$T/peer-$1" -maxdepth 1 -type f -name '*.msg' 2>/dev/null | wc -l
}

# peer_has NAME N - exactly N messages (for wait_for)
peer_has() {
	[ "$(peer_count "$1")" = "$2" ]
}

# peer_all NAME - every accepted message, concatenated
peer_all() {
	cat "$T/peer-$1"/*.msg 2>/dev/null
}

# make_test_ca DIR - a CA and a server certificate for localhost,
# mx1/mx2.lab.test and 127.0.0.2-9; plus one for a wrong name
make_test_ca() {
	local d=$1 i san="DNS:localhost,DNS:mx1.lab.test,DNS:mx2.lab.test"
	for i in 2 3 4 5 6 7 8 9; do san="$san,IP:127.0.0.$i"; done
	mkdir -p "$d"
	timeout 60 openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
		-subj "/CN=IMC Test CA" -keyout "$d/ca.key" -out "$d/ca.pem" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || return 1
	timeout 60 openssl req -newkey rsa:2048 -nodes -subj "/CN=mx1.lab.test" \
		-keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null || return 1
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" > "$d/ext"
	timeout 60 openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" \
		-CAkey "$d/ca.key" -CAcreateserial -days 2 -extfile "$d/ext" \
		-out "$d/server.pem" 2>/dev/null || return 1
	timeout 60 openssl req -newkey rsa:2048 -nodes -subj "/CN=wrong.example" \
		-keyout "$d/wrong.key" -out "$d/wrong.csr" 2>/dev/null || return 1
	printf 'subjectAltName=DNS:wrong.example\n' > "$d/ext2"
	timeout 60 openssl x509 -req -in "$d/wrong.csr" -CA "$d/ca.pem" \
		-CAkey "$d/ca.key" -CAcreateserial -days 2 -extfile "$d/ext2" \
		-out "$d/wrong.pem" 2>/dev/null || return 1
	chmod 644 "$d"/*.key
}

# start_dnsmasq RECORD-ARGS... - dnsmasq on 127.0.0.1:$DNS_PORT,
# authoritative for "test" (other names there: NXDOMAIN); records as
# dnsmasq options (--mx-host=..., --host-record=...). servfail.test answers
# SERVFAIL (forwarded to a port nothing answers: dnsmasq says SERVFAIL
# once its upstream times out... use the REFUSED path instead: no server).
start_dnsmasq() {
	local attempt i
	# The port is free when chosen, but another program may take it (UDP
	# or TCP) before dnsmasq binds it: then dnsmasq ends, and another port
	# is tried (bounded).
	for attempt in 1 2 3 4 5; do
		DNS_PORT=$($PY -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
		timeout 300 /usr/sbin/dnsmasq --keep-in-foreground --log-facility=- \
			--no-resolv --no-hosts --port="$DNS_PORT" \
			--listen-address=127.0.0.1 --bind-interfaces \
			--conf-file=/dev/null --pid-file= --cache-size=0 \
			--local=/test/ "$@" 2>>"$T/dnsmasq.log" &
		DNSMASQ_PID=$!
		for i in $(seq 1 100); do
			if $PY - "$DNS_PORT" <<'EOF' 2>/dev/null
import socket, struct, sys
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
q += b"\x05ready\x04test\x00" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.2)
s.sendto(q, ("127.0.0.1", int(sys.argv[1])))
s.recv(512)
EOF
			then return 0; fi
			kill -0 "$DNSMASQ_PID" 2>/dev/null || break
			sleep 0.05
		done
		# running but silent: no other port would help
		kill -0 "$DNSMASQ_PID" 2>/dev/null && break
		wait "$DNSMASQ_PID" 2>/dev/null
		DNSMASQ_PID=
		echo "# dnsmasq ended at start (attempt $attempt, port $DNS_PORT)"
	done
	echo "dnsmasq did not answer: $(cat "$T/dnsmasq.log")" >&2
	return 1
}

# start_postfix_receiver ADDR PORT CA_DIR - a private Postfix instance on
# ADDR:PORT with STARTTLS (the test CA's server certificate), delivering
# every recipient into $T/pf-mail/ (one file per message, via a pipe to cat)
start_postfix_receiver() {
	local addr=$1 port=$2 ca=$3
	PF_DIR=$T/pf
	mkdir -p "$PF_DIR/etc" "$PF_DIR/spool" "$PF_DIR/data" "$T/pf-mail"
	chown postfix "$PF_DIR/data"
	chmod 1777 "$T/pf-mail"
	chmod 755 "$PF_DIR"
	# pipe(8) expands \$ macros in argv: the file name is made in a script
	printf '#!/bin/sh\ncat > %s/pf-mail/$(date +%%s%%N).$$.msg\n' "$T" > "$PF_DIR/deliver.sh"
	chmod 755 "$PF_DIR/deliver.sh"
	# every service unchrooted; one inet service: smtpd on ADDR:PORT
	{
		echo "${addr}:${port} inet n -       n       -       -       smtpd"
		cat "$IMC_SRC/tools/postfix-services.cf"
		echo "tlsmgr    unix  -       -       n       1000?   1       tlsmgr"
		echo "tofile    unix  -       n       n       -       -       pipe"
		echo "  flags=F user=nobody argv=$PF_DIR/deliver.sh"
	} > "$PF_DIR/etc/master.cf"
	cat > "$PF_DIR/etc/main.cf" <<EOF
compatibility_level = 3.6
config_directory = $PF_DIR/etc
queue_directory = $PF_DIR/spool
data_directory = $PF_DIR/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx1.lab.test
mydomain = lab.test
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
local_recipient_maps =
relay_domains = static:ALL
relay_recipient_maps =
transport_maps = static:tofile:
default_transport = tofile:
smtpd_tls_cert_file = $ca/server.pem
smtpd_tls_key_file = $ca/server.key
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtputf8_enable = no
biff = no
maillog_file = $PF_DIR/postfix.log
maillog_file_prefixes = /var, /dev/stdout, /tmp
alias_maps =
alias_database =
EOF
	timeout 60 postfix -c "$PF_DIR/etc" check >>"$T/pf.err" 2>&1 || return 1
	timeout 60 postfix -c "$PF_DIR/etc" start >>"$T/pf.err" 2>&1 || return 1
	local i
	for i in $(seq 1 200); do
		$PY -c "import socket; socket.create_connection(('$addr', $port), 1).close()" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "postfix did not listen: $(cat "$T/pf.err" "$PF_DIR/postfix.log" 2>/dev/null)" >&2
	return 1
}

# tracklog - the tracking log lines so far
tracklog() {
	cat "$ROOT"/Log/[0-9]*.log 2>/dev/null
}
