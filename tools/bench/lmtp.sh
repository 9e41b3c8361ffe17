#!/usr/bin/env bash
#
# tools/bench/lmtp.sh - part 6 of tools/bench.sh (a BENCHMARK, not a test):
# Pickup to a Dovecot store over LMTP. BENCH_LMTP_N messages of
# BENCH_SMALL_SIZE bytes (10,000 x 2 KB), To: user1..userBENCH_RCPTS@example.com
# round-robin, go to one private Dovecot (tests/integration/lib_dovecot.sh:
# Debian's dovecot-lmtpd on a loopback port, Maildirs under the scratch
# folder, no quota plugin), first from the connector, then from Postfix:
#   - connector: the daemon runs with local_domains = example.com and
#     store = lmtp:[127.0.0.1]:PORT (defaults otherwise: max_per_destination
#     4, 100 messages per connection); the files are renamed into Pickup as
#     fast as Python can; time from the first rename to the tracking log's
#     last "delivered" line (Dovecot's 250 for the recipient, after the Out/
#     entry was made durable); messages per second; peak RSS (VmHWM).
#   - Postfix: a private instance with relay_domains = example.com and
#     relay_transport = lmtp:inet:127.0.0.1:PORT (its own lmtp(8) client,
#     default concurrency 20) gets the same messages over SMTP on its own
#     smtpd, 8 parallel injecting connections (its fastest way in, much
#     faster than sendmail); time from the first injection to the last
#     "status=sent" line of its log.
#   - the store's own ceiling: a bare LMTP client (Python, no queue, 20
#     connections, one transaction after the other on each) sends the same
#     messages straight to the same Dovecot; neither system can beat it.
# BENCH_LMTP_CONF adds lines to the connector's config (for example
# "max_per_destination = 20", Postfix's lmtp concurrency).
# All three runs must leave exactly BENCH_LMTP_N messages more in the users'
# Maildirs (checked; a shortfall fails the part). Called by tools/bench.sh
# with BIN, W (scratch, removed by the caller), PY, DRIVER, PHASE_TIMEOUT,
# IMC_SRC (the source tree); prints a small table. Every process it starts
# is stopped by PID; every wait is bounded.

set -euo pipefail
BENCH_TAG=lmtp
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${BIN:?}" "${W:?}" "${PY:?}" "${DRIVER:?}" "${IMC_SRC:?}"
N=${BENCH_LMTP_N:-10000}
SIZE=${BENCH_SMALL_SIZE:-2048}
RCPTS=${BENCH_RCPTS:-20}
TMO=${PHASE_TIMEOUT:-900}
S=$W/lmtp
mkdir -p "$S"
chmod 755 "$S"
CONN_PID=""; PFS_STARTED=0; PFS_MASTER=""

# The private Dovecot of the tests, in $S/dovecot, without quota.
T=$S
need() { local p; for p in "$@"; do command -v "$p" >/dev/null || die "no $p (dovecot-core)"; done; }
skip_all() { die "$*"; }
cleanup() { :; }
DC_USERS=$(seq -f 'user%g' 1 "$RCPTS" | tr '\n' ' ')
DC_QUOTA=0
# shellcheck source=../../tests/integration/lib_dovecot.sh
. "$IMC_SRC/tests/integration/lib_dovecot.sh"
cleanup_lmtp() {
	set +e
	stop "$CONN_PID"
	if [[ $PFS_STARTED == 1 ]]; then
		timeout 60 postfix -c "$S/pf/etc" stop >/dev/null 2>&1
		[[ -n $PFS_MASTER ]] && stop "$PFS_MASTER"
	fi
	dovecot_stop
}
trap cleanup_lmtp EXIT
dovecot_start || die "dovecot did not start"
# in_store: messages in every user's Maildir (new/ and cur/)
in_store() {
	find "$DC/home" -path '*/Maildir/new/*' -type f -o -path '*/Maildir/cur/*' -type f 2>/dev/null | wc -l
}

log "generating $N messages of $SIZE bytes for user1..user$RCPTS@example.com"
$PY "$DRIVER" gen "$S/msgs" "$N" "$SIZE" "$RCPTS" l

# ------------------------------------------------------------- connector
C=$S/imc
mkdir -p "$C"
cat >"$C/imc.conf" <<CONF
root = $C/Imcdata
hostname = mx.bench.example
${USER_LINE:-allow_root = yes}
local_domains = example.com
store = lmtp:[127.0.0.1]:$DC_LMTP_PORT
smarthost = [127.0.0.1]:9
${BENCH_LMTP_CONF:-}
CONF
"$BIN/imc-layout" -c "$C/imc.conf" create >/dev/null
delivered_count() {
	cat "$C"/Imcdata/Log/[0-9]*.log 2>/dev/null | grep -c 'event=delivered' || true
}
"$BIN/imc-connector" --foreground -c "$C/imc.conf" 2>"$C/daemon.log" &
CONN_PID=$!
for ((i = 0; i < 200; i++)); do
	grep -q watching "$C/daemon.log" 2>/dev/null && break
	kill -0 "$CONN_PID" 2>/dev/null || die "connector died: $(tail -3 "$C/daemon.log")"
	sleep 0.05
done
grep -q watching "$C/daemon.log" || die "connector did not start"
cp -r "$S/msgs" "$C/stage"; sync
before=$(in_store)
read -r t0 _t1 _ < <($PY "$DRIVER" drop "$C/stage" "$C/Imcdata/Pickup")
end=$((SECONDS + TMO))
while (( $(delivered_count) < N )); do
	(( SECONDS < end )) || die "connector: $(delivered_count) of $N delivered in ${TMO}s"
	sleep 0.05
done
last=$(cat "$C"/Imcdata/Log/[0-9]*.log | grep 'event=delivered' | tail -1 | cut -d' ' -f1)
td=$(date -d "$last" +%s%N)
c_hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$CONN_PID/status")
stop "$CONN_PID"; CONN_PID=""
c_stats=$(grep 'stats:' "$C/daemon.log" | tail -1)
c_got=$(( $(in_store) - before ))
(( c_got == N )) || die "connector: Dovecot holds $c_got new messages, not $N"
c_secs=$(awk -v a="$t0" -v b="$td" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
c_rate=$(awk -v s="$c_secs" -v n="$N" 'BEGIN { printf "%.1f", n / s }')
log "connector: $N delivered to Dovecot over LMTP in ${c_secs}s ($c_rate msg/s), VmHWM ${c_hwm} kB; $c_stats"

# ------------------------------------------------------------- postfix
PFPORT=$(port_on 127.0.0.3)
P=$S/pf
mkdir -p "$P/etc" "$P/queue" "$P/data"
chmod 755 "$P"
chown postfix "$P/data"
{
	echo "127.0.0.3:$PFPORT inet n - n - - smtpd"
	cat "$IMC_SRC/tools/postfix-services.cf"
	echo "lmtp      unix  -       -       n       -       -       lmtp"
	echo "smtp      unix  -       -       n       -       -       smtp"
	echo "relay     unix  -       -       n       -       -       smtp"
} >"$P/etc/master.cf"
cat >"$P/etc/main.cf" <<CONF
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
relay_domains = example.com
relay_recipient_maps =
relay_transport = lmtp:inet:127.0.0.1:$DC_LMTP_PORT
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
alias_maps =
alias_database =
biff = no
smtputf8_enable = no
maillog_file = $P/postfix.log
maillog_file_prefixes = /var, /dev/stdout, /tmp, $W
CONF
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
before=$(in_store)
t0=$(date +%s%N)
timeout "$TMO" $PY "$(dirname "${BASH_SOURCE[0]}")/smtp_inject.py" "$S/msgs" 127.0.0.3 "$PFPORT" ||
	die "postfix injection failed"
ti=$(date +%s%N)
end=$((SECONDS + TMO))
while (( $(sent_count) < N )); do
	(( SECONDS < end )) || die "postfix: $(sent_count) of $N sent in ${TMO}s"
	sleep 0.05
done
# the log's times have only seconds: the wall clock now (polled every 50 ms)
td=$(date +%s%N)
p_got=$(( $(in_store) - before ))
(( p_got == N )) || die "postfix: Dovecot holds $p_got new messages, not $N"
p_secs=$(awk -v a="$t0" -v b="$td" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
p_inj=$(awk -v a="$t0" -v b="$ti" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
p_rate=$(awk -v s="$p_secs" -v n="$N" 'BEGIN { printf "%.1f", n / s }')
log "postfix: $N delivered to Dovecot through its lmtp client in ${p_secs}s ($p_rate msg/s; injection over SMTP ${p_inj}s)"
# ------------------------------------------------------------- ceiling
before=$(in_store)
cat >"$S/bare.py" <<'PYEOF'
import os, socket, sys, threading, time
src, port, par = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
names = sorted(os.listdir(src))
def reply(f):
    while True:
        line = f.readline()
        if not line.startswith((b"2", b"3")):
            raise SystemExit("LMTP: %r" % line)
        if line[3:4] != b"-":
            return
def work(part):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    f = s.makefile("rb")
    reply(f)
    s.sendall(b"LHLO bench\r\n")
    reply(f)
    for n in part:
        data = open(os.path.join(src, n), "rb").read()
        to = [l.split(b":", 1)[1].strip() for l in data.split(b"\r\n")
              if l.startswith(b"To:")][0]
        body = b"\r\n".join(b"." + l if l.startswith(b".") else l
                             for l in data.split(b"\r\n"))
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        s.sendall(b"MAIL FROM:<sender@example.com>\r\nRCPT TO:<" + to +
                  b">\r\nDATA\r\n")
        reply(f); reply(f); reply(f)
        s.sendall(body + b".\r\n")
        reply(f)
    s.sendall(b"QUIT\r\n")
t = time.time()
ts = [threading.Thread(target=work, args=(names[i::par],)) for i in range(par)]
[x.start() for x in ts]
[x.join() for x in ts]
print("%.3f" % (time.time() - t))
PYEOF
b_secs=$(timeout "$TMO" $PY "$S/bare.py" "$S/msgs" "$DC_LMTP_PORT" 20) ||
	die "bare LMTP client failed"
b_got=$(( $(in_store) - before ))
(( b_got == N )) || die "bare LMTP client: Dovecot holds $b_got new messages, not $N"
b_rate=$(awk -v s="$b_secs" -v n="$N" 'BEGIN { printf "%.1f", n / s }')
log "bare LMTP client: $N to Dovecot in ${b_secs}s ($b_rate msg/s)"
ratio=$(awk -v a="$c_rate" -v b="$p_rate" 'BEGIN { printf "%.2f", a / b }')
cat <<OUT

Part 6: Pickup to Dovecot over LMTP, $N x $SIZE bytes to $RCPTS users (Dovecot $(dovecot --version | cut -d' ' -f1), 127.0.0.1:$DC_LMTP_PORT)
| system | seconds | msg/s | peak RSS |
| --- | --- | --- | --- |
| connector (Pickup -> Out -> LMTP) | $c_secs | $c_rate | $c_hwm kB |
| Postfix (smtpd -> queue -> lmtp; SMTP injection ${p_inj}s) | $p_secs | $p_rate | - |
| ceiling: bare LMTP client, no queue, 20 connections | $b_secs | $b_rate | - |
ratio connector/Postfix: ${ratio}x (load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))
OUT
