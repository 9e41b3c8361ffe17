#!/usr/bin/env bash
# test_queue_stress.sh - imc-queue and a busy connector at once (issue 11,
# section 1): 1,000 entries, half delivered at once to one peer, half
# deferred by another (451) and retried every second, while the tool holds,
# releases, deletes and flushes in a loop; then the deferring peer takes
# everything for a while, and at last every hold is released. Nothing is
# lost (every message delivered once, or deleted by the tool and never
# delivered), nothing is doubled, and no held entry is delivered before
# it is released (the tracking log's order of events, and the peer while
# it accepted). Every loop and wait is bounded.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"

N=1000
ROUNDS=12
P1=$(free_port) P2=$(free_port)
start_peer fast 127.0.0.2:$P1 || abort_test "the accepting peer starts"
start_peer wait 127.0.0.3:$P2 --rcpt-reply '*=451 4.3.0 try again later' ||
	abort_test "the deferring peer starts"
write_conf "smarthost = [127.0.0.2]:$P1" "tls = none" "retry_schedule = 1s" \
	"delay_warning = 0" "pickup_rescan = 1s" "[domain wait.test]" \
	"relay = [127.0.0.3]:$P2"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null
start_daemon || abort_test "the rest needs the daemon"
q() { "$IMC_BIN/imc-queue" -c "$CONF" "$@"; }

# The messages: odd ones to the accepting peer, even ones deferred.
"$PY" - "$ROOT/Pickup" "$N" <<'EOF'
import os, sys
pickup, n = sys.argv[1], int(sys.argv[2])
for i in range(1, n + 1):
    to = "r%d@remote.test" % i if i % 2 else "w%d@wait.test" % i
    tmp = os.path.join(pickup, ".m%d.tmp" % i)
    with open(tmp, "w") as f:
        f.write("X-Sender: app@example.com\r\nX-Receiver: %s\r\n"
                "Subject: S%d\r\n\r\nbody %d\r\n" % (to, i, i))
    os.rename(tmp, os.path.join(pickup, "m%d.eml" % i))
EOF
all_in() { [ "$(grep -c 'event=picked-up' "$ROOT"/Log/[0-9]*.log)" = $N ]; }
check "all $N picked up" wait_for 60 all_in

# pick K [--held | --free]: K random queue ids of wait.test entries in
# Out (held ones, or ones not held), none of them pinned
pick() {
	q list --json --domain wait.test | "$PY" -c '
import json, random, sys
pinned = set(open(sys.argv[2]).read().split())
want = sys.argv[3] if len(sys.argv) > 3 else ""
ids = [o["queue_id"] for o in map(json.loads, sys.stdin)
       if o["folder"] == "Out" and o["queue_id"] not in pinned and
       (want != "--held" or o["held"]) and (want != "--free" or not o["held"])]
random.shuffle(ids)
print(" ".join(ids[:int(sys.argv[1])]))' "$1" "$PINNED" "${@:2}"
}
HELD=$T/held DELETED=$T/deleted RCS=$T/rcs PINNED=$T/pinned
: >"$HELD"; : >"$DELETED"; : >"$RCS"; : >"$PINNED"
# change VERB ARGS...: run the tool, keep its exit status, and record what
# the connector answered it did
change() {
	local out
	out=$(q "$@" 2>>"$T/tool.log")
	echo "$1 $?" >>"$RCS"
	grep ': held in Out$' <<<"$out" | cut -d: -f1 >>"$HELD"
	grep ': released in Out$\|: deleted from Out' <<<"$out" | cut -d: -f1 |
		while read -r id; do sed -i "/^$id\$/d" "$HELD"; done
	grep ': deleted from Out' <<<"$out" | cut -d: -f1 >>"$DELETED"
}

churn() {
	local r ids
	for r in $(seq 1 "$1"); do
		ids=$(pick 15); [ -z "$ids" ] || change hold $ids
		ids=$(pick 6 --held); [ -z "$ids" ] || change release $ids
		ids=$(pick 3); [ -z "$ids" ] || change delete $ids
		ids=$(pick 2 --held); [ -z "$ids" ] || change delete $ids
		if [ $((r % 2)) = 0 ]; then change flush; else
			ids=$(pick 5); [ -z "$ids" ] || change flush $ids
		fi
		sleep 0.2
	done
}

# Phase 1: the deferring peer; the daemon delivers the odd half and
# retries the even half every second while the tool works.
churn $ROUNDS
check "the tool held some entries" test "$(grep -c . "$HELD")" -gt 0
check "the tool deleted some entries" test "$(grep -c . "$DELETED")" -gt 0

# Phase 2: the peer takes everything now; the churn goes on, and twenty
# entries held now stay held through it (the churn leaves them be).
ids=$(pick 20 --free)
change hold $ids
for id in $ids; do grep -qx "$id" "$HELD" && echo "$id"; done >"$PINNED"
check "twenty entries pinned held for the accepting peer" test "$(grep -c . "$PINNED")" = 20
stop_peer wait
start_peer wait 127.0.0.3:$P2 || abort_test "the deferring peer now accepts"
churn $((ROUNDS / 2))
sort -u "$HELD" -o "$HELD"
drained() { [ "$(q list --json --domain wait.test | grep -c '"held":false')" = 0 ]; }
check "every entry not held is delivered" wait_for 60 drained
held_now=$(grep -c . "$HELD")
check "entries are held at the end of the churn ($held_now)" test "$held_now" -gt 0
undelivered=0
for id in $(cat "$HELD"); do
	grep -q -l "$id" "$T"/peer-wait/*.msg 2>/dev/null && undelivered=$((undelivered + 1))
done
check "no held entry reached the accepting peer" test "$undelivered" = 0
check "every held entry is still in Out" test "$(q list --json --held | grep -c '"held":true')" = "$held_now"

# Phase 3: everything is released; the queue drains.
[ ! -s "$HELD" ] || change release $(cat "$HELD")
change flush
empty() { [ "$(q list --json | grep -c .)" = 0 ]; }
check "the queue drains once every hold is released" wait_for 60 empty
stop_daemon

check "the tool never waited in vain (no exit 75)" bash -c "! grep -q ' 75\$' '$RCS'"
check "the tool's only other failure was an entry gone meanwhile (67)" \
	bash -c "! grep -v ' 0\$\| 67\$' '$RCS' | grep -q ."
"$PY" - "$ROOT/Log" "$T" "$N" "$DELETED" <<'EOF' >"$T/verdict.log" 2>&1
import glob, os, re, sys
logdir, t, n, deleted_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
deleted = set(open(deleted_file).read().split())
qid_of = {}        # message number -> qid
events = {}        # qid -> [event, ...] in log order
for path in sorted(glob.glob(os.path.join(logdir, "[0-9]*.log"))):
    for line in open(path, errors="replace"):
        m = re.search(r" event=(\S+) qid=(\S+)", line)
        if not m:
            continue
        ev, qid = m.groups()
        events.setdefault(qid, []).append(ev)
        o = re.search(r" orig=m(\d+)\.eml", line)
        if ev == "picked-up" and o:
            qid_of[int(o.group(1))] = qid
got = {}           # message number -> times delivered to a peer
for path in glob.glob(os.path.join(t, "peer-*", "*.msg")):
    s = re.search(r"^Subject: S(\d+)\r?$", open(path, errors="replace").read(), re.M)
    if s:
        got[int(s.group(1))] = got.get(int(s.group(1)), 0) + 1
bad = []
for i in range(1, n + 1):
    qid = qid_of.get(i)
    if qid is None:
        bad.append("m%d: never picked up" % i)
    elif qid in deleted:
        if got.get(i, 0) != 0:
            bad.append("m%d (%s): deleted, yet delivered" % (i, qid))
    elif got.get(i, 0) != 1:
        bad.append("m%d (%s): delivered %d times" % (i, qid, got.get(i, 0)))
    held = False
    for ev in events.get(qid, []):
        if ev == "held":
            held = True
        elif ev == "released":
            held = False
        elif ev == "delivered" and held:
            bad.append("m%d (%s): delivered while held" % (i, qid))
print("deleted %d, delivered %d, held at some time %d" % (len(deleted),
      sum(got.values()), sum(1 for e in events.values() if "held" in e)))
for b in bad[:20]:
    print(b)
sys.exit(1 if bad else 0)
EOF
verdict=$?
check "every message delivered once or deleted and never delivered; none while held ($(head -1 "$T/verdict.log"))" test "$verdict" = 0
grep -v '^deleted ' "$T/verdict.log" | head -20 | sed 's/^/#   /'
check "Out, In, Work, Pickup and Badmail are empty" test \
	"$(count_files "$ROOT/Out")$(count_files "$ROOT/In")$(count_files "$ROOT/Work")$(count_files "$ROOT/Pickup")$(count_files "$ROOT/Badmail")" = 00000
check "no request left in Log" test -z "$(ls "$ROOT"/Log/*.request 2>/dev/null)"
finish
