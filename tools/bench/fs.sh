#!/usr/bin/env bash
#
# tools/bench/fs.sh - the per-file-system parts of tools/bench.sh (a
# BENCHMARK, not a test): the connector's --once on N messages already in
# Pickup, side by side with Postfix doing the same job, with every work
# folder on one file system (the one under test).
#
#   fs.sh hold    Postfix maildrop files for the N store and N SMTP messages,
#                 made once (sendmail -C into a queue no master runs on) in
#                 $HOLD/store and $HOLD/smtp, copied into each run's maildrop
#   fs.sh run     the parts ($PARTS: store smtp) on the file system of $D
#
# Parts, each run $RUNS times, connector and Postfix one after the other:
#   store: N messages of SIZE bytes to user1..userRCPTS@example.com
#     - connector: the files are renamed into Pickup and synced, then the
#       time of `imc-connector --once` (it exits once every message is in
#       its mailbox's new/ folder, durably); user/sys CPU and peak RSS from
#       GNU time; syncs per message from its stats line.
#     - Postfix: the same messages as maildrop files (made by its own
#       postdrop) are renamed into its maildrop and synced, then pickup is
#       kicked (postkick); time until the last file is in vmail/.../new
#       (inotify); Postfix's pickup -> cleanup (fsync per message) -> qmgr
#       -> virtual(8), its defaults.
#   smtp: N messages to userI@sink.bench.test, relayed to Postfix's
#     smtp-sink on 127.0.0.2 (a smarthost for the connector, relayhost for
#     Postfix); connector: --once as above (it exits after the sink's 250 for
#     every message); Postfix: until the Nth "status=sent" line of its log.
# Called by tools/bench.sh with BIN, PY, DRIVER, W (its scratch folder, on
# /tmp), D (an empty folder on the file system under test), FS (its name),
# RES (results file, key<TAB>value lines), HOLD, PARTS, RUNS, N, SIZE, RCPTS,
# DO_POSTFIX, RUN_USER (the connector's user; root: allow_root = yes),
# TMO (seconds allowed to one run). Every process it starts is stopped by
# PID; every wait is bounded.

set -euo pipefail
: "${BIN:?}" "${PY:?}" "${DRIVER:?}" "${W:?}" "${HOLD:?}"
N=${N:-10000}
SIZE=${SIZE:-2048}
RCPTS=${RCPTS:-20}
RUNS=${RUNS:-3}
PARTS=${PARTS:-store smtp}
DO_POSTFIX=${DO_POSTFIX:-1}
RUN_USER=${RUN_USER:-root}
TMO=${TMO:-900}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_TAG=${FS:-fs}
. "$HERE/lib.sh"
SENDMAIL=/usr/sbin/sendmail
SINK=/usr/sbin/smtp-sink


# ------------------------------------------------------------- hold
# pf_config DIR QUEUE [PORT]: a private Postfix configuration in DIR/etc
# with its queue in QUEUE: virtual(8) Maildir delivery for example.com
# (DIR/vmail), everything else relayed to the sink on 127.0.0.2:PORT. No
# inet service; pickup wakes only when kicked (wakeup 3600), so that files
# renamed into the maildrop wait for the timed kick.
pf_config() {
	local dir=$1 queue=$2 port=${3:-9} i
	mkdir -p "$dir/etc" "$queue" "$dir/data" "$dir/vmail"
	chmod 755 "$dir"
	chown postfix "$dir/data"
	chown "$(id -u nobody):$(id -g nobody)" "$dir/vmail"
	{
		awk '$1 != "pickup"' "$HERE/../postfix-services.cf"
		echo "pickup    unix  n       -       n       3600    1       pickup"
		echo "virtual   unix  -       n       n       -       -       virtual"
		echo "smtp      unix  -       -       n       -       -       smtp"
		echo "relay     unix  -       -       n       -       -       smtp"
	} >"$dir/etc/master.cf"
	: >"$dir/etc/vmailbox"
	for ((i = 1; i <= RCPTS; i++)); do
		echo "user$i@example.com example.com/user$i/" >>"$dir/etc/vmailbox"
	done
	cat >"$dir/etc/main.cf" <<EOF
compatibility_level = 3.6
config_directory = $dir/etc
queue_directory = $queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.postfix.bench.example
mydomain = postfix.bench.example
myorigin = \$mydomain
mydestination =
local_recipient_maps =
relay_domains =
relayhost = [127.0.0.2]:$port
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
biff = no
smtputf8_enable = no
smtp_tls_security_level = none
virtual_mailbox_domains = example.com
virtual_mailbox_base = $dir/vmail
virtual_mailbox_maps = hash:$dir/etc/vmailbox
virtual_uid_maps = static:$(id -u nobody)
virtual_gid_maps = static:$(id -g nobody)
virtual_minimum_uid = 100
maillog_file = $dir/postfix.log
maillog_file_prefixes = /var, /dev/stdout, /tmp, $W
EOF
	postmap -c "$dir/etc" "$dir/etc/vmailbox" || die "postmap failed"
	postfix -c "$dir/etc" post-install create-missing >/dev/null ||
	    die "postfix post-install create-missing failed"
}

# hold: the maildrop files of both parts, through Postfix's own sendmail
# and postdrop with no master running (they stay in the maildrop)
do_hold() {
	local src=$W/fs-src part
	pf_config "$HOLD/pf" "$HOLD/pf/queue"
	for part in store smtp; do
		log "Postfix maildrop files for the $part part ($N messages, postdrop)"
		find "$src/$part" -maxdepth 1 -type f -print0 | sort -z |
		    timeout "$TMO" xargs -0 -P 2 -n 100 sh -c \
		    'for f; do '"$SENDMAIL"' -C "$0" -t -i -f sender@example.com <"$f" 2>/dev/null || exit 255; done' \
		    "$HOLD/pf/etc" || die "postdrop of the $part messages failed"
		mkdir -p "$HOLD/$part"
		find "$HOLD/pf/queue/maildrop" -maxdepth 1 -type f \
		    -exec mv -t "$HOLD/$part" {} +
		[[ $(find "$HOLD/$part" -type f | wc -l) == "$N" ]] ||
		    die "$part: $(find "$HOLD/$part" -type f | wc -l) maildrop files, not $N"
	done
}

if [[ ${1:-} == hold ]]; then
	do_hold
	exit 0
fi
[[ ${1:-} == run ]] || die "usage: fs.sh hold|run"
: "${D:?}" "${FS:?}" "${RES:?}"

# ------------------------------------------------------------- run
put() { printf '%s\t%s\n' "$1" "$2" >>"$RES"; }
SINK_PID=""; PF_STARTED=0; PF_MASTER=""; WAIT_PID=""
pf_stop() {
	[[ $PF_STARTED == 1 ]] || return 0
	PF_STARTED=0
	timeout 60 postfix -c "$P/etc" stop >/dev/null 2>&1 || true
	[[ -n $PF_MASTER ]] && stop "$PF_MASTER"
	PF_MASTER=""
}
cleanup_fs() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	stop "$WAIT_PID"
	pf_stop
	stop "$SINK_PID"
	exit "$rc"
}
trap cleanup_fs EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# -------------------------------------------------- messages and the sink
log "copying the messages onto the file system under test ($D)"
mkdir -p "$D/msgs"
for part in store smtp warm; do
	cp -r "$W/fs-src/$part" "$D/msgs/$part"
done

PORT=$(port_on 127.0.0.2)
if [[ $(id -u) == 0 ]]; then
	"$SINK" -u nobody "127.0.0.2:$PORT" 256 >/dev/null 2>&1 &
else
	"$SINK" "127.0.0.2:$PORT" 256 >/dev/null 2>&1 &
fi
SINK_PID=$!
for ((i = 0; ; i++)); do
	$PY -c "import socket; socket.create_connection(('127.0.0.2', $PORT), 1).close()" 2>/dev/null && break
	(( i < 100 )) || die "smtp-sink did not listen"
	sleep 0.05
done

# -------------------------------------------------- connector
C=$D/imc
CR=$C/Imcdata
mkdir -p "$C"
chmod 755 "$C"
{
	echo "root = $CR"
	echo "hostname = mx.bench.example"
	if [[ $RUN_USER == root ]]; then
		echo "allow_root = yes"
	elif [[ $(id -u) == 0 ]]; then
		echo "user = $RUN_USER"
	fi
	echo "local_domains = example.com"
	echo "smarthost = [127.0.0.2]:$PORT"
	echo "tls = none"
	echo "retry_schedule = 1h"
} >"$C/imc.conf"
"$BIN/imc-layout" -c "$C/imc.conf" create >/dev/null || die "imc-layout create failed"

# files_in DIR...: regular files below the folders
files_in() { find "$@" -type f 2>/dev/null | wc -l; }
c_new() { find "$CR/Store/example.com" -mindepth 3 -maxdepth 3 -path '*/new/*' -type f 2>/dev/null | wc -l; }
c_sent() { cat "$CR"/Log/[0-9]*.log 2>/dev/null | grep -c 'event=delivered.*relay=127\.0\.0\.2' || true; }
c_clear() {
	find "$CR/Store/example.com" -mindepth 3 -maxdepth 3 -path '*/new/*' -type f -delete 2>/dev/null || true
}

# c_once PART RUN: one timed --once on the part's N messages
c_once() {
	local part=$1 run=$2 t0 t1 rc=0 base=0 got secs usr sys hwm line barriers
	rm -rf "$D/stage"
	cp -r "$D/msgs/$part" "$D/stage"
	c_clear
	[[ $part == smtp ]] && base=$(c_sent)
	$PY "$DRIVER" drop "$D/stage" "$CR/Pickup" >/dev/null || die "drop into Pickup failed"
	sync	# the drop is not part of the timing
	t0=$(now_ns)
	timeout "$TMO" /usr/bin/time -f '%U %S %M' -o "$D/time.out" \
	    "$BIN/imc-connector" -c "$C/imc.conf" --once 2>"$D/once.log" || rc=$?
	t1=$(now_ns)
	(( rc == 0 )) || { tail -5 "$D/once.log" >&2; die "connector --once ($part run $run) exited $rc"; }
	if [[ $part == store ]]; then got=$(c_new); else got=$(( $(c_sent) - base )); fi
	(( got == N )) || die "connector $part run $run: $got of $N delivered"
	(( $(files_in "$CR/Pickup" "$CR/Work" "$CR/In" "$CR/Out" "$CR/Badmail") == 0 )) ||
	    die "connector $part run $run: files left in Pickup, Work, In, Out or Badmail"
	if grep -qiE 'warn|error|fatal' "$D/once.log"; then
		log "connector warnings:"; grep -iE 'warn|error|fatal' "$D/once.log" | head -5 >&2
	fi
	read -r usr sys hwm < <(tail -1 "$D/time.out")
	line=$(grep 'stats:' "$D/once.log" | tail -1)
	barriers=$(sed -n 's/.*barriers=\([0-9]*\).*/\1/p' <<<"$line")
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
	put "F.$FS.$part.c.secs" "$secs"
	put "F.$FS.$part.c.rate" "$(awk -v s="$secs" -v n="$N" 'BEGIN { printf "%.1f", n / s }')"
	put "F.$FS.$part.c.user" "$usr"
	put "F.$FS.$part.c.sys" "$sys"
	put "F.$FS.$part.c.hwm_kb" "$hwm"
	put "F.$FS.$part.c.barriers_per_msg" "$(awk -v b="${barriers:-0}" -v n="$N" 'BEGIN { printf "%.4f", b / n }')"
	log "connector $part run $run: $N in ${secs}s ($(awk -v s="$secs" -v n="$N" 'BEGIN { printf "%.0f", n / s }') msg/s), user ${usr}s sys ${sys}s, max RSS ${hwm} kB, barriers=${barriers:-?}"
	c_clear
	rm -rf "$D/stage"
	sync	# the deletions are not part of the next timing
}

log "connector warm-up (one message per mailbox, one to the sink)"
cp "$D/msgs/warm/"* "$CR/Pickup/"
timeout 120 "$BIN/imc-connector" -c "$C/imc.conf" --once 2>"$D/once.log" ||
    { tail -5 "$D/once.log" >&2; die "connector warm-up failed"; }
(( $(c_new) == RCPTS && $(c_sent) == 1 )) ||
    die "connector warm-up: $(c_new) of $RCPTS stored, $(c_sent) of 1 sent"
c_clear

# -------------------------------------------------- Postfix
P=$D/pf
pf_new() { find "$P/vmail/example.com" -mindepth 3 -maxdepth 3 -path '*/new/*' -type f 2>/dev/null | wc -l; }
pf_clear() {
	find "$P/vmail/example.com" -mindepth 3 -maxdepth 3 -path '*/new/*' -type f -delete 2>/dev/null || true
}
SENT_RE='relay=127\.0\.0\.2\[.*status=sent'	# a delivery to the sink
pf_sent() { grep -cE "$SENT_RE" "$P/postfix.log" 2>/dev/null || true; }
pf_not_sent() { grep -cE 'status=(deferred|bounced)' "$P/postfix.log" 2>/dev/null || true; }
pf_start() {
	PF_STARTED=1
	timeout 60 postfix -c "$P/etc" start >/dev/null 2>&1 || die "postfix start failed"
	local i
	for ((i = 0; ; i++)); do
		if [[ -s $P/queue/pid/master.pid ]]; then
			PF_MASTER=$(tr -dc 0-9 <"$P/queue/pid/master.pid")
			[[ -n $PF_MASTER ]] && kill -0 "$PF_MASTER" 2>/dev/null && break
		fi
		(( i < 200 )) || die "postfix master did not start"
		sleep 0.1
	done
}
# wait_bg: the background waiter's "T_NS COUNT" line; dies on its time-out
wait_bg() {
	local rc=0
	wait "$WAIT_PID" || rc=$?
	WAIT_PID=""
	(( rc == 0 )) || die "$1: not done within ${TMO}s ($(cat "$D/wait.out"))"
	TD=$(cut -d' ' -f1 "$D/wait.out")
}
# start_bg ARGS...: the driver's waiter in the background, ready when it
# has its watches (or its log offset)
start_bg() {
	rm -f "$D/ready" "$D/wait.out"
	$PY "$DRIVER" "$@" --timeout "$TMO" --ready "$D/ready" >"$D/wait.out" &
	WAIT_PID=$!
	local i
	for ((i = 0; ; i++)); do
		[[ -s $D/ready ]] && return 0
		kill -0 "$WAIT_PID" 2>/dev/null || die "waiter died"
		(( i < 400 )) || die "waiter not ready"
		sleep 0.05
	done
}

# pf_run PART RUN: the same N messages through Postfix
pf_run() {
	local part=$1 run=$2 t0 secs cpu0 cpu1 hwm procs bad0 off
	rm -rf "$D/pfstage"
	cp -rp "$HOLD/$part" "$D/pfstage"	# fresh copies, owner and mode kept
	pf_clear
	bad0=$(pf_not_sent)
	$PY "$DRIVER" drop "$D/pfstage" "$P/queue/maildrop" >/dev/null || die "drop into the maildrop failed"
	sync
	if [[ $part == store ]]; then
		start_bg wait --base "$P/vmail/example.com" --users "$RCPTS" --expect "$N"
	else
		off=$(stat -c %s "$P/postfix.log")
		start_bg waitlog --file "$P/postfix.log" --pattern "$SENT_RE" --expect "$N" --offset "$off"
	fi
	(( $(files_in "$P/queue/maildrop") == N )) || die "postfix picked up before the kick"
	read -r cpu0 _ < <($PY "$DRIVER" procstat "$PF_MASTER")
	t0=$(now_ns)
	postkick -c "$P/etc" public pickup W || die "postkick failed"
	wait_bg "postfix $part run $run"
	read -r cpu1 hwm procs < <($PY "$DRIVER" procstat "$PF_MASTER")
	(( $(pf_not_sent) == bad0 )) || die "postfix $part run $run: deferred or bounced (see $P/postfix.log)"
	secs=$(awk -v a="$t0" -v b="$TD" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
	put "F.$FS.$part.p.secs" "$secs"
	put "F.$FS.$part.p.rate" "$(awk -v s="$secs" -v n="$N" 'BEGIN { printf "%.1f", n / s }')"
	put "F.$FS.$part.p.cpu" "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }')"
	put "F.$FS.$part.p.hwm_kb" "$hwm"
	put "F.$FS.$part.p.procs" "$procs"
	log "postfix $part run $run: $N in ${secs}s ($(awk -v s="$secs" -v n="$N" 'BEGIN { printf "%.0f", n / s }') msg/s), CPU $(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }')s, RSS sum ${hwm} kB ($procs processes)"
	# the queue must be empty before the next run (qmgr may lag the log)
	local i
	for ((i = 0; ; i++)); do
		(( $(files_in "$P/queue/maildrop" "$P/queue/incoming" "$P/queue/active" "$P/queue/deferred") == 0 )) && break
		(( i < 600 )) || die "postfix queue not empty after $part run $run"
		sleep 0.05
	done
	pf_clear
	sync
}

if [[ $DO_POSTFIX == 1 ]]; then
	log "a private Postfix instance in $P"
	pf_config "$P" "$P/queue" "$PORT"
	postfix -c "$P/etc" check >&2 || die "postfix check failed"
	pf_start
	log "Postfix warm-up (one message per mailbox, one to the sink)"
	for f in "$D/msgs/warm/"*; do
		$SENDMAIL -C "$P/etc" -t -i -f sender@example.com <"$f" || die "postfix warm-up injection failed"
	done
	for ((i = 0; ; i++)); do
		(( $(pf_new) == RCPTS && $(pf_sent) == 1 )) && break
		(( i < 600 )) || die "postfix warm-up: $(pf_new) of $RCPTS stored, $(pf_sent) of 1 sent (see $P/postfix.log)"
		sleep 0.05
	done
	pf_clear
fi

# -------------------------------------------------- the runs
sync
for ((run = 1; run <= RUNS; run++)); do
	for part in $PARTS; do
		log "$part run $run of $RUNS (load: $(cut -d' ' -f1-3 /proc/loadavg))"
		c_once "$part" "$run"
		[[ $DO_POSTFIX == 1 ]] && pf_run "$part" "$run"
	done
done
pf_stop
exit 0
