#!/usr/bin/env bash
#
# tools/bench/smtp.sh - part 5 of tools/bench.sh (a BENCHMARK, not a test):
# Pickup to SMTP. BENCH_SMTP_N messages of BENCH_SMALL_SIZE bytes (10,000 x
# 2 KB) for remote recipients (userI@sink.bench.test) go to one loopback
# sink, Postfix's smtp-sink, which accepts everything and keeps nothing:
#   - connector: the daemon runs with smarthost = [127.0.0.2]:PORT, tls =
#     none; the files are renamed into Pickup as fast as Python can; time
#     from the first rename to the tracking log's last "delivered" line (the
#     sink's 250 after the dot, written after the Out/ entry was made
#     durable by the batch's syncfs); messages per second; peak RSS (VmHWM).
#   - Postfix: a private instance with relayhost = [127.0.0.2]:PORT gets the
#     same messages over SMTP on its own smtpd (8 parallel injecting
#     connections: its fastest way in, much faster than sendmail); time from
#     the first injection to the last "status=sent" line of its log; each
#     queue file is fsynced by Postfix's cleanup, as always.
#   - peak RSS of the connector with all BENCH_SMTP_N messages queued: the
#     same drop with the sink stopped (every attempt deferred), VmHWM once
#     every message has its deferral.
# Called by tools/bench.sh with BIN (the Release binaries), W (scratch, removed
# by the caller), PY, DRIVER, PHASE_TIMEOUT; prints a small table. Every
# process it starts is stopped by PID; every wait is bounded.

set -euo pipefail
BENCH_TAG=smtp
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${BIN:?}" "${W:?}" "${PY:?}" "${DRIVER:?}"
N=${BENCH_SMTP_N:-10000}
SIZE=${BENCH_SMALL_SIZE:-2048}
RCPTS=${BENCH_RCPTS:-20}
TMO=${PHASE_TIMEOUT:-900}
S=$W/smtp
mkdir -p "$S"
SINK_PID=""; CONN_PID=""; PFS_STARTED=0; PFS_MASTER=""
cleanup_smtp() {
	set +e
	stop "$CONN_PID"
	stop "$SINK_PID"
	if [[ $PFS_STARTED == 1 ]]; then
		timeout 60 postfix -c "$S/pf/etc" stop >/dev/null 2>&1
		[[ -n $PFS_MASTER ]] && stop "$PFS_MASTER"
	fi
}
trap cleanup_smtp EXIT

SINK=/usr/sbin/smtp-sink
[[ -x $SINK ]] || die "no $SINK (Debian package postfix)"
PORT=$(port_on 127.0.0.2)
PFPORT=$(port_on 127.0.0.3)
start_sink() {
	# -u: run as nobody; backlog 256; it speaks ESMTP with PIPELINING
	"$SINK" -u nobody "127.0.0.2:$PORT" 256 >/dev/null 2>&1 &
	SINK_PID=$!
	local i
	for ((i = 0; i < 100; i++)); do
		$PY -c "import socket; socket.create_connection(('127.0.0.2', $PORT), 1).close()" 2>/dev/null && return 0
		sleep 0.05
	done
	die "smtp-sink did not listen"
}

log "generating $N messages of $SIZE bytes for sink.bench.test"
$PY "$DRIVER" gen "$S/msgs" "$N" "$SIZE" "$RCPTS" m
sed -i 's/@example\.com$/@sink.bench.test/; s/^To: \(user[0-9]*\)@example.com/To: \1@sink.bench.test/' "$S"/msgs/* 2>/dev/null ||
	die "cannot rewrite the recipients"
grep -q '^To: user1@sink.bench.test' "$S/msgs/m-000001" || die "recipient rewrite failed"

# ------------------------------------------------------------- connector
C=$S/imc
mkdir -p "$C"
cat >"$C/imc.conf" <<EOF
root = $C/Imcdata
hostname = mx.bench.example
${USER_LINE:-allow_root = yes}
local_domains = example.com
smarthost = [127.0.0.2]:$PORT
tls = none
retry_schedule = 1h
EOF
"$BIN/imc-layout" -c "$C/imc.conf" create >/dev/null

# delivered_count: "delivered" lines in the tracking log
delivered_count() {
	cat "$C"/Imcdata/Log/[0-9]*.log 2>/dev/null | grep -c 'event=delivered' || true
}
deferred_count() {
	cat "$C"/Imcdata/Log/[0-9]*.log 2>/dev/null | grep -c 'event=deferred' || true
}
conn_start() {
	"$BIN/imc-connector" -c "$C/imc.conf" --foreground 2>"$C/daemon.log" &
	CONN_PID=$!
	local i
	for ((i = 0; i < 200; i++)); do
		grep -q watching "$C/daemon.log" && return 0
		kill -0 "$CONN_PID" 2>/dev/null || die "connector died: $(tail -3 "$C/daemon.log")"
		sleep 0.05
	done
	die "connector did not start"
}

start_sink
rm -rf "$C/stage"; cp -r "$S/msgs" "$C/stage"; sync
conn_start
read -r t0 _t1 _ < <($PY "$DRIVER" drop "$C/stage" "$C/Imcdata/Pickup")
end=$((SECONDS + TMO))
while (( $(delivered_count) < N )); do
	(( SECONDS < end )) || die "connector: $(delivered_count) of $N delivered in ${TMO}s"
	sleep 0.05
done
# the time of the last delivered line (the log's own clock, ms)
last=$(cat "$C"/Imcdata/Log/[0-9]*.log | grep 'event=delivered' | tail -1 | cut -d' ' -f1)
td=$(date -d "$last" +%s%N)
c_hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$CONN_PID/status")
stop "$CONN_PID"; CONN_PID=""
c_stats=$(grep 'stats:' "$C/daemon.log" | tail -1)
c_secs=$(awk -v a="$t0" -v b="$td" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
c_rate=$(awk -v s="$c_secs" -v n="$N" 'BEGIN { printf "%.1f", n / s }')
log "connector: $N delivered to the sink in ${c_secs}s ($c_rate msg/s), VmHWM ${c_hwm} kB; $c_stats"

# queued: the same messages with the sink down
stop "$SINK_PID"; SINK_PID=""
rm -rf "$C/Imcdata"; "$BIN/imc-layout" -c "$C/imc.conf" create >/dev/null
rm -rf "$C/stage"; cp -r "$S/msgs" "$C/stage"; sync
conn_start
$PY "$DRIVER" drop "$C/stage" "$C/Imcdata/Pickup" >/dev/null
end=$((SECONDS + TMO))
while (( $(deferred_count) < N )); do
	(( SECONDS < end )) || die "connector (sink down): $(deferred_count) of $N deferred in ${TMO}s"
	sleep 0.1
done
q_hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$CONN_PID/status")
q_out=$(ls "$C/Imcdata/Out" | grep -c '\.env$' || true)
stop "$CONN_PID"; CONN_PID=""
log "connector with $q_out messages queued in Out (sink down): VmHWM ${q_hwm} kB"

# ------------------------------------------------------------- postfix
start_sink
P=$S/pf
mkdir -p "$P/etc" "$P/queue" "$P/data"
chmod 755 "$P"
chown postfix "$P/data"
{
	echo "127.0.0.3:$PFPORT inet n - n - - smtpd"
	cat "$(dirname "${BASH_SOURCE[0]}")/../postfix-services.cf"
	echo "smtp      unix  -       -       n       -       -       smtp"
	echo "relay     unix  -       -       n       -       -       smtp"
} >"$P/etc/master.cf"
cat >"$P/etc/main.cf" <<EOF
compatibility_level = 3.6
config_directory = $P/etc
queue_directory = $P/queue
data_directory = $P/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.postfix.bench.example
mydomain = postfix.bench.example
mydestination =
local_recipient_maps =
relay_domains =
relayhost = [127.0.0.2]:$PORT
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
alias_maps =
alias_database =
biff = no
smtputf8_enable = no
smtp_tls_security_level = none
maillog_file = $P/postfix.log
maillog_file_prefixes = /var, /dev/stdout, /tmp, $W
EOF
postfix -c "$P/etc" check >&2 || die "postfix check failed"
PFS_STARTED=1
timeout 60 postfix -c "$P/etc" start >&2 || die "postfix start failed"
for ((i = 0; i < 200; i++)); do
	[[ -s $P/queue/pid/master.pid ]] && break
	sleep 0.1
done
PFS_MASTER=$(tr -dc 0-9 <"$P/queue/pid/master.pid")
for ((i = 0; i < 200; i++)); do
	$PY -c "import socket; socket.create_connection(('127.0.0.3', $PFPORT), 1).close()" 2>/dev/null && break
	sleep 0.05
done
sent_count() { grep -c 'status=sent' "$P/postfix.log" 2>/dev/null || true; }
sync
t0=$(date +%s%N)
timeout "$TMO" $PY "$(dirname "${BASH_SOURCE[0]}")/smtp_inject.py" "$S/msgs" 127.0.0.3 "$PFPORT" ||
	die "postfix injection failed"
ti=$(date +%s%N)
end=$((SECONDS + TMO))
while (( $(sent_count) < N )); do
	(( SECONDS < end )) || die "postfix: $(sent_count) of $N sent in ${TMO}s"
	sleep 0.05
done
# the last "status=sent" line's time has only seconds: take the wall clock
# now (polled every 50 ms)
td=$(date +%s%N)
p_hwm=0
for p in "$PFS_MASTER" $(ps -o pid= --ppid "$PFS_MASTER"); do
	v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)
	p_hwm=$((p_hwm + ${v:-0}))
done
p_secs=$(awk -v a="$t0" -v b="$td" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
p_inj=$(awk -v a="$t0" -v b="$ti" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
p_rate=$(awk -v s="$p_secs" -v n="$N" 'BEGIN { printf "%.1f", n / s }')
log "postfix: $N relayed to the sink in ${p_secs}s ($p_rate msg/s; injection over SMTP ${p_inj}s), VmHWM sum ${p_hwm} kB"
ratio=$(awk -v a="$c_rate" -v b="$p_rate" 'BEGIN { printf "%.2f", a / b }')
cat <<EOF

Part 5: Pickup to SMTP, $N x $SIZE bytes to smtp-sink on 127.0.0.2 (loopback)
| system | seconds | msg/s | peak RSS |
| --- | --- | --- | --- |
| connector (Pickup -> Out -> SMTP) | $c_secs | $c_rate | $c_hwm kB |
| Postfix (smtpd -> queue -> smtp; SMTP injection ${p_inj}s) | $p_secs | $p_rate | $p_hwm kB (sum of processes) |
ratio connector/Postfix: ${ratio}x
connector with $q_out messages queued (sink down): peak RSS $q_hwm kB
EOF
