#!/usr/bin/env bash
# test_queue_change.sh - imc-queue hold, release, delete [--bounce] and
# flush (issue 11, section 1): with no connector running the tool makes
# the change itself under the tree's lock; with one running it asks (a
# request in Log/), the connector applies it and answers; a held entry is
# never delivered, not by a flush, not after a restart, until released;
# each change is a tracking log line; exit codes 64, 67 and 75.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"

PORT=$(free_port)
write_conf "smarthost = [127.0.0.2]:$PORT" "tls = none" "retry_schedule = 1h" \
	"pickup_rescan = 1s"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null
q() { "$IMC_BIN/imc-queue" -c "$CONF" "$@"; }
qid_of() { q list --json | grep "\"subject-$1\"\|$1@remote.test" | sed 's/^{"queue_id":"\([0-9A-Z]*\)".*/\1/'; }
in_out() { [ -f "$ROOT/Out/$1.eml" ]; }
held_in_env() { entry_env "$ROOT/Out" "$1" | grep -q '^held [1-9]'; }

# The peer is down: both wait in Out.
drop a.eml 'X-Sender: alice@example.com\r\nX-Receiver: a@remote.test\r\nSubject: A\r\n\r\nbody\r\n'
drop b.eml 'X-Sender: alice@example.com\r\nX-Receiver: b@remote.test\r\nSubject: B\r\n\r\nbody\r\n'
run_once
A=$(qid_of a) B=$(qid_of b)
check "two entries deferred" test ${#A} = 16 -a ${#B} = 16

# No connector: the tool holds A itself, under the lock.
out=$(q hold "$A")
check "hold without a connector exits 0" test $? = 0
check "... and says it changed the entry itself" has 'changed here, under the tree.s lock' "$out"
check "... held in Out" has "^$A: held in Out$" "$out"
check "the envelope says held" held_in_env "$A"
check "the tracking log says held" grep -q "event=held qid=$A " "$ROOT"/Log/[0-9]*.log
check "list marks it" has "^$A!" "$(q list)"
check "no request left behind" test -z "$(ls "$ROOT"/Log/*.request 2>/dev/null)"
check "held again: already" has "^$A: held already in Out$" "$(q hold "$A")"

# A connector starts with the peer up: the held entry stays held through
# the start (outq_load) and through a flush; B goes.
start_peer p1 127.0.0.2:$PORT || abort_test "peer starts"
start_daemon || abort_test "the rest needs the daemon"
out=$(q flush)
check "flush asks the running connector and gets its answer" has 'told the connector (PID [0-9]*); it answered' "$out"
check "... 1 entry made due (B; A is held)" has '^flush: 1 Out entry made due$' "$out"
check "B delivered" wait_for 10 peer_has p1 1
sleep 1
check "A not delivered" peer_has p1 1
check "A still in Out, held" held_in_env "$A"
out=$(q flush "$A")
check "flush of the held entry makes nothing due" has '^flush: 0 Out entries made due$' "$out"
sleep 0.5
check "A still not delivered" peer_has p1 1

# release through the connector: due at once, delivered.
out=$(q release "$A")
check "release exits 0" test $? = 0
check "... the connector answered" has "^$A: released in Out$" "$out"
check "A delivered once released" wait_for 10 peer_has p1 2
check "released logged" grep -q "event=released qid=$A " "$ROOT"/Log/[0-9]*.log
q release "$A" >/dev/null 2>&1
check "release of an entry no longer queued exits 67" test $? = 67

# delete and delete --bounce, through the connector.
stop_peer p1
drop c.eml 'X-Sender: alice@example.com\r\nX-Receiver: c@remote.test\r\nSubject: C\r\n\r\nbody\r\n'
drop d.eml 'X-Sender: alice@example.com\r\nX-Receiver: d@remote.test\r\nSubject: D\r\n\r\nbody\r\n'
two_deferred() { [ "$(q list --json --deferred | grep -c '[cd]@remote.test')" = 2 ]; }
check "C and D deferred" wait_for 20 two_deferred
C=$(qid_of c) D=$(qid_of d)
out=$(q delete "$C")
check "delete exits 0" test $? = 0
check "... deleted from Out" has "^$C: deleted from Out$" "$out"
check "C is gone" bash -c "! test -e '$ROOT/Out/$C.eml'"
check "deleted logged, per recipient" grep -q "event=deleted qid=$C .*to=<c@remote.test>.*status=deleted" "$ROOT"/Log/[0-9]*.log
out=$(q delete --bounce "$D")
check "delete --bounce: the sender is told" has "^$D: deleted from Out (the sender is told)$" "$out"
gone_d() { ! in_out "$D"; }
check "D leaves Out" wait_for 10 gone_d
notice_d() { grep -l "Subject: Undeliverable: D" "$ROOT"/Store/example.com/alice/new/* >/dev/null 2>&1; }
check "the sender got a notice for D" wait_for 10 notice_d
check "... status 5.0.0" grep -q '^Status: 5.0.0' $(grep -l "Subject: Undeliverable: D" "$ROOT"/Store/example.com/alice/new/*)
check "no notice for C" bash -c "! grep -q 'Subject: Undeliverable: C' '$ROOT'/Store/example.com/alice/new/*"

# requeue: a Badmail message once the cause is fixed (a peer that
# refused the null sender's recipient now takes it), and a Pickup/Archive
# file once mended.
PORT2=$(free_port)
start_peer p2 127.0.0.3:$PORT2 --rcpt-reply 'z@refusing.test=550 5.7.1 not now' ||
	abort_test "second peer starts"
cat >> "$CONF" <<EOC
[domain refusing.test]
relay = [127.0.0.3]:$PORT2
EOC
stop_daemon
start_daemon || abort_test "daemon restarts with the new domain"
drop z.eml 'X-Sender: <>\r\nX-Receiver: z@refusing.test\r\nSubject: Z\r\n\r\n..dot line\r\nbody z\r\n'
in_badmail() { ls "$ROOT"/Badmail/*.bad >/dev/null 2>&1; }
check "the null sender's refused message goes to Badmail" wait_for 20 in_badmail
Z=$(basename "$(ls "$ROOT"/Badmail/*.bad | head -1)" .bad)
check "its envelope is kept beside it" grep -q '^rcpt failed 5.7.1 z@refusing.test' "$ROOT/Badmail/$Z.env"
stop_peer p2
start_peer p2 127.0.0.3:$PORT2 || abort_test "second peer restarts, taking everything"
out=$(q requeue "$Z")
check "requeue exits 0" test $? = 0
check "... into Pickup" has "^$Z: requeued from Badmail as Pickup/requeue-$Z.eml (1 recipient)$" "$out"
z_sent() { grep -q 'Subject: Z' "$T"/peer-p2/*.msg 2>/dev/null; }
check "the requeued message is delivered" wait_for 20 z_sent
check "... to its recipient, from the null sender" grep -q 'X-Peer-Rcpt-To: <z@refusing.test>' "$T"/peer-p2/*.msg
check "... with its leading dot line intact" grep -q '^\.dot line' "$T"/peer-p2/*.msg
check "... once" test "$(grep -l 'Subject: Z' "$T"/peer-p2/*.msg | wc -l)" = 1
check "Badmail is empty" test "$(count_files "$ROOT/Badmail")" = 0
check "requeued logged" grep -q "event=requeued qid=$Z .*orig=requeue-$Z.eml" "$ROOT"/Log/[0-9]*.log
q requeue "$Z" >/dev/null 2>&1
check "requeue of it again: exit 67" test $? = 67
drop norcpt.eml 'Subject: nobody to send to\r\n\r\nbody n\r\n'
in_archive() { ls "$ROOT"/Pickup/Archive/*.eml >/dev/null 2>&1; }
check "a file without recipients is archived" wait_for 20 in_archive
N=$(basename "$(ls "$ROOT"/Pickup/Archive/*.eml | head -1)" .eml)
# the admin mends it, then requeues it
sed -i '1i X-Sender: app@example.com\nX-Receiver: n@refusing.test' "$ROOT/Pickup/Archive/$N.eml"
svc_own "$ROOT/Pickup/Archive/$N.eml"
out=$(q requeue "$N")
check "requeue of an archived file" has "^$N: requeued from Pickup/Archive as Pickup/requeue-$N.eml$" "$out"
n_sent() { grep -q 'Subject: nobody to send to' "$T"/peer-p2/*.msg 2>/dev/null; }
check "... delivered once mended" wait_for 20 n_sent
check "... its reason file gone" test "$(count_files "$ROOT/Pickup/Archive")" = 0

# exit codes
q hold 0000000000000000 >/dev/null 2>&1
check "hold of an unknown entry exits 67" test $? = 67
q hold >/dev/null 2>&1
check "hold without a queue id exits 64" test $? = 64
q hold --bounce "$A" >/dev/null 2>&1
check "--bounce with hold exits 64" test $? = 64
q hold nonsense >/dev/null 2>&1
check "a malformed queue id exits 64" test $? = 64
q delete --wait x "$A" >/dev/null 2>&1
check "--wait that is not a number exits 64" test $? = 64

# A connector that does not answer (stopped): exit 75 in bounded time.
drop e.eml 'X-Sender: alice@example.com\r\nX-Receiver: e@remote.test\r\nSubject: E\r\n\r\nbody\r\n'
one_more() { [ "$(q list --json --deferred | grep -c 'e@remote.test')" = 1 ]; }
check "E deferred" wait_for 20 one_more
E=$(qid_of e)
kill -STOP "$DAEMON_SIG_PID"
start=$(date +%s%N)
q hold --wait 1 "$E" >/dev/null 2>"$T/hold.err"
rc=$?
took=$(( ($(date +%s%N) - start) / 1000000 ))
kill -CONT "$DAEMON_SIG_PID"
check "no answer in time: exit 75" test $rc = 75
check "... within the wait (${took} ms)" test "$took" -lt 3000
check "... saying the request stays" grep -q 'the request stays in Log/' "$T/hold.err"
check "the connector applies it once it runs again" wait_for 10 held_in_env "$E"

# A restart keeps E held (recovery and outq_load), and a flush then
# leaves it alone.
stop_daemon
start_peer p1 127.0.0.2:$PORT || abort_test "peer restarts"
start_daemon || abort_test "daemon restarts"
q flush >/dev/null
sleep 1
check "E, held, not delivered after a restart and a flush" bash -c "! grep -q 'Subject: E' '$T'/peer-p1/*.msg"
check "E still held" held_in_env "$E"
q release "$E" >/dev/null
e_sent() { grep -q 'Subject: E' "$T"/peer-p1/*.msg 2>/dev/null; }
check "E delivered once released" wait_for 10 e_sent
stop_daemon
check "no request or reply left in Log" test -z "$(ls "$ROOT"/Log/*.request 2>/dev/null)"
finish
