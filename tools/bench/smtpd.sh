#!/usr/bin/env bash
#
# tools/bench/smtpd.sh - part 8 of tools/bench.sh (a BENCHMARK, not a test):
# the SMTP listener receiving into the store, side by side with Postfix's
# smtpd receiving the same load into its own Maildir (virtual(8)).
#   - load: smtp-source (Postfix's load generator), BENCH_SMTPD_SESSIONS
#     (20) sessions in parallel, connections kept (-d), BENCH_SMTPD_N
#     (10,000) messages of BENCH_SMALL_SIZE (2 KB) to user1@example.com;
#   - connector: the daemon with listen = 127.0.0.4:PORT; the time is
#     smtp-source's run (its last 250; the connector says 250 only once
#     the message is in the store and synced) and, the same here, until the
#     last file is in the mailbox;
#   - Postfix: a private instance, smtpd on 127.0.0.5:PORT, virtual(8)
#     into a Maildir; the time of smtp-source's run (Postfix says 250 once
#     its queue file is fsynced) and until the last file is in the mailbox;
#   - latency: BENCH_SMTPD_LAT (2,000) messages from 20 Python clients,
#     the time from sending the final dot to reading the 250, p50 and p99,
#     for both;
#   - peak RSS of the connector with BENCH_SMTPD_OPEN (500) sessions open
#     (each past EHLO), and its RSS idle before.
# Called by tools/bench.sh with BIN, W, PY, PHASE_TIMEOUT; prints a table.
# Every process it starts is stopped by PID; every wait is bounded.

set -euo pipefail
BENCH_TAG=smtpd
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${BIN:?}" "${W:?}" "${PY:?}"
N=${BENCH_SMTPD_N:-10000}
SESS=${BENCH_SMTPD_SESSIONS:-20}
LATN=${BENCH_SMTPD_LAT:-2000}
OPEN=${BENCH_SMTPD_OPEN:-500}
SIZE=${BENCH_SMALL_SIZE:-2048}
TMO=${PHASE_TIMEOUT:-900}
S=$W/smtpd
mkdir -p "$S"
CONN_PID=""; PF_STARTED=0; PF_MASTER=""
cleanup_smtpd() {
	set +e
	stop "$CONN_PID"
	if [[ $PF_STARTED == 1 ]]; then
		timeout 60 postfix -c "$S/pf/etc" stop >/dev/null 2>&1
		[[ -n $PF_MASTER ]] && stop "$PF_MASTER"
	fi
}
trap cleanup_smtpd EXIT
SOURCE=/usr/sbin/smtp-source
[[ -x $SOURCE ]] || die "no $SOURCE (Debian package postfix)"
CPORT=$(port_on 127.0.0.4)
PPORT=$(port_on 127.0.0.5)
wait_listen() {
	local i
	for ((i = 0; i < 200; i++)); do
		$PY -c "import socket; socket.create_connection(('$1', $2), 1).close()" 2>/dev/null && return 0
		sleep 0.05
	done
	die "nothing listens on $1:$2"
}
count_new() { find "$1" -type f 2>/dev/null | wc -l; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
rate() { awk -v s="$1" -v n="$2" 'BEGIN { printf "%.1f", n / s }'; }

# latency ADDR PORT N -> "p50 p99" in ms, dot to 250
latency() {
	$PY - "$1" "$2" "$3" "$SIZE" <<'PYEOF'
import smtplib, sys, threading, time
host, port, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
lat, lock = [], threading.Lock()
body = b"Subject: latency\r\n\r\n" + (b"x" * 78 + b"\r\n") * max(1, size // 80)
def run(k):
    s = smtplib.SMTP(host, port, timeout=60)
    s.ehlo("lat.bench")
    for _ in range(k):
        s.mail("sender@bench.test"); s.rcpt("user2@example.com")
        s.putcmd("data"); s.getreply()
        s.send(body)
        t = time.monotonic_ns(); s.send(b".\r\n"); code, _ = s.getreply()
        d = time.monotonic_ns() - t
        if code != 250:
            raise SystemExit("no 250: %d" % code)
        with lock:
            lat.append(d)
    s.quit()
ts = [threading.Thread(target=run, args=(n // 20,)) for _ in range(20)]
[t.start() for t in ts]; [t.join() for t in ts]
lat.sort()
print("%.2f %.2f" % (lat[len(lat) // 2] / 1e6, lat[min(len(lat) - 1, int(len(lat) * 0.99))] / 1e6))
PYEOF
}

# ------------------------------------------------------------- connector
C=$S/imc
mkdir -p "$C"
cat >"$C/imc.conf" <<EOF
root = $C/Imcdata
hostname = mx.bench.example
${USER_LINE:-allow_root = yes}
local_domains = example.com
listen = 127.0.0.4:$CPORT
smtpd_greet_pause = 0s
smtpd_max_per_client = 1000
smtpd_max_connections = 2000
EOF
"$BIN/imc-layout" -c "$C/imc.conf" create >/dev/null
"$BIN/imc-connector" --foreground -c "$C/imc.conf" 2>"$C/daemon.log" &
CONN_PID=$!
for ((i = 0; i < 200; i++)); do
	grep -q watching "$C/daemon.log" && break
	kill -0 "$CONN_PID" 2>/dev/null || die "connector died: $(tail -3 "$C/daemon.log")"
	sleep 0.05
done
wait_listen 127.0.0.4 "$CPORT"
c_idle=$(awk '/^VmRSS:/ { print $2 }' "/proc/$CONN_PID/status")
sync
t0=$(now_ns)
timeout "$TMO" "$SOURCE" -d -s "$SESS" -m "$N" -l "$SIZE" -f sender@bench.test \
	-t user1@example.com 127.0.0.4:"$CPORT" >"$C/source.log" 2>&1 ||
	die "smtp-source to the connector failed: $(tail -3 "$C/source.log")"
t1=$(now_ns)
end=$((SECONDS + TMO))
while (( $(count_new "$C/Imcdata/Store/example.com/user1/new") < N )); do
	(( SECONDS < end )) || die "connector: $(count_new "$C/Imcdata/Store/example.com/user1/new") of $N in the store"
	sleep 0.05
done
t2=$(now_ns)
c_secs=$(secs "$t0" "$t1"); c_rate=$(rate "$c_secs" "$N"); c_store=$(secs "$t0" "$t2")
log "connector: $N messages taken in ${c_secs}s ($c_rate msg/s), all in the store after ${c_store}s"
read -r c_p50 c_p99 < <(latency 127.0.0.4 "$CPORT" "$LATN") || die "connector latency run failed"
log "connector: final dot to 250: p50 ${c_p50} ms, p99 ${c_p99} ms"
# sessions held open, each past EHLO
$PY - 127.0.0.4 "$CPORT" "$OPEN" "$CONN_PID" >"$C/open.txt" <<'PYEOF' || die "open sessions failed"
import socket, sys, time
host, port, n, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
socks = []
for i in range(n):
    s = socket.create_connection((host, port), 10)
    s.recv(1000)
    s.sendall(b"EHLO open.bench\r\n")
    socks.append(s)
for s in socks:
    got = b""
    while b"250 " not in got:
        got += s.recv(4096)
time.sleep(0.5)
st = dict(l.split(":", 1) for l in open("/proc/%s/status" % pid))
print(st["VmRSS"].split()[0], st["VmHWM"].split()[0], len(socks))
for s in socks:
    s.close()
PYEOF
read -r c_rss500 c_hwm500 c_open <"$C/open.txt"
stop "$CONN_PID"; CONN_PID=""
c_stats=$(grep 'stats:' "$C/daemon.log" | tail -1 | sed 's/.*stats: //')
log "connector: $c_open sessions open: VmRSS ${c_rss500} kB (idle ${c_idle} kB), VmHWM ${c_hwm500} kB; $c_stats"

# ------------------------------------------------------------- postfix
P=$S/pf
NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)
mkdir -p "$P/etc" "$P/queue" "$P/data" "$P/vmail"
chmod 755 "$P"
chown postfix "$P/data"
chown "$NOBODY_UID:$NOBODY_GID" "$P/vmail"
{
	echo "127.0.0.5:$PPORT inet n - n - - smtpd"
	cat "$(dirname "${BASH_SOURCE[0]}")/../postfix-services.cf"
	echo "virtual   unix  -       n       n       -       -       virtual"
} >"$P/etc/master.cf"
printf 'user1@example.com example.com/user1/\nuser2@example.com example.com/user2/\n' >"$P/etc/vmailbox"
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
relayhost =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
alias_maps =
alias_database =
biff = no
smtputf8_enable = no
virtual_mailbox_domains = example.com
virtual_mailbox_base = $P/vmail
virtual_mailbox_maps = hash:$P/etc/vmailbox
virtual_uid_maps = static:$NOBODY_UID
virtual_gid_maps = static:$NOBODY_GID
virtual_minimum_uid = 100
maillog_file = $P/postfix.log
maillog_file_prefixes = /var, /dev/stdout, /tmp, $W
EOF
postmap -c "$P/etc" "$P/etc/vmailbox" || die "postmap failed"
postfix -c "$P/etc" check >&2 || die "postfix check failed"
PF_STARTED=1
timeout 60 postfix -c "$P/etc" start >&2 || die "postfix start failed"
for ((i = 0; i < 200; i++)); do
	[[ -s $P/queue/pid/master.pid ]] && break
	sleep 0.1
done
PF_MASTER=$(tr -dc 0-9 <"$P/queue/pid/master.pid")
wait_listen 127.0.0.5 "$PPORT"
PF_NEW=$P/vmail/example.com/user1/new
sync
t0=$(now_ns)
timeout "$TMO" "$SOURCE" -d -s "$SESS" -m "$N" -l "$SIZE" -f sender@bench.test \
	-t user1@example.com 127.0.0.5:"$PPORT" >"$P/source.log" 2>&1 ||
	die "smtp-source to Postfix failed: $(tail -3 "$P/source.log")"
t1=$(now_ns)
end=$((SECONDS + TMO))
while (( $(count_new "$PF_NEW") < N )); do
	(( SECONDS < end )) || die "postfix: $(count_new "$PF_NEW") of $N in the mailbox"
	sleep 0.05
done
t2=$(now_ns)
p_secs=$(secs "$t0" "$t1"); p_rate=$(rate "$p_secs" "$N"); p_store=$(secs "$t0" "$t2")
p_store_rate=$(rate "$p_store" "$N")
log "postfix: $N messages taken in ${p_secs}s ($p_rate msg/s), all in the mailbox after ${p_store}s"
read -r p_p50 p_p99 < <(latency 127.0.0.5 "$PPORT" "$LATN") || die "postfix latency run failed"
log "postfix: final dot to 250: p50 ${p_p50} ms, p99 ${p_p99} ms"

c_store_rate=$(rate "$c_store" "$N")
printf '\n== part 8: SMTP in, %s x %s bytes, smtp-source -s %s -d, into the store\n' "$N" "$SIZE" "$SESS"
printf '%-10s %12s %12s %14s %14s %10s %10s\n' "" "taken s" "msg/s (250)" "in mailbox s" "msg/s (store)" "p50 ms" "p99 ms"
printf '%-10s %12s %12s %14s %14s %10s %10s\n' connector "$c_secs" "$c_rate" "$c_store" "$c_store_rate" "$c_p50" "$c_p99"
printf '%-10s %12s %12s %14s %14s %10s %10s\n' postfix "$p_secs" "$p_rate" "$p_store" "$p_store_rate" "$p_p50" "$p_p99"
printf 'ratio connector/postfix: %s (250s), %s (in the mailbox)\n' \
	"$(awk -v a="$c_rate" -v b="$p_rate" 'BEGIN { printf "%.2f", a / b }')" \
	"$(awk -v a="$c_store_rate" -v b="$p_store_rate" 'BEGIN { printf "%.2f", a / b }')"
printf 'connector RSS: idle %s kB; %s sessions open %s kB (peak %s kB)\n' "$c_idle" "$c_open" "$c_rss500" "$c_hwm500"
printf 'connector stats: %s\n\n' "$c_stats"
