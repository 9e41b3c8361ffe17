#!/usr/bin/env bash
# test_queue_tool.sh - imc-queue list, show and status on a real queue
# (issue 11, section 1): the postqueue -p style listing with its held
# marks and reasons, every filter, --json (one valid object a line with
# the documented fields), show with --body and for Badmail and
# Pickup/Archive files, status counts and tracking log rates, and the
# exit codes (64 usage, 67 unknown queue id, 78 configuration).
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
write_conf "max_message_size = 1K"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null
q() { "$IMC_BIN/imc-queue" -c "$CONF" "$@"; }

# Out/: three entries deferred against a port nothing listens on; In/ one
# delivered (gone); Badmail/ one; Pickup/Archive/ one (too big).
drop a.eml 'X-Sender: alice@example.org\r\nX-Receiver: carol@remote.test\r\nX-Receiver: dan@remote.test\r\nX-Receiver: bob@example.com\r\nSubject: first\r\n\r\nbody a\r\n'
drop b.eml 'X-Sender: <>\r\nX-Receiver: erin@other.test\r\nSubject: second\r\n\r\nbody b\r\n'
drop c.eml 'X-Sender: zed@partner.net\r\nX-Receiver: fay@Other.Test\r\nSubject: third\r\n\r\nbody c\r\n'
drop null.eml 'X-Sender: <>\r\nX-Receiver: ".x"@example.com\r\nSubject: from nobody\r\n\r\nbody\r\n'
drop big.eml "X-Sender: alice@example.org\r\nX-Receiver: bob@example.com\r\nSubject: big\r\n\r\n$(head -c 2000 /dev/zero | tr '\0' x)\r\n"
run_once
check "three entries wait in Out" test "$(out_count)" = 3

list=$(q list)
check "list exits 0" test $? = 0
check "list has the postqueue heading" has '^-Queue ID-.*--Size--.*Arrival Time.*-Sender/Recipient-' "$list"
check "list ends with the totals" has '^-- [0-9]* Kbytes in 3 Requests\.$' "$list"
check "an entry line: qid, size, arrival, folder, sender" \
	has '^[0-9A-Z]\{16\}  *[0-9]* [A-Z][a-z][a-z] [A-Z][a-z][a-z] [ 0-9][0-9] [0-9:]\{8\} Out   alice@example.org$' "$list"
check "the null sender shows as <>" has ' Out   <>$' "$list"
check "the reason in parentheses over the recipients" \
	has '^  *(127.0.0.1.*[Rr]efused.*)$' "$list"
check "pending recipients on lines of their own" has '^  *carol@remote.test$' "$list"
check "one reason line for two recipients that share it" \
	test "$(grep -A3 ' alice@example.org$' <<<"$list" | grep -c '^  *(')" = 1
check "no entry is marked held yet" lacks '^[0-9A-Z]\{16\}!' "$list"

json=$(q list --json)
check "--json: one line per entry" test "$(grep -c . <<<"$json")" = 3
check "--json: every line is a JSON object with the documented fields" \
	"$PY" -c '
import json, sys
want = ["queue_id", "folder", "state", "held", "held_since", "arrival_time",
        "message_size", "sender", "attempts", "next_try", "last_error",
        "problem", "recipients"]
for line in sys.stdin:
    o = json.loads(line)
    assert list(o) == want, list(o)
    assert o["folder"] == "Out" and o["state"] == "deferred" and o["held"] is False
    for r in o["recipients"]:
        assert list(r) == ["address", "state", "dsn", "reason"], r
        assert r["state"] == "pending" and r["dsn"] == "4.4.1" and "efused" in r["reason"]
' <<<"$json"
qa=$(grep '"sender":"alice@example.org"' <<<"$json" | sed 's/^{"queue_id":"\([0-9A-Z]*\)".*/\1/')
qb=$(grep '"sender":""' <<<"$json" | sed 's/^{"queue_id":"\([0-9A-Z]*\)".*/\1/')
check "the queue ids are read from --json" test ${#qa} = 16 -a ${#qb} = 16

# Filters, each alone and together.
count() { q list --json "$@" | grep -c '^{'; }
check "--domain matches any case" test "$(count --domain other.test)" = 2
check "--domain with a recipient in another folder only" test "$(count --domain example.com)" = 0
check "--sender" test "$(count --sender ALICE@example.org)" = 1
check "--sender <> (the null sender)" test "$(count --sender '<>')" = 1
check "--sender @domain" test "$(count --sender @partner.net)" = 1
check "--deferred takes tried entries" test "$(count --deferred)" = 3
check "--held: none held" test "$(count --held)" = 0
check "--older-than 1h: none so old" test "$(count --older-than 1h)" = 0
check "--older-than 0s: all" test "$(count --older-than 0s)" = 3
check "filters combine" test "$(count --domain other.test --sender '<>')" = 1
check "text listing of a filtered list" \
	test "$(q list --domain remote.test | grep -c '^[0-9A-Z]\{16\}')" = 1
check "an empty result says so" test "$(q list --held)" = "Mail queue is empty"

# A held entry (the envelope line imc-queue hold writes) is marked "!".
env_to_file "$ROOT/Out" "$qb"
sed -i "s/^error /held $(date +%s)\nerror /" "$ROOT/Out/$qb.env"
check "a held entry is marked with !" has "^$qb!" "$(q list)"
check "--held takes it" test "$(count --held)" = 1
check "--json says held" has '"held":true,"held_since":[1-9]' "$(q list --json --held)"

# An entry whose envelope is torn is listed as unreadable with the reason.
qc=$(grep '"sender":"zed@partner.net"' <<<"$json" | sed 's/^{"queue_id":"\([0-9A-Z]*\)".*/\1/')
env_to_file "$ROOT/Out" "$qc"
head -c 40 "$ROOT/Out/$qc.env" > "$ROOT/Out/$qc.env.new" && mv "$ROOT/Out/$qc.env.new" "$ROOT/Out/$qc.env"
check "a torn entry is listed, marked ?" has "^$qc? .*(unreadable: .*)" "$(q list)"
check "--json says unreadable, with the problem" \
	has "\"queue_id\":\"$qc\",\"folder\":\"Out\",\"state\":\"unreadable\".*\"problem\":\"[^\"]" "$(q list --json)"

# show
out=$(q show "$qa")
check "show exits 0" test $? = 0
check "show: the envelope" has "^queue id:   $qa$" "$out"
check "show: folder and state" has '^state:      deferred$' "$out"
check "show: sender" has '^sender:     <alice@example.org>$' "$out"
check "show: attempts and next try" has '^next try:   20[0-9-]* [0-9:]* UTC (in [0-9]*s)$' "$out"
check "show: each recipient with state, DSN and last reply" \
	has '^  pending  4.4.1  <carol@remote.test> 127.0.0.1.*[Rr]efused' "$out"
check "show: the header" has '^Subject: first$' "$out"
check "show: no body without --body" lacks 'body a' "$out"
body=$(q show --body "$qa")
check "show --body: the whole message, CRLF as LF" has '^body a$' "$body"
check "show --body: no CR" lacks $'\r' "$body"
check "show of a held entry says since when" has '^held since: ' "$(q show "$qb")"
bad=$(basename "$(ls "$ROOT"/Badmail/*.bad)" .bad)
out=$(q show "$bad")
check "show of a Badmail file: folder and reason" has '^folder:     Badmail$' "$out"
check "... with the .bdr reason" has '^ *<".x"@example.com>: 5.1.3 mailbox name cannot be a folder name$' "$out"
check "... and the header" has '^Subject: from nobody$' "$out"
arch=$(basename "$(ls "$ROOT"/Pickup/Archive/*.eml)" .eml)
out=$(q show "$arch")
check "show of a Pickup/Archive file with its reason" \
	has '^folder:     Pickup/Archive$' "$out"
check "... with the reason" has '^reason:$' "$out"

q show 0000000000000000 >/dev/null 2>"$T/show.err"
check "show of an unknown queue id exits 67" test $? = 67
check "... and says so" grep -q 'no such entry' "$T/show.err"
q show ../../etc/passwd >/dev/null 2>&1
check "show of something that is not a queue id exits 64" test $? = 64

# status
out=$(q status)
check "status exits 0" test $? = 0
check "status: Out has 3 entries, 1 held" has '^Out  *3  *1$' "$out"
check "status: Badmail counts its .bad file" has '^Badmail  *1$' "$out"
check "status: Pickup/Archive counts its file" has '^Pickup/Archive  *1$' "$out"
check "status: pending recipients per destination" has '^remote.test  *Out  *1  *2$' "$out"
check "status: destinations in any case count together" has '^other.test  *Out  *1  *1$' "$out"
check "status: the oldest entry" has '^oldest entry: [0-9A-Z]\{16\} in Out, arrived 20' "$out"
# the tracking log of this run: 2 deliveries (bob, the bounce is
# Badmail), 4 deferrals, all in the last minute
deliv=$(grep -c 'event=delivered' "$ROOT"/Log/[0-9]*.log)
defer=$(grep -c 'event=deferred' "$ROOT"/Log/[0-9]*.log)
check "status: deliveries of the last minute and hour from the log" \
	has "^delivered  *$deliv  *$deliv$" "$out"
check "status: deferrals" has "^deferred  *$defer  *$defer$" "$out"
check "the log had some of each" test "$deliv" -ge 1 -a "$defer" -ge 3
# a line from two hours ago counts in neither span
fails=$(grep -c 'event=failed' "$ROOT"/Log/[0-9]*.log)
old=$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%S.000Z)
day=$(date -u -d '-2 hours' +%Y%m%d)
echo "$old event=failed qid=X" >> "$ROOT/Log/$day.log"
recent=$(date -u -d '-10 minutes' +%Y-%m-%dT%H:%M:%S.000Z)
echo "$recent event=failed qid=Y" >> "$ROOT/Log/$(date -u -d '-10 minutes' +%Y%m%d).log"
check "status: a failure 10 minutes ago counts in the hour only" \
	has "^failed  *$fails  *$((fails + 1))$" "$(q status)"

# usage and configuration errors
q list --body >/dev/null 2>&1
check "an option of another command exits 64" test $? = 64
q list --older-than soon >/dev/null 2>&1
check "--older-than that is not a duration exits 64" test $? = 64
q frobnicate >/dev/null 2>&1
check "an unknown command exits 64" test $? = 64
q show >/dev/null 2>&1
check "show without a queue id exits 64" test $? = 64
echo "bogus_key = 1" > "$T/bad.conf"
"$IMC_BIN/imc-queue" -c "$T/bad.conf" list >/dev/null 2>"$T/conf.err"
check "a bad configuration exits 78" test $? = 78
check "... naming FILE:LINE" grep -q "bad.conf:1:" "$T/conf.err"

# Nothing above changed the queue: the tool only reads.
check "Out still holds the three entries" test "$(ls "$ROOT/Out" | grep -c '\.eml$')" = 3
finish
