#!/usr/bin/env bash
# The running daemon: inotify picks files up without waiting for a rescan,
# a file written in place is taken once closed, SIGTERM stops it cleanly,
# and files dropped while it was stopped are taken at the next start.
. "$(dirname "$0")/lib.sh"

# A rescan interval of an hour: anything taken quickly came through inotify.
write_conf "pickup_rescan = 1h"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null
start_daemon || abort_test "the rest needs the daemon"

drop one.eml 'From: a@example.com\r\nTo: one@example.com\r\n\r\nfirst\r\n'
check "renamed-in file taken through inotify" wait_for 10 mailbox_has example.com one 1

# Written in place, the .NET SmtpClient way: open, write slowly, close.
( exec 3>"$ROOT/Pickup/inplace.eml"
  printf 'From: a@example.com\r\nTo: inplace@example.com\r\n' >&3
  sleep 1
  printf '\r\nwritten in place\r\n' >&3 )
check "file written in place taken after close" wait_for 10 mailbox_has example.com inplace 1
check "and taken whole" grep -q 'written in place' "$(mailbox_one example.com inplace)"

for i in $(seq 1 50); do
	drop "burst$i.eml" "From: a@example.com\r\nTo: burst@example.com\r\nSubject: $i\r\n\r\nbody $i\r\n"
done
check "a burst of 50 files all delivered" wait_for 20 mailbox_has example.com burst 50

# stop_daemon's check: the daemon ended by itself after SIGTERM, with
# status 0 (no SIGKILL)
stop_daemon "SIGTERM stops the daemon"
check "stats logged at stop" grep -q 'stats: picked_up=52 ' "$T/daemon.log"
check "queue consistent after stop" test "$(count_files "$ROOT/Work")$(count_files "$ROOT/In")" = 00

drop offline.eml 'From: a@example.com\r\nTo: offline@example.com\r\n\r\nwhile stopped\r\n'
start_daemon || abort_test "the daemon restarts"
check "file dropped while stopped taken at start" wait_for 10 mailbox_has example.com offline 1
stop_daemon "SIGTERM stops the restarted daemon"
check "each message delivered once" test "$(find "$ROOT/Store" -type f | wc -l)" = 53
finish
