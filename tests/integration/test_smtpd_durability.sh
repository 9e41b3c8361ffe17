#!/usr/bin/env bash
# test_smtpd_durability.sh - the listener's 250 comes only once the
# message is durable, read from an strace of the daemon: for every
# "250 2.0.0 Ok: queued as QID" it sends, Work/.QID.smtp.tmp was renamed
# to Work/QID and a syncfs followed that rename before the send; for a
# message sent with DATA and for one in BDAT chunks (its LAST chunk). (The
# crash test cannot see a missing barrier: SIGKILL leaves the page cache
# to finish the writes; the order of the calls shows it.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"
need strace
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
P=$(free_port)
write_conf "listen = 127.0.0.1:$P" "smtpd_greet_pause = 0s"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null
WRAP=(strace -f -qq -s 256 -o "$T/trace" -e 'trace=syncfs,rename,renameat,renameat2,sendto,write')
start_daemon || abort_test "daemon starts under strace"
# 5 clients x 10 messages, some with two recipients (store and Out/), and
# a sixth sending 10 in BDAT chunks (two chunks each, pipelined)
$PY - "$P" >"$T/clients.log" 2>&1 <<'PYEOF'
import smtplib, socket, sys, threading
port = int(sys.argv[1])
def reply(s):
    got = b""
    while not any(l[3:4] == b" " for l in got.split(b"\r\n")[:-1]):
        b = s.recv(65536)
        if not b:
            raise OSError("closed")
        got += b
    return got
def bdat():
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    reply(s)
    s.sendall(b"EHLO bdat.test\r\n")
    reply(s)
    for n in range(10):
        s.sendall(b"MAIL FROM:<b@remote.test>\r\nRCPT TO:<chunks@example.com>\r\n"
                  b"BDAT 14\r\nSubject: d\r\n\r\nBDAT 3 LAST\r\nx\r\n")
        # four replies: MAIL, RCPT, the first chunk, the LAST one
        got = b""
        while got.count(b"\r\n") < 4:
            b = s.recv(65536)
            if not b:
                break
            got += b
        if b"queued as" not in got:
            print("no 250 for the LAST chunk: %r" % got)
            return
    s.close()
def run(c):
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    for n in range(10):
        rcpts = ["box%d@example.com" % c] + (["far@example.org"] if n % 2 else [])
        s.sendmail("a%d@remote.test" % c, rcpts, b"Subject: d\r\n\r\nx\r\n")
    s.quit()
ts = [threading.Thread(target=run, args=(c,)) for c in range(5)]
ts.append(threading.Thread(target=bdat))
[t.start() for t in ts]; [t.join() for t in ts]
print("done")
PYEOF
check "60 messages sent" grep -q '^done' "$T/clients.log"
stop_daemon
WRAP=()
out=$($PY - "$T/trace" <<'PYEOF'
import re, sys
renamed, synced_after, bad, good = {}, set(), [], 0
seq = 0
for line in open(sys.argv[1], errors="replace"):
    seq += 1
    if "= -1" in line:
        continue
    m = re.search(r'rename(?:at2?)?\(.*"\.([0-9A-Z]{16})\.smtp\.tmp".*"([0-9A-Z]{16})"', line)
    if m and m.group(1) == m.group(2):
        renamed[m.group(1)] = seq
        continue
    if "syncfs(" in line:
        for q, at in renamed.items():
            if at < seq:
                synced_after.add(q)
        continue
    m = re.search(r'(?:sendto|write)\(.*250 2\.0\.0 Ok: queued as ([0-9A-Z]{16})', line)
    if m:
        q = m.group(1)
        if q in renamed and q in synced_after:
            good += 1
        else:
            bad.append(q)
print("good %d bad %d %s" % (good, len(bad), " ".join(bad[:5])))
PYEOF
)
echo "# $out"
check "every 250 came after the rename into Work/ and a syncfs after it ($out)" \
	has '^good 60 bad 0' "$out"
finish
