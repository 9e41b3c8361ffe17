#!/usr/bin/env bash
#
# tools/bench.sh - a BENCHMARK (not a test; it passes or fails nothing):
# imc-connector side by side with a private Postfix instance doing the same
# job, same messages, same machine, same run.
#
# What it measures, in one run:
#   F. per file system (tools/bench/fs.sh), first: BENCH_FS_N (10,000)
#      messages of BENCH_SMALL_SIZE (2 KB) already in the pickup folder,
#      `imc-connector --once` (as the service user, like the deployment)
#      and Postfix (the same messages already in its maildrop, pickup
#      kicked), one after the other, BENCH_FS_RUNS (3) times, on each file
#      system of BENCH_FS, with every work folder (the Imcdata tree, Postfix's
#      queue and mailboxes, the message files) on the file system under test:
#        ext4j  a journaled ext4 made by mkfs.ext4 on an image file of
#               BENCH_EXT4_MB (2048) MB, mounted with -o loop;
#        tmpfs  a tmpfs of BENCH_TMPFS_MB (2048) MB (nothing reaches a disk);
#        root   the root file system (a folder under /tmp, as the other
#               parts). This machine's root ext4 runs without a journal, and
#               there ext4's inode allocator scans recently deleted inodes:
#               its figures mislead; compare on ext4j.
#      Parts (BENCH_FS_PARTS): "store", Pickup to the built-in Maildir store
#      (Postfix: virtual(8)); "smtp", Pickup to Postfix's smtp-sink on
#      loopback through a smarthost (Postfix: relayhost). One clearly
#      labelled table per file system: msg/s (median of the runs), each
#      run's msg/s, seconds, CPU, peak RSS, syncs per message and the ratio
#      connector/Postfix. Mounting needs root: run as another user, it says
#      so and measures the root file system only (and no Postfix).
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
#      - UTF-8 pass-through (labelled utf-8, 8bit), per message and one big,
#        the big one against `iconv -f UTF-8 -t UTF-8` on its body bytes;
#      - the 7-bit downgrade (imc-convert --7bit) per case and UTF-8 vs
#        `iconv -f DECODER -t UTF-8 | base64 -w 76` on the same body bytes;
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
#   6. Pickup to a store over LMTP (tools/bench/lmtp.sh): BENCH_LMTP_N
#      (10,000) messages of BENCH_SMALL_SIZE to a private Dovecot (Debian's
#      dovecot-lmtpd, loopback TCP), the connector (store = lmtp:) side by
#      side with a private Postfix delivering the same messages to the same
#      Dovecot through its own lmtp(8) client (injected over SMTP by 8
#      parallel connections, its fastest way in); msg/s, ratio, the
#      connector's peak RSS; both runs checked to leave every message in
#      the Maildirs.
#
#   7. Pickup to Drop (tools/bench/drop.sh): BENCH_DROP_N (10,000)
#      messages of BENCH_SMALL_SIZE already in Pickup, `imc-connector --once`
#      with store = drop until every message is a file in Drop/, and beside
#      it the same with the built-in Maildir store; msg/s (median of
#      BENCH_DROP_RUNS), CPU, peak RSS, syncs per message.
#
#   8. SMTP in (tools/bench/smtpd.sh): smtp-source, BENCH_SMTPD_SESSIONS
#      (20) sessions, BENCH_SMTPD_N (10,000) x BENCH_SMALL_SIZE to the
#      connector's listener (into the store) and, side by side, to a private
#      Postfix's smtpd (into its Maildir via virtual(8)); msg/s of both by
#      their 250s and by the mailbox, the ratio, p50/p99 from the final dot
#      to the 250, the connector's RSS with BENCH_SMTPD_OPEN (500) sessions
#      open.
#
#   Parts 1 to 8 run on the root file system (a folder under /tmp).
#
# Usage: tools/bench.sh [--quick] [--fs-only] [--store-only] [--smtp-only]
#                       [--lmtp-only] [--drop-only] [--smtpd-only] [--charset-only]
#                       [--large-only] [-h]
#   --quick   a small run (1,000 + 100 messages, 300 for strace; 1,000 for
#             part F) unless the sizes are set in the environment; charset:
#             5 MB mix, 50 MB huge message.
#   --fs-only       only part F (store and smtp, on every BENCH_FS).
#   --store-only    only part F's store part.
#   --smtp-only     only the SMTP parts: part F's smtp part, then part 5.
#   --lmtp-only     only part 6 (LMTP to Dovecot, with Postfix's lmtp).
#   --charset-only  only part 4 (no Postfix, no strace, no messages).
#   --drop-only     only part 7 (no Postfix).
#   --smtpd-only    only part 8 (the SMTP listener against Postfix's smtpd).
#   --large-only    only part 1's large messages (BENCH_LARGE x
#             BENCH_LARGE_SIZE, Pickup to the store), Postfix side by side
#             (BENCH_POSTFIX=0: the connector alone); BENCH_RUNS applies.
# Environment (defaults in brackets):
#   BENCH_SMALL [10000]  BENCH_SMALL_SIZE [2048]  BENCH_LARGE [1000]
#   BENCH_LARGE_SIZE [102400]  BENCH_RCPTS [20]  BENCH_RUNS [1]
#   BENCH_LAT_SAMPLES [50]  BENCH_STRACE_N [1000]  BENCH_PF_PARALLEL [8]
#   BENCH_TIMEOUT [600 + messages/5] seconds allowed to one phase
#   BENCH_POSTFIX [1] (0: connector only)  BENCH_STRACE [1] (0: skip part 2)
#   BENCH_CHARSET [1] (0: skip part 4)  BENCH_CHARSET_MB [50; quick 5]
#   BENCH_CHARSET_HUGE_MB [200; quick 50]  BENCH_CHARSET_TIMEOUT [3600]
#   BENCH_SMTP [1] (0: skip part 5)  BENCH_SMTP_N [10000; quick 1000]
#   BENCH_LMTP [1] (0: skip part 6)  BENCH_LMTP_N [10000; quick 1000]
#   BENCH_SMTPD [1] (0: skip part 8)  BENCH_SMTPD_N [10000; quick 1000]
#   BENCH_SMTPD_SESSIONS [20]  BENCH_SMTPD_LAT [2000]  BENCH_SMTPD_OPEN [500]
#   BENCH_FS ["ext4j tmpfs root"] (empty: skip part F)
#   BENCH_FS_PARTS ["store smtp"]  BENCH_FS_RUNS [3]
#   BENCH_FS_N [10000; quick 1000]  BENCH_EXT4_MB [2048]  BENCH_TMPFS_MB [2048]
#   BENCH_DROP [1] (0: skip part 7)  BENCH_DROP_N [10000; quick 1000]
#   BENCH_DROP_RUNS [3]
#   BENCH_TMP [/tmp] the folder the scratch folder is made in: the parts
#     outside part F (1-8) run on its file system, so point it at a
#     journaled ext4 or a tmpfs mount to measure them there (the root file
#     system here is ext4 without a journal, where creating files is slow)
#   BENCH_USER [imcsvc] the connector's user (root: allow_root = yes; as
#             another user than root, the connector runs as that user)
#
# It installs what it lacks (apt-get, as root; tools/install-deps.sh installs
# the same), builds the project in Release mode in build-bench/, works only
# in a mktemp folder under BENCH_TMP (/tmp) that it removes on exit, unmounting first
# what it mounted there (also on failure or interruption), stops every
# process it started by its PID (Postfix with postfix -c DIR stop, then its
# master's PID), and bounds every wait. The load average is logged at the
# start of each run of part F: quote medians, from a quiet time.
# The machine is shared: expect noise; use BENCH_RUNS=3 or more for figures.
# Note: syncfs() and fsync() flush the whole file system (/tmp here), so other
# writers on the machine show up in both systems' times.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3
DRIVER=$ROOT/tools/bench/driver.py

QUICK=0
CHARSET_ONLY=0
LARGE_ONLY=0
SMTP_ONLY=0
LMTP_ONLY=0
SMTPD_ONLY=0
FS_ONLY=0
DROP_ONLY=0
FS_PARTS=${BENCH_FS_PARTS-store smtp}
for arg in "$@"; do
	case $arg in
	--quick) QUICK=1 ;;
	--charset-only) CHARSET_ONLY=1 ;;
	--large-only) LARGE_ONLY=1 ;;
	--smtp-only) SMTP_ONLY=1; FS_PARTS=smtp ;;
	--lmtp-only) LMTP_ONLY=1 ;;
	--smtpd-only) SMTPD_ONLY=1 ;;
	--fs-only) FS_ONLY=1 ;;
	--store-only) FS_ONLY=1; FS_PARTS=store ;;
	--drop-only) DROP_ONLY=1 ;;
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
DO_LMTP=${BENCH_LMTP:-1}
if [[ $QUICK == 1 ]]; then
	export BENCH_LMTP_N=${BENCH_LMTP_N:-1000}
fi
if [[ $SMTP_ONLY == 1 || $CHARSET_ONLY == 1 ]]; then
	DO_LMTP=0
fi
if [[ $LMTP_ONLY == 1 ]]; then
	DO_LMTP=1; DO_SMTP=0; DO_CHARSET=0; DO_STRACE=0
fi
DO_SMTPD=${BENCH_SMTPD:-1}
if [[ $QUICK == 1 ]]; then
	export BENCH_SMTPD_N=${BENCH_SMTPD_N:-1000}
fi
if [[ $SMTP_ONLY == 1 || $LMTP_ONLY == 1 || $DROP_ONLY == 1 ]]; then
	DO_SMTPD=0
fi
# part F
FS_LIST=${BENCH_FS-ext4j tmpfs root}
if [[ $QUICK == 1 ]]; then FS_N=${BENCH_FS_N:-1000}; else FS_N=${BENCH_FS_N:-10000}; fi
FS_RUNS=${BENCH_FS_RUNS:-3}
EXT4_MB=${BENCH_EXT4_MB:-2048}
TMPFS_MB=${BENCH_TMPFS_MB:-2048}
if [[ $FS_ONLY == 1 ]]; then
	DO_SMTP=0; DO_CHARSET=0; DO_STRACE=0; DO_LMTP=0; DO_SMTPD=0
fi
if [[ $LARGE_ONLY == 1 ]]; then
	DO_SMTP=0; DO_CHARSET=0; DO_STRACE=0; DO_LMTP=0; DO_SMTPD=0
fi
[[ $CHARSET_ONLY == 1 || $LMTP_ONLY == 1 || $LARGE_ONLY == 1 ]] && FS_LIST=""
for f in $FS_LIST; do
	case $f in
	ext4j|tmpfs|root) ;;
	*) echo "bench.sh: BENCH_FS: unknown file system '$f' (ext4j, tmpfs, root)" >&2; exit 64 ;;
	esac
done
for f in $FS_PARTS; do
	case $f in
	store|smtp) ;;
	*) echo "bench.sh: BENCH_FS_PARTS: unknown part '$f' (store, smtp)" >&2; exit 64 ;;
	esac
done
[[ -n ${FS_PARTS// /} ]] || FS_LIST=""
# part 7 (Drop): alone with --drop-only
DO_DROP=${BENCH_DROP:-1}
if [[ $QUICK == 1 ]]; then DROP_N=${BENCH_DROP_N:-1000}; else DROP_N=${BENCH_DROP_N:-10000}; fi
DROP_RUNS=${BENCH_DROP_RUNS:-3}
for v in DROP_N DROP_RUNS; do
	if ! [[ ${!v} =~ ^[0-9]+$ ]] || (( ${!v} < 1 )); then
		echo "bench.sh: $v must be a positive integer (got '${!v}')" >&2
		exit 64
	fi
done
if [[ $DROP_ONLY == 1 ]]; then
	DO_DROP=1; DO_POSTFIX=0; DO_STRACE=0; DO_SMTP=0; DO_CHARSET=0
	DO_LMTP=0	# part 6, where there is one
	FS_LIST=""
fi
[[ $LARGE_ONLY == 1 || $FS_ONLY == 1 || $CHARSET_ONLY == 1 ]] && DO_DROP=0
for v in CS_MB CS_HUGE_MB CS_TIMEOUT FS_N FS_RUNS EXT4_MB TMPFS_MB; do
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


. "$ROOT/tools/bench/lib.sh"
# Root installs packages, runs Postfix and mounts the file systems of part
# F; another user gets the connector alone, on the root file system.
IS_ROOT=0
[[ $(id -u) == 0 ]] && IS_ROOT=1
if [[ $IS_ROOT == 0 ]]; then
	log "not root: no mounts (part F on the root file system only), no Postfix, no part 5, no package installation; the connector runs as $(id -un)"
	DO_POSTFIX=0; DO_SMTP=0; DO_LMTP=0
	f=""
	for x in $FS_LIST; do [[ $x == root ]] && f=root; done
	FS_LIST=$f
	[[ $SMTP_ONLY == 1 && -z $FS_LIST ]] && die "--smtp-only needs root or root in BENCH_FS"
fi
if [[ $FS_ONLY == 1 || $SMTP_ONLY == 1 ]] && [[ -z $FS_LIST && $DO_SMTP == 0 ]]; then
	die "nothing to run: BENCH_FS is empty"
fi
# The connector's user: the service user, as deployed (the tree is made
# by imc-layout as root, owned by it); root runs with allow_root = yes.
RUN_USER=${BENCH_USER:-imcsvc}
if [[ $IS_ROOT == 0 ]]; then
	RUN_USER=$(id -un)
elif [[ $RUN_USER != root ]] && ! getent passwd "$RUN_USER" >/dev/null; then
	log "no account $RUN_USER (tools/install-deps.sh makes imcsvc): the connector runs as root (allow_root = yes)"
	RUN_USER=root
fi
# user_conf_line: the config line that makes the connector run as RUN_USER
user_conf_line() {
	if [[ $IS_ROOT == 0 ]]; then
		return 0
	elif [[ $RUN_USER == root ]]; then
		echo "allow_root = yes"
	else
		echo "user = $RUN_USER"
	fi
}

# ---------------------------------------------------------------- install
APT_UPDATED=0
apt_install() {
	if [[ $IS_ROOT == 0 ]]; then
		die "missing packages: $* (run tools/install-deps.sh as root)"
	fi
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
# part F: GNU time (CPU, peak RSS of --once), smtp-sink (postfix, below),
# and for the mounts mkfs.ext4 and mount
if [[ -n $FS_LIST ]]; then
	[[ -x /usr/bin/time ]] || need+=(time)
	for x in $FS_LIST; do
		[[ $x == ext4j ]] && ! command -v mkfs.ext4 >/dev/null && need+=(e2fsprogs)
		[[ $x != root ]] && ! command -v mount >/dev/null && need+=(mount)
	done
fi
if [[ $DO_LMTP == 1 ]]; then
	for x in dovecot-core dovecot-lmtpd dovecot-imapd; do
		dpkg -s "$x" >/dev/null 2>&1 || need+=("$x")
	done
fi
if [[ $DO_POSTFIX == 1 || $DO_SMTP == 1 || $DO_LMTP == 1 || -n $FS_LIST ]] &&
    ! dpkg -s postfix >/dev/null 2>&1; then
	echo "postfix postfix/main_mailer_type select No configuration" |
	    debconf-set-selections
	need+=(postfix)
fi
if [[ ( $DO_CHARSET == 1 || $DO_DROP == 1 ) && ! -x /usr/bin/time ]]; then
	need+=(time)	# GNU time, for -f %M (peak RSS)
fi
if [[ $DO_CHARSET == 1 ]] && ! command -v iconv >/dev/null; then
	need+=(libc-bin)
fi
if (( ${#need[@]} )); then
	mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
	log "installing: ${need[*]}"
	apt_install "${need[@]}"
fi
command -v strace >/dev/null || DO_STRACE=0

# ---------------------------------------------------------------- scratch
[[ -d ${BENCH_TMP:-/tmp} ]] || { echo "bench.sh: BENCH_TMP: no folder ${BENCH_TMP}" >&2; exit 64; }
W=$(mktemp -d "${BENCH_TMP:-/tmp}/imc-bench.XXXXXX")
chmod 755 "$W"	# Postfix's virtual(8) runs as nobody and must reach vmail/
CONN_PID=""; WAIT_PID=""; STRACE_PID=""; PF_MASTER=""; PF_STARTED=0
FS_PID=""	# tools/bench/fs.sh, running on one file system

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
# unmount_all: every mount under $W (deepest first): what part F mounted
# (a loop mount's device is freed with it)
unmount_all() {
	local m
	awk -v w="$W/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r |
	    while read -r m; do
		umount "$m" 2>/dev/null || { sleep 1; umount "$m" 2>/dev/null; } ||
		    { log "cannot unmount $m: lazy unmount"; umount -l "$m"; }
	done
}
cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	(( rc == 130 || rc == 143 )) && log "interrupted: stopping, unmounting, removing $W"
	[[ -n $WAIT_PID ]] && stop_pid "$WAIT_PID" 5
	[[ -n $STRACE_PID ]] && { kill -INT "$STRACE_PID" 2>/dev/null; wait_gone "$STRACE_PID" 10 || kill -KILL "$STRACE_PID"; }
	[[ -n $CONN_PID ]] && stop_pid "$CONN_PID" 30
	[[ -n $FS_PID ]] && stop_pid "$FS_PID" 120
	pf_stop
	unmount_all
	# never into a file system that could not be unmounted
	rm -rf --one-file-system "$W"
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
# ---------------------------------------------------------------- part 7
drop_part() {
	BIN=$BIN W=$W PY=$PY DRIVER=$DRIVER N=$DROP_N SIZE=$SMALL_SIZE \
	    RCPTS=$RCPTS RUNS=$DROP_RUNS TMO=$PHASE_TIMEOUT \
	    USER_LINE="$(user_conf_line)" \
	    bash "$ROOT/tools/bench/drop.sh" || die "part 7 (Drop) failed"
}
if [[ $DROP_ONLY == 1 ]]; then
	drop_part
	exit 0
fi
# ---------------------------------------------------------------- part 8
smtpd_part() {
	BIN=$BIN W=$W PY=$PY PHASE_TIMEOUT=$PHASE_TIMEOUT \
	    BENCH_SMALL_SIZE=$SMALL_SIZE USER_LINE="$(user_conf_line)" \
	    bash "$ROOT/tools/bench/smtpd.sh" || die "part 8 (SMTP in) failed"
}
if [[ $SMTPD_ONLY == 1 ]]; then
	smtpd_part
	exit 0
fi

# ---------------------------------------------------------------- part 5
smtp_part() {
	BIN=$BIN W=$W PY=$PY DRIVER=$DRIVER PHASE_TIMEOUT=$PHASE_TIMEOUT \
	    BENCH_SMALL_SIZE=$SMALL_SIZE BENCH_RCPTS=$RCPTS \
	    USER_LINE="$(user_conf_line)" \
	    bash "$ROOT/tools/bench/smtp.sh" || die "part 5 (SMTP) failed"
}

# ---------------------------------------------------------------- part 6
lmtp_part() {
	BIN=$BIN W=$W PY=$PY DRIVER=$DRIVER PHASE_TIMEOUT=$PHASE_TIMEOUT \
	    BENCH_SMALL_SIZE=$SMALL_SIZE BENCH_RCPTS=$RCPTS IMC_SRC=$ROOT \
	    USER_LINE="$(user_conf_line)" \
	    bash "$ROOT/tools/bench/lmtp.sh" || die "part 6 (LMTP) failed"
}
if [[ $LMTP_ONLY == 1 ]]; then
	[[ $IS_ROOT == 1 ]] || die "--lmtp-only needs root (Dovecot, Postfix)"
	lmtp_part
	exit 0
fi

# ---------------------------------------------------------------- part F
# fs_describe NAME DIR: the file system under DIR in words, for its table
journal_of() {
	local src name
	src=$(findmnt -n -o SOURCE -T "$1")
	name=$(basename "$(readlink -f "$src" 2>/dev/null || echo "$src")")
	case $(findmnt -n -o FSTYPE -T "$1") in
	ext3|ext4|jbd2)
		if compgen -G "/proc/fs/jbd2/$name-*" >/dev/null; then
			echo "yes (jbd2)"
		else
			echo "no"
		fi ;;
	tmpfs) echo "none (RAM)" ;;
	*) echo "?" ;;
	esac
}
mount_words() {
	findmnt -n -o SOURCE,FSTYPE,OPTIONS -T "$1" |
	    awk '{ printf "%s, %s %s", $1, $2, $3 }'
}
fs_describe() {
	local fs=$1 dir=$2 put=fsput
	case $fs in
	ext4j)
		$put "F.$fs.desc" "journaled ext4 on a ${EXT4_MB} MB image file, mount -o loop"
		$put "F.$fs.detail" "$(mount_words "$dir"); journal: $(journal_of "$dir")"
		$put "F.$fs.detail" "the image file on $(mount_words "$W"); journal: $(journal_of "$W")" ;;
	tmpfs)
		$put "F.$fs.desc" "tmpfs of ${TMPFS_MB} MB (RAM: nothing reaches a disk; fsync and syncfs write nothing)"
		$put "F.$fs.detail" "$(mount_words "$dir")" ;;
	root)
		$put "F.$fs.desc" "the root file system (a folder under /tmp, as parts 1-5)"
		$put "F.$fs.detail" "$(mount_words "$dir"); journal: $(journal_of "$dir")"
		if [[ $(journal_of "$dir") == no ]]; then
			$put "F.$fs.detail" "without a journal, ext4's inode allocator scans recently deleted inodes: misleading figures"
		fi ;;
	esac
	$put "F.$fs.detail" "work folders in $dir"
}
FS_RES=$W/fs-results.tsv
fsput() { printf '%s\t%s\n' "$1" "$2" >>"$FS_RES"; }

# fs_mount NAME: mounts the file system NAME under $W (root: a plain
# folder) and sets FS_DIR to an empty folder on it
fs_mount() {
	local fs=$1 mnt=$W/mnt-$1
	case $fs in
	ext4j)
		mkdir -p "$mnt"
		truncate -s "${EXT4_MB}M" "$W/ext4j.img"
		# inode tables and journal written now, not by a kernel thread
		# during the timings
		mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 \
		    -L imc-bench "$W/ext4j.img" || die "mkfs.ext4 failed"
		mount -o loop "$W/ext4j.img" "$mnt" || die "mount -o loop failed"
		;;
	tmpfs)
		mkdir -p "$mnt"
		mount -t tmpfs -o "size=${TMPFS_MB}m,mode=755" imc-bench "$mnt" ||
		    die "mount -t tmpfs failed"
		;;
	root)
		mnt=$W/fs-root
		mkdir -p "$mnt"
		;;
	esac
	chmod 755 "$mnt"	# Postfix's virtual(8) runs as nobody
	FS_DIR=$mnt/bench
	mkdir -p "$FS_DIR"
	chmod 755 "$FS_DIR"
}
# fs_umount NAME: undoes fs_mount
fs_umount() {
	local fs=$1 mnt=$W/mnt-$1
	case $fs in
	ext4j|tmpfs)
		umount "$mnt" 2>/dev/null || { sleep 1; umount "$mnt"; } ||
		    die "cannot unmount $mnt"
		rm -f "$W/ext4j.img"
		rmdir "$mnt" ;;
	root) rm -rf "$W/fs-root" ;;
	esac
}

fs_part() {
	local fs failed=""
	: >"$FS_RES"
	fsput F.n "$FS_N"; fsput F.size "$SMALL_SIZE"; fsput F.runs "$FS_RUNS"
	fsput F.user "$RUN_USER"; fsput F.postfix "$DO_POSTFIX"
	fsput F.pf_version "$(postconf -d -h mail_version 2>/dev/null || echo "?")"
	log "part F: $FS_N messages, parts: $FS_PARTS; file systems: $FS_LIST; $FS_RUNS run(s) each"
	mkdir -p "$W/fs-src" "$W/fs-hold"
	$PY "$DRIVER" gen "$W/fs-src/store" "$FS_N" "$SMALL_SIZE" "$RCPTS" s
	$PY "$DRIVER" gen "$W/fs-src/smtp" "$FS_N" "$SMALL_SIZE" "$RCPTS" m sink.bench.test
	$PY "$DRIVER" gen "$W/fs-src/warm" "$RCPTS" 600 "$RCPTS" w
	$PY "$DRIVER" gen "$W/fs-src/warm" 1 600 1 v sink.bench.test
	local envs=(BIN="$BIN" PY="$PY" DRIVER="$DRIVER" W="$W" HOLD="$W/fs-hold"
	    RES="$FS_RES" PARTS="$FS_PARTS" RUNS="$FS_RUNS" N="$FS_N"
	    SIZE="$SMALL_SIZE" RCPTS="$RCPTS" DO_POSTFIX="$DO_POSTFIX"
	    RUN_USER="$RUN_USER" TMO="$PHASE_TIMEOUT")
	if [[ $DO_POSTFIX == 1 ]]; then
		env "${envs[@]}" bash "$ROOT/tools/bench/fs.sh" hold &
		FS_PID=$!
		wait "$FS_PID" || die "part F: the Postfix maildrop files could not be made"
		FS_PID=""
	fi
	for fs in $FS_LIST; do
		log "part F on $fs (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
		fs_mount "$fs"
		fs_describe "$fs" "$FS_DIR"
		env "${envs[@]}" D="$FS_DIR" FS="$fs" \
		    bash "$ROOT/tools/bench/fs.sh" run &
		FS_PID=$!
		if ! wait "$FS_PID"; then
			log "part F on $fs FAILED (the table shows what was measured)"
			failed+=" $fs"
			fsput "F.$fs.detail" "FAILED: a run did not complete (see the log above)"
		fi
		FS_PID=""
		fs_umount "$fs"
		$PY "$DRIVER" fstable "$FS_RES" "$fs"
	done
	log "part F done (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
	[[ -z $failed ]] || die "part F failed on:$failed"
}
if [[ $FS_ONLY == 1 ]]; then
	fs_part
	exit 0
fi
if [[ $SMTP_ONLY == 1 ]]; then
	[[ -n $FS_LIST ]] && fs_part
	[[ $DO_SMTP == 1 ]] && smtp_part
	exit 0
fi
[[ -n $FS_LIST ]] && fs_part

# ---------------------------------------------------------------- messages
log "generating messages in $W/msgs"
if [[ $LARGE_ONLY == 0 ]]; then
	$PY "$DRIVER" gen "$W/msgs/small" "$SMALL" "$SMALL_SIZE" "$RCPTS" s
	$PY "$DRIVER" gen "$W/msgs/lat" "$LAT_N" "$SMALL_SIZE" 1 t
	$PY "$DRIVER" gen "$W/msgs/strace" "$STRACE_N" "$SMALL_SIZE" "$RCPTS" x
fi
$PY "$DRIVER" gen "$W/msgs/large" "$LARGE" "$LARGE_SIZE" "$RCPTS" l
$PY "$DRIVER" gen "$W/msgs/warm" "$RCPTS" 600 "$RCPTS" w

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
$(user_conf_line)
local_domains = example.com
EOF
"$BIN/imc-layout" -c "$C/imc.conf" create >/dev/null

conn_start() {
	: >"$C/daemon.log"
	"$BIN/imc-connector" -c "$C/imc.conf" --foreground 2>"$C/daemon.log" &
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
maillog_file_prefixes = /var, /dev/stdout, /tmp, $PF
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
	if [[ $LARGE_ONLY == 0 ]]; then
		conn_phase small "$SMALL" "$run"
		[[ $DO_POSTFIX == 1 ]] && pf_phase small "$SMALL" "$run"
	fi
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
if [[ $LARGE_ONLY == 1 ]]; then
	pf_stop
else
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
fi

# ---------------------------------------------------------------- summary
LARGE_ONLY=$LARGE_ONLY \
SMALL=$SMALL LARGE=$LARGE SMALL_SIZE=$SMALL_SIZE LARGE_SIZE=$LARGE_SIZE \
RUNS=$RUNS RCPTS=$RCPTS PF_PAR=$PF_PAR STRACE_N=$STRACE_N LAT_N=$LAT_N \
PF_VERSION=$PF_VERSION DO_POSTFIX=$DO_POSTFIX DO_STRACE=$DO_STRACE \
    $PY "$DRIVER" summary "$RES"

[[ $DO_SMTP == 1 ]] && smtp_part
[[ $DO_LMTP == 1 ]] && lmtp_part
[[ $DO_SMTPD == 1 ]] && smtpd_part
[[ $DO_CHARSET == 1 ]] && charset_part
[[ $DO_DROP == 1 ]] && drop_part
exit 0
