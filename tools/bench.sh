#!/usr/bin/env bash
#
# tools/bench.sh - a BENCHMARK (not a test; it passes or fails nothing):
# imc-connector (Pickup to the built-in Maildir store) side by side with a
# private Postfix instance (sendmail/maildrop to virtual(8) Maildir), same
# messages, same machine, same run.
#
# What it measures, in one run:
#   1. throughput: BENCH_SMALL messages of BENCH_SMALL_SIZE bytes (10,000 x
#      2 KB), then BENCH_LARGE of BENCH_LARGE_SIZE (1,000 x 100 KB), To:
#      user1..userBENCH_RCPTS@example.com round-robin.
#      - connector: the daemon runs; the files, pre-generated in a staging
#        folder on the same file system, are renamed into Pickup as fast as
#        Python can; time from the first rename to the last file in the
#        mailboxes' new/ folders (inotify, checked with os.scandir); messages
#        per second; peak RSS (VmHWM just before SIGTERM); syncs per message
#        (barriers from the daemon's stats line / messages).
#      - Postfix: its sendmail -C DIR -t -i into the maildrop, BENCH_PF_PARALLEL
#        sendmail streams in parallel (xargs -P); time from the first
#        injection to the last file in vmail/.../new; injection time apart.
#      BENCH_RUNS=N repeats this part N times and reports medians.
#   2. real sync calls per message: strace -f -c -e trace=fsync,fdatasync,
#      syncfs on a smaller run (BENCH_STRACE_N messages of the small size) of
#      the connector (--once) and of Postfix (master, its children and the
#      sendmail/postdrop processes).
#   3. latency of one message on an idle system (BENCH_LAT_SAMPLES samples,
#      one at a time, nanosecond clocks): connector (rename into Pickup to
#      file in new/) and Postfix (sendmail started to file in new/); median
#      and p90 in ms.
#   4. charset conversion (imc-convert; tools/bench/charset.py), after the
#      rest: a BENCH_CHARSET_MB (50) MB mix of legacy messages of 100 KB-1 MB
#      made from the texts of the tests/data/charset cases (13 cases: ISO-
#      2022-JP, Shift_JIS/CP932, x-sjis, ks_c_5601-1987/CP949, gb2312/GBK,
#      big5/BIG5-HKSCS, KOI8-R, windows-1251, iso-8859-8-i, cp1252 as
#      iso-8859-1, UTF-7, unlabelled and us-ascii cp1252), the legacy bytes
#      made by iconv, raw bodies (8bit; 7bit for ISO-2022-JP and UTF-7):
#      - MB/s of input body, one imc-convert process per message;
#      - per case, imc-convert on one message holding the case's whole body
#        vs `iconv -f DECODER -t UTF-8` on the same body bytes, same run:
#        MB/s of each and the ratio imc-convert/iconv;
#      - UTF-8 pass-through (labelled utf-8, 8bit), per message and one big;
#      - peak RSS of imc-convert (/usr/bin/time -f %M, else VmHWM polled) on
#        a BENCH_CHARSET_HUGE_MB (200) MB shift_jis (CP932) message and on
#        one a tenth of its size: target flat, under 32 MB.
#      Every output is compared with the expected UTF-8 text (the source
#      text repeated; the huge one also through iconv -f UTF-8): a wrong
#      output is marked WRONG in the table, never given as a clean figure.
#      BENCH_RUNS applies (medians).
#
#   5. Pickup to SMTP (tools/bench/smtp.sh): BENCH_SMTP_N (10,000) messages
#      of BENCH_SMALL_SIZE to Postfix's smtp-sink on loopback, the connector
#      (smarthost) side by side with a private Postfix relaying the same
#      messages to the same sink; msg/s, ratio, peak RSS, and the
#      connector's peak RSS with every message queued (sink down).
#
# Usage: tools/bench.sh [--quick] [--charset-only] [--smtp-only] [-h]
#   --quick   a small run (1,000 + 100 messages, 300 for strace) unless the
#             sizes are set in the environment; charset: 5 MB mix, 50 MB
#             huge message.
#   --charset-only  only part 4 (no Postfix, no strace, no messages).
#   --smtp-only     only part 5.
# Environment (defaults in brackets):
#   BENCH_SMALL [10000]  BENCH_SMALL_SIZE [2048]  BENCH_LARGE [1000]
#   BENCH_LARGE_SIZE [102400]  BENCH_RCPTS [20]  BENCH_RUNS [1]
#   BENCH_LAT_SAMPLES [50]  BENCH_STRACE_N [1000]  BENCH_PF_PARALLEL [8]
#   BENCH_TIMEOUT [600 + messages/5] seconds allowed to one phase
#   BENCH_POSTFIX [1] (0: connector only)  BENCH_STRACE [1] (0: skip part 2)
#   BENCH_CHARSET [1] (0: skip part 4)  BENCH_CHARSET_MB [50; quick 5]
#   BENCH_CHARSET_HUGE_MB [200; quick 50]  BENCH_CHARSET_TIMEOUT [3600]
#   BENCH_SMTP [1] (0: skip part 5)  BENCH_SMTP_N [10000; quick 1000]
#
# It installs what it lacks (apt-get, as root), builds the project in
# Release mode in build-bench/, works only in a mktemp folder under /tmp that
# it removes on exit, stops every process it started by its PID (Postfix with
# postfix -c DIR stop, then its master's PID), and bounds every wait.
# The machine is shared: expect noise; use BENCH_RUNS=3 or more for figures.
# Note: syncfs() and fsync() flush the whole file system (/tmp here), so other
# writers on the machine show up in both systems' times.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3
DRIVER=$ROOT/tools/bench/driver.py

QUICK=0
CHARSET_ONLY=0
SMTP_ONLY=0
for arg in "$@"; do
	case $arg in
	--quick) QUICK=1 ;;
	--charset-only) CHARSET_ONLY=1 ;;
	--smtp-only) SMTP_ONLY=1 ;;
	-h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "bench.sh: unknown argument $arg (try --help)" >&2; exit 64 ;;
	esac
done

if [[ $QUICK == 1 ]]; then
	SMALL=${BENCH_SMALL:-1000}; LARGE=${BENCH_LARGE:-100}
	STRACE_N=${BENCH_STRACE_N:-300}
else
	SMALL=${BENCH_SMALL:-10000}; LARGE=${BENCH_LARGE:-1000}
	STRACE_N=${BENCH_STRACE_N:-1000}
fi
SMALL_SIZE=${BENCH_SMALL_SIZE:-2048}
LARGE_SIZE=${BENCH_LARGE_SIZE:-102400}
RCPTS=${BENCH_RCPTS:-20}
RUNS=${BENCH_RUNS:-1}
LAT_N=${BENCH_LAT_SAMPLES:-50}
PF_PAR=${BENCH_PF_PARALLEL:-8}
PF_BATCH=25
# A phase's bound grows with its size: Postfix's sendmail injection runs at
# some 15-30 messages/s on a busy 2-core machine.
PHASE_TIMEOUT=${BENCH_TIMEOUT:-$((600 + (SMALL > LARGE ? SMALL : LARGE) / 5))}
DO_POSTFIX=${BENCH_POSTFIX:-1}
DO_STRACE=${BENCH_STRACE:-1}
# part 4 (charset)
DO_CHARSET=${BENCH_CHARSET:-1}
if [[ $QUICK == 1 ]]; then
	CS_MB=${BENCH_CHARSET_MB:-5}; CS_HUGE_MB=${BENCH_CHARSET_HUGE_MB:-50}
else
	CS_MB=${BENCH_CHARSET_MB:-50}; CS_HUGE_MB=${BENCH_CHARSET_HUGE_MB:-200}
fi
CS_TIMEOUT=${BENCH_CHARSET_TIMEOUT:-3600}
if [[ $CHARSET_ONLY == 1 ]]; then
	DO_CHARSET=1; DO_POSTFIX=0; DO_STRACE=0
fi
DO_SMTP=${BENCH_SMTP:-1}
if [[ $QUICK == 1 ]]; then
	export BENCH_SMTP_N=${BENCH_SMTP_N:-1000}
fi
if [[ $SMTP_ONLY == 1 ]]; then
	DO_SMTP=1; DO_CHARSET=0; DO_STRACE=0
fi
for v in CS_MB CS_HUGE_MB CS_TIMEOUT; do
	if ! [[ ${!v} =~ ^[0-9]+$ ]] || (( ${!v} < 1 )); then
		echo "bench.sh: $v must be a positive integer (got '${!v}')" >&2
		exit 64
	fi
done

for v in SMALL LARGE SMALL_SIZE LARGE_SIZE RCPTS RUNS LAT_N STRACE_N PF_PAR \
    PHASE_TIMEOUT; do
	if ! [[ ${!v} =~ ^[0-9]+$ ]] || (( ${!v} < 1 )); then
		echo "bench.sh: $v must be a positive integer (got '${!v}')" >&2
		exit 64
	fi
done
if (( SMALL_SIZE < 300 || LARGE_SIZE < 300 )); then
	echo "bench.sh: message sizes must be at least 300 bytes" >&2; exit 64
fi

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now_ns() { date +%s%N; }

[[ $(id -u) == 0 ]] || die "run as root (it installs packages and runs Postfix)"

# ---------------------------------------------------------------- install
APT_UPDATED=0
apt_install() {
	if [[ $APT_UPDATED == 0 ]]; then
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
		APT_UPDATED=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}
need=()
for p in cmake make gcc pkg-config libssl-dev libc-ares-dev check python3 \
    procps coreutils findutils; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
[[ -x $PY ]] || need+=(python3)
if [[ $DO_STRACE == 1 ]] && ! command -v strace >/dev/null; then
	need+=(strace)
fi
if [[ $DO_POSTFIX == 1 || $DO_SMTP == 1 ]] && ! dpkg -s postfix >/dev/null 2>&1; then
	echo "postfix postfix/main_mailer_type select No configuration" |
	    debconf-set-selections
	need+=(postfix)
fi
if [[ $DO_CHARSET == 1 && ! -x /usr/bin/time ]]; then
	need+=(time)	# GNU time, for -f %M (peak RSS)
fi
if [[ $DO_CHARSET == 1 ]] && ! command -v iconv >/dev/null; then
	need+=(libc-bin)
fi
if (( ${#need[@]} )); then
	log "installing: ${need[*]}"
	apt_install "${need[@]}"
fi
command -v strace >/dev/null || DO_STRACE=0

# ---------------------------------------------------------------- scratch
W=$(mktemp -d /tmp/imc-bench.XXXXXX)
chmod 755 "$W"	# Postfix's virtual(8) runs as nobody and must reach vmail/
CONN_PID=""; WAIT_PID=""; STRACE_PID=""; PF_MASTER=""; PF_STARTED=0

# wait_gone PID SECONDS: 0 once PID is gone, 1 if still there at the end
wait_gone() {
	local pid=$1 end=$((SECONDS + $2))
	while kill -0 "$pid" 2>/dev/null; do
		(( SECONDS < end )) || return 1
		sleep 0.1
	done
	return 0
}
# stop_pid PID [SECONDS]: SIGTERM, bounded wait, then SIGKILL
stop_pid() {
	local pid=$1
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	wait_gone "$pid" "${2:-30}" || { kill -KILL "$pid" 2>/dev/null; wait_gone "$pid" 5 || true; }
	wait "$pid" 2>/dev/null || true
}
pf_stop() {
	[[ $PF_STARTED == 1 ]] || return 0
	PF_STARTED=0
	timeout 60 postfix -c "$PF/etc" stop >/dev/null 2>&1 || true
	if [[ -n $PF_MASTER ]] && ! wait_gone "$PF_MASTER" 30; then
		kill -TERM "$PF_MASTER" 2>/dev/null || true
		wait_gone "$PF_MASTER" 10 || kill -KILL "$PF_MASTER" 2>/dev/null || true
	fi
}
cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	[[ -n $WAIT_PID ]] && stop_pid "$WAIT_PID" 5
	[[ -n $STRACE_PID ]] && { kill -INT "$STRACE_PID" 2>/dev/null; wait_gone "$STRACE_PID" 10 || kill -KILL "$STRACE_PID"; }
	[[ -n $CONN_PID ]] && stop_pid "$CONN_PID" 30
	pf_stop
	rm -rf "$W"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- build
BUILD=$ROOT/build-bench
log "building (Release) in $BUILD"
if ! { cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release && cmake --build "$BUILD" -j2 --target imc-connector \
    imc-layout imc-convert; } >"$W/build.log" 2>&1; then
	tail -30 "$W/build.log" >&2
	die "build failed"
fi
BIN=$BUILD/bin
[[ -x $BIN/imc-connector && -x $BIN/imc-layout ]] || die "no binaries in $BIN"
[[ -x $BIN/imc-convert ]] || die "no imc-convert in $BIN"

RES=$W/results.tsv
: >"$RES"
put() { printf '%s\t%s\n' "$1" "$2" >>"$RES"; }

# ---------------------------------------------------------------- part 4
# charset_part: generate the charset messages, time, print the table
# (tools/bench/charset.py; everything in $W/charset, removed on exit)
CS_PY=$ROOT/tools/bench/charset.py
charset_part() {
	local cs=$W/charset tbin=""
	[[ -x /usr/bin/time ]] && tbin=/usr/bin/time
	rm -rf "$cs"
	mkdir -p "$cs"
	log "charset: generating a $CS_MB MB legacy mix, as much UTF-8 and a $CS_HUGE_MB MB message in $cs"
	timeout 900 $PY "$CS_PY" gen --corpus "$ROOT/tests/data/charset" \
	    --out "$cs" --mb "$CS_MB" --huge-mb "$CS_HUGE_MB" >&2 ||
	    die "charset: generation failed"
	sync	# the generated files must not be flushed during the timings
	log "charset: $RUNS run(s)"
	timeout "$CS_TIMEOUT" $PY "$CS_PY" run --out "$cs" --imc "$BIN/imc-convert" \
	    --runs "$RUNS" --results "$cs/results.tsv" --time "$tbin" ||
	    die "charset: timing failed (or took over ${CS_TIMEOUT}s)"
	$PY "$CS_PY" summary --file "$cs/results.tsv" --out "$cs" --runs "$RUNS"
	rm -rf "$cs"
}
if [[ $CHARSET_ONLY == 1 ]]; then
	charset_part
	exit 0
fi
# ---------------------------------------------------------------- part 5
smtp_part() {
	BIN=$BIN W=$W PY=$PY DRIVER=$DRIVER PHASE_TIMEOUT=$PHASE_TIMEOUT \
	    BENCH_SMALL_SIZE=$SMALL_SIZE BENCH_RCPTS=$RCPTS \
	    bash "$ROOT/tools/bench/smtp.sh" || die "part 5 (SMTP) failed"
}
if [[ $SMTP_ONLY == 1 ]]; then
	smtp_part
	exit 0
fi

# ---------------------------------------------------------------- messages
log "generating messages in $W/msgs"
$PY "$DRIVER" gen "$W/msgs/small" "$SMALL" "$SMALL_SIZE" "$RCPTS" s
$PY "$DRIVER" gen "$W/msgs/large" "$LARGE" "$LARGE_SIZE" "$RCPTS" l
$PY "$DRIVER" gen "$W/msgs/warm" "$RCPTS" 600 "$RCPTS" w
$PY "$DRIVER" gen "$W/msgs/lat" "$LAT_N" "$SMALL_SIZE" 1 t
$PY "$DRIVER" gen "$W/msgs/strace" "$STRACE_N" "$SMALL_SIZE" "$RCPTS" x

# count_new BASE: files in BASE/*/new
count_new() {
	find "$1" -mindepth 3 -maxdepth 3 -path '*/new/*' -type f 2>/dev/null | wc -l
}
# clear_new BASE: empty every BASE/*/new (outside any timing)
clear_new() {
	find "$1" -mindepth 3 -maxdepth 3 -path '*/new/*' -type f -delete 2>/dev/null || true
}
# wait_count BASE N SECONDS: bounded poll until N files are in BASE/*/new
wait_count() {
	local end=$((SECONDS + $3))
	while (( $(count_new "$1") < $2 )); do
		(( SECONDS < end )) || return 1
		sleep 0.05
	done
}
# start_waiter BASE N: the driver's wait in the background, ready when it
# has its inotify watches
start_waiter() {
	rm -f "$W/ready" "$W/wait.out"
	$PY "$DRIVER" wait --base "$1" --users "$RCPTS" --expect "$2" \
	    --timeout "$PHASE_TIMEOUT" --ready "$W/ready" >"$W/wait.out" &
	WAIT_PID=$!
	local end=$((SECONDS + 20))
	until [[ -s $W/ready ]]; do
		kill -0 "$WAIT_PID" 2>/dev/null || die "waiter died"
		(( SECONDS < end )) || die "waiter not ready"
		sleep 0.01
	done
}
# finish_waiter: sets TD to the completion time (ns), 0 on time-out (not
# in a $(...) subshell: the waiter is this shell's child)
finish_waiter() {
	local rc=0
	wait "$WAIT_PID" || rc=$?
	WAIT_PID=""
	TD=0
	if [[ $rc == 0 ]]; then
		TD=$(cut -d' ' -f1 "$W/wait.out")
	fi
}
# sync_calls FILE: fsync+fdatasync+syncfs calls in a strace -c summary
sync_calls() {
	awk '$NF ~ /^(fsync|fdatasync|syncfs)$/ { n += $4 } END { print n + 0 }' "$1"
}

# ---------------------------------------------------------------- connector
C=$W/imc
C_ROOT=$C/Imcdata
C_BASE=$C_ROOT/Store/example.com
mkdir -p "$C"
cat >"$C/imc.conf" <<EOF
root = $C_ROOT
hostname = mx.bench.example
allow_root = yes
local_domains = example.com
EOF
"$BIN/imc-layout" -c "$C/imc.conf" create >/dev/null

conn_start() {
	: >"$C/daemon.log"
	"$BIN/imc-connector" -c "$C/imc.conf" 2>"$C/daemon.log" &
	CONN_PID=$!
	local end=$((SECONDS + 20))
	until grep -q watching "$C/daemon.log"; do
		kill -0 "$CONN_PID" 2>/dev/null || { cat "$C/daemon.log" >&2; die "connector died"; }
		(( SECONDS < end )) || die "connector did not start"
		sleep 0.01
	done
}
# conn_stop: sets HWM_KB, BARRIERS, DELIVERED, FAILED
conn_stop() {
	HWM_KB=$(awk '/^VmHWM:/ { print $2 }' "/proc/$CONN_PID/status")
	stop_pid "$CONN_PID" 60
	CONN_PID=""
	local line
	line=$(grep 'stats:' "$C/daemon.log" | tail -1)
	[[ -n $line ]] || { tail -5 "$C/daemon.log" >&2; die "no stats line"; }
	BARRIERS=$(sed -n 's/.*barriers=\([0-9]*\).*/\1/p' <<<"$line")
	DELIVERED=$(sed -n 's/.*delivered=\([0-9]*\).*/\1/p' <<<"$line")
	FAILED=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' <<<"$line")
	if grep -qiE 'warn|error|fatal' "$C/daemon.log"; then
		log "connector warnings:"; grep -iE 'warn|error|fatal' "$C/daemon.log" | head -5 >&2
	fi
}

log "connector warm-up ($RCPTS messages, one per mailbox)"
cp -r "$W/msgs/warm/." "$C_ROOT/Pickup/"
timeout 120 "$BIN/imc-connector" -c "$C/imc.conf" --once 2>"$C/once.log" ||
    { cat "$C/once.log" >&2; die "connector warm-up failed"; }
wait_count "$C_BASE" "$RCPTS" 30 || die "connector warm-up: not delivered"
clear_new "$C_BASE"

# conn_phase KIND N RUN
conn_phase() {
	local kind=$1 n=$2 run=$3 t0 t1 td
	rm -rf "$C/stage"
	cp -r "$W/msgs/$kind" "$C/stage"	# copies: one link each
	clear_new "$C_BASE"
	sync	# the staging copy must not be flushed by the timed syncfs
	conn_start
	start_waiter "$C_BASE" "$n"
	read -r t0 t1 _ < <($PY "$DRIVER" drop "$C/stage" "$C_ROOT/Pickup") || true
	[[ ${t0:-} =~ ^[0-9]+$ ]] || die "connector $kind: drop failed"
	finish_waiter; td=$TD
	conn_stop
	(( td > 0 )) || die "connector $kind run $run: not all $n delivered within ${PHASE_TIMEOUT}s ($(count_new "$C_BASE") there)"
	(( DELIVERED == n && FAILED == 0 )) ||
	    log "WARNING: connector $kind: delivered=$DELIVERED failed=$FAILED of $n"
	local secs
	secs=$(awk -v a="$t0" -v b="$td" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
	put "c.$kind.secs" "$secs"
	put "c.$kind.drop_secs" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')"
	put "c.$kind.rate" "$(awk -v s="$secs" -v n="$n" 'BEGIN { printf "%.1f", n / s }')"
	put "c.$kind.hwm_kb" "$HWM_KB"
	put "c.$kind.barriers" "$BARRIERS"
	put "c.$kind.sync_per_msg" "$(awk -v b="$BARRIERS" -v n="$n" 'BEGIN { printf "%.4f", b / n }')"
	log "connector $kind run $run: $n msgs in ${secs}s, barriers=$BARRIERS, VmHWM=${HWM_KB} kB"
	clear_new "$C_BASE"
}

# ---------------------------------------------------------------- postfix
PF=$W/pf
PF_BASE=$PF/vmail/example.com
NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)
SENDMAIL=/usr/sbin/sendmail
PF_VERSION=""

pf_setup() {
	mkdir -p "$PF/etc" "$PF/queue" "$PF/data" "$PF/vmail"
	chmod 755 "$PF"
	chown postfix "$PF/data"
	chown "$NOBODY_UID:$NOBODY_GID" "$PF/vmail"
	# Every service unchrooted; no inet service at all (listens on no port).
	{
		cat "$ROOT/tools/postfix-services.cf"
		echo "local     unix  -       n       n       -       -       local"
		echo "virtual   unix  -       n       n       -       -       virtual"
	} >"$PF/etc/master.cf"
	local i
	: >"$PF/etc/vmailbox"
	for ((i = 1; i <= RCPTS; i++)); do
		echo "user$i@example.com example.com/user$i/" >>"$PF/etc/vmailbox"
	done
	cat >"$PF/etc/main.cf" <<EOF
compatibility_level = 3.6
config_directory = $PF/etc
queue_directory = $PF/queue
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.postfix.bench.example
mydomain = postfix.bench.example
myorigin = \$mydomain
mydestination =
local_recipient_maps =
relay_domains =
relayhost =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
biff = no
smtputf8_enable = no
virtual_mailbox_domains = example.com
virtual_mailbox_base = $PF/vmail
virtual_mailbox_maps = hash:$PF/etc/vmailbox
virtual_uid_maps = static:$NOBODY_UID
virtual_gid_maps = static:$NOBODY_GID
virtual_minimum_uid = 100
maillog_file = $PF/postfix.log
maillog_file_prefixes = /var, /dev/stdout, /tmp
EOF
	cat >"$W/inject.sh" <<EOF
#!/bin/sh
# every file of the folder \$1 through Postfix's sendmail, $PF_PAR in parallel
find "\$1" -maxdepth 1 -type f -print0 | sort -z |
    xargs -0 -P $PF_PAR -n $PF_BATCH sh -c 'for f; do $SENDMAIL -C $PF/etc -t -i -f sender@example.com <"\$f" || exit 255; done' sh
EOF
	chmod 755 "$W/inject.sh"
	postmap -c "$PF/etc" "$PF/etc/vmailbox" || die "postmap failed"
	postfix -c "$PF/etc" check >&2 || die "postfix check failed"
	PF_VERSION=$(postconf -c "$PF/etc" -h mail_version 2>/dev/null || echo "?")
}
pf_start() {
	PF_STARTED=1
	timeout 60 postfix -c "$PF/etc" start >&2 || die "postfix start failed"
	local end=$((SECONDS + 20))
	until [[ -s $PF/queue/pid/master.pid ]] &&
	    PF_MASTER=$(tr -dc 0-9 <"$PF/queue/pid/master.pid") &&
	    [[ -n $PF_MASTER ]] && kill -0 "$PF_MASTER" 2>/dev/null; do
		(( SECONDS < end )) || die "postfix master did not start"
		sleep 0.1
	done
}
# pf_inject DIR: every file of DIR through sendmail, PF_PAR streams (the
# helper $W/inject.sh, one command that strace can follow)
pf_inject() {
	timeout "$PHASE_TIMEOUT" "$W/inject.sh" "$1"
}
# pf_hwm_kb: sum of VmHWM of the instance's processes alive now
pf_hwm_kb() {
	local p sum=0 v
	for p in "$PF_MASTER" $(ps -o pid= --ppid "$PF_MASTER"); do
		v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

# pf_phase KIND N RUN
pf_phase() {
	local kind=$1 n=$2 run=$3 t0 ti td secs
	clear_new "$PF_BASE"
	sync
	start_waiter "$PF_BASE" "$n"
	t0=$(now_ns)
	pf_inject "$W/msgs/$kind" || die "postfix $kind: injection failed"
	ti=$(now_ns)
	finish_waiter; td=$TD
	(( td > 0 )) || die "postfix $kind run $run: not all $n delivered within ${PHASE_TIMEOUT}s ($(count_new "$PF_BASE") there)"
	secs=$(awk -v a="$t0" -v b="$td" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
	put "p.$kind.secs" "$secs"
	put "p.$kind.inject_secs" "$(awk -v a="$t0" -v b="$ti" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')"
	put "p.$kind.rate" "$(awk -v s="$secs" -v n="$n" 'BEGIN { printf "%.1f", n / s }')"
	put "p.$kind.hwm_kb" "$(pf_hwm_kb)"
	log "postfix $kind run $run: $n msgs in ${secs}s (injection $(awk -v a="$t0" -v b="$ti" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')s)"
	clear_new "$PF_BASE"
}

if [[ $DO_POSTFIX == 1 ]]; then
	log "setting up a private Postfix instance in $PF"
	pf_setup
	pf_start
	log "postfix warm-up ($RCPTS messages, one per mailbox)"
	pf_inject "$W/msgs/warm" || die "postfix warm-up injection failed"
	wait_count "$PF_BASE" "$RCPTS" 60 || die "postfix warm-up: not delivered (see $PF/postfix.log)"
	clear_new "$PF_BASE"
fi

# ---------------------------------------------------------------- part 1
for ((run = 1; run <= RUNS; run++)); do
	log "throughput run $run of $RUNS"
	conn_phase small "$SMALL" "$run"
	[[ $DO_POSTFIX == 1 ]] && pf_phase small "$SMALL" "$run"
	conn_phase large "$LARGE" "$run"
	[[ $DO_POSTFIX == 1 ]] && pf_phase large "$LARGE" "$run"
done
if [[ $DO_POSTFIX == 1 ]]; then
	bad=$(grep -cE 'status=(deferred|bounced)' "$PF/postfix.log" || true)
	put "p.not_sent" "$bad"
	(( bad == 0 )) || log "WARNING: postfix deferred/bounced $bad deliveries"
fi

# ---------------------------------------------------------------- part 2
if [[ $DO_STRACE == 1 ]]; then
	log "strace: connector --once on $STRACE_N messages"
	clear_new "$C_BASE"
	rm -rf "$C/stage"
	cp -r "$W/msgs/strace" "$C/stage"
	sync
	$PY "$DRIVER" drop "$C/stage" "$C_ROOT/Pickup" >/dev/null
	timeout "$PHASE_TIMEOUT" strace -f -c -e trace=fsync,fdatasync,syncfs \
	    -o "$W/strace-c.txt" "$BIN/imc-connector" -c "$C/imc.conf" --once \
	    2>"$C/once.log" || die "strace run of the connector failed"
	put "c.strace.calls" "$(sync_calls "$W/strace-c.txt")"
	put "c.strace.barriers" "$(sed -n 's/.*barriers=\([0-9]*\).*/\1/p' "$C/once.log" | tail -1)"
	put "c.strace.delivered" "$(count_new "$C_BASE")"
	clear_new "$C_BASE"
	if [[ $DO_POSTFIX == 1 ]]; then
		log "strace: postfix on $STRACE_N messages"
		clear_new "$PF_BASE"
		sync
		pids=()
		for p in "$PF_MASTER" $(ps -o pid= --ppid "$PF_MASTER"); do
			pids+=(-p "$p")
		done
		strace -f -c -e trace=fsync,fdatasync,syncfs -o "$W/strace-p.txt" \
		    "${pids[@]}" 2>/dev/null &
		STRACE_PID=$!
		sleep 1
		start_waiter "$PF_BASE" "$STRACE_N"
		timeout "$PHASE_TIMEOUT" strace -f -c -e trace=fsync,fdatasync,syncfs \
		    -o "$W/strace-pi.txt" "$W/inject.sh" "$W/msgs/strace" ||
		    die "strace run of the postfix injection failed"
		finish_waiter; td=$TD
		sleep 1	# let the last deliveries' processes finish their calls
		kill -INT "$STRACE_PID" 2>/dev/null || true
		wait_gone "$STRACE_PID" 30 || kill -KILL "$STRACE_PID" 2>/dev/null || true
		wait "$STRACE_PID" 2>/dev/null || true
		STRACE_PID=""
		(( td > 0 )) || die "postfix strace run: not all delivered"
		put "p.strace.calls_daemons" "$(sync_calls "$W/strace-p.txt")"
		put "p.strace.calls_inject" "$(sync_calls "$W/strace-pi.txt")"
		clear_new "$PF_BASE"
	fi
fi

# ---------------------------------------------------------------- part 3
log "latency: connector, $LAT_N messages one at a time"
rm -rf "$C/stage"
cp -r "$W/msgs/lat" "$C/stage"
clear_new "$C_BASE"
sync
conn_start
sleep 0.5
read -r med p90 mn mx k < <($PY "$DRIVER" latency --pickup "$C_ROOT/Pickup" \
    --src "$C/stage" --newdir "$C_BASE/user1/new" --samples "$LAT_N" \
    --timeout 10 --gap-ms 50) || true
[[ ${k:-} =~ ^[0-9]+$ ]] || die "connector latency run failed"
conn_stop
put "c.lat.median" "$med"; put "c.lat.p90" "$p90"; put "c.lat.min" "$mn"
put "c.lat.max" "$mx"; put "c.lat.n" "$k"
clear_new "$C_BASE"
if [[ $DO_POSTFIX == 1 ]]; then
	log "latency: postfix, $LAT_N messages one at a time"
	clear_new "$PF_BASE"
	sync
	read -r med p90 mn mx k < <($PY "$DRIVER" latency \
	    --cmd "$SENDMAIL -C $PF/etc -t -i -f sender@example.com" \
	    --src "$W/msgs/lat" --newdir "$PF_BASE/user1/new" --samples "$LAT_N" \
	    --timeout 10 --gap-ms 50) || true
	[[ ${k:-} =~ ^[0-9]+$ ]] || die "postfix latency run failed"
	put "p.lat.median" "$med"; put "p.lat.p90" "$p90"; put "p.lat.min" "$mn"
	put "p.lat.max" "$mx"; put "p.lat.n" "$k"
	pf_stop
fi

# ---------------------------------------------------------------- summary
SMALL=$SMALL LARGE=$LARGE SMALL_SIZE=$SMALL_SIZE LARGE_SIZE=$LARGE_SIZE \
RUNS=$RUNS RCPTS=$RCPTS PF_PAR=$PF_PAR STRACE_N=$STRACE_N LAT_N=$LAT_N \
PF_VERSION=$PF_VERSION DO_POSTFIX=$DO_POSTFIX DO_STRACE=$DO_STRACE \
    $PY "$DRIVER" summary "$RES"

[[ $DO_SMTP == 1 ]] && smtp_part
[[ $DO_CHARSET == 1 ]] && charset_part
exit 0
