# lib_dovecot.sh - a private Dovecot (Debian's dovecot-core, dovecot-lmtpd,
# dovecot-imapd) for the integration tests, sourced after lib.sh (and
# lib_smtp.sh when a test uses both). Its whole config lives in $T/dovecot:
# base_dir, logs, a passwd-file of test users, their Maildirs (mail_save_crlf
# = no, as shipped), LMTP on a random loopback TCP port and on a unix socket,
# IMAP on another random loopback port for reading mail back, and the quota
# plugin: the user "full" has a 1-byte quota, "tempfull" the same with
# quota_full_tempfail (452 instead of 552). No system service is touched:
# dovecot runs in the foreground under this shell and is stopped by PID.
#
# Users (password "pw"): alice, bob, carol, full, tempfull (DC_USERS). Mail is stored
# as the test account imcother, never as root.

need dovecot doveadm
DC=$T/dovecot
DOVECOT_PID=
DC_LMTP_PORT=
DC_IMAP_PORT=
DC_LMTP_SOCK=$DC/lmtp.sock
DC_USERS=${DC_USERS:-alice bob carol full tempfull}
DC_QUOTA=${DC_QUOTA:-1}	# 0: no quota plugin (tools/bench/lmtp.sh)
DC_EXTRA=${DC_EXTRA:-}	# more dovecot.conf lines (tools/bench/lmtp.sh)
DC_TLS=${DC_TLS:-0}	# 1: ssl = yes with a self-signed certificate for
			# store.test (dc_make_cert), so LMTP offers STARTTLS

dovecot_stop() {
	[ -n "$DOVECOT_PID" ] || return 0
	kill -TERM "$DOVECOT_PID" 2>/dev/null
	local i
	for i in $(seq 1 100); do
		kill -0 "$DOVECOT_PID" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$DOVECOT_PID" 2>/dev/null && kill -KILL "$DOVECOT_PID" 2>/dev/null
	wait "$DOVECOT_PID" 2>/dev/null
	DOVECOT_PID=
}

dovecot_cleanup() {
	dovecot_stop
	if declare -F smtp_cleanup >/dev/null; then smtp_cleanup; else cleanup; fi
}
trap dovecot_cleanup EXIT

# dc_free_port - a loopback TCP port nothing listens on now
dc_free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# dovecot_conf - write $DC/dovecot.conf and the users file
dovecot_conf() {
	local uid gid u q
	uid=$(id -u imcother 2>/dev/null) ||
		skip_all "needs the imcother account (tools/install-deps.sh makes it)"
	gid=$(id -g imcother)
	mkdir -p "$DC/home"
	chown imcother: "$DC/home"
	# a start again keeps the users as a test changed them
	if [ ! -f "$DC/users" ]; then
		for u in $DC_USERS; do
			case $u in
			full|tempfull) q="userdb_quota_rule=*:storage=1B" ;;
			*) q= ;;
			esac
			echo "$u:{PLAIN}pw:$uid:$gid::$DC/home/$u::$q"
		done > "$DC/users"
		# tempfull: quota_full_tempfail for that user only (452, not 552)
		sed -i "s|^\(tempfull:.*\)$|\1 userdb_quota_full_tempfail=yes|" "$DC/users"
	fi
	cat > "$DC/dovecot.conf" <<CONF
base_dir = $DC/run
state_dir = $DC/state
log_path = $DC/dovecot.log
info_log_path = $DC/dovecot.log
instance_name = imc-test-$$
listen = 127.0.0.1
protocols = lmtp imap
ssl = $( [ "$DC_TLS" = 1 ] && echo yes || echo no )
$( [ "$DC_TLS" = 1 ] && printf 'ssl_cert = <%s\nssl_key = <%s\n' "$DC/cert.pem" "$DC/key.pem" )
disable_plaintext_auth = no
auth_mechanisms = plain
# recipients are user@domain; the users file knows the local part
auth_username_format = %Ln
first_valid_uid = $uid
last_valid_uid = $uid
first_valid_gid = $gid
last_valid_gid = $gid
mail_location = maildir:~/Maildir
postmaster_address = postmaster@example.com
hostname = store.test
mail_plugins = $( [ "$DC_QUOTA" = 1 ] && echo quota )
lmtp_rcpt_check_quota = no
passdb {
  driver = passwd-file
  args = scheme=PLAIN $DC/users
}
userdb {
  driver = passwd-file
  args = $DC/users
}
plugin {
  quota = maildir:User quota
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $DC_LMTP_PORT
  }
  unix_listener $DC_LMTP_SOCK {
    mode = 0666
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $DC_IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
$DC_EXTRA
service anvil {
  chroot =
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
CONF
}

# dovecot_start - start (or start again, same ports) the private Dovecot;
# returns once LMTP answers on TCP and on the socket
dovecot_start() {
	[ -n "$DC_LMTP_PORT" ] || DC_LMTP_PORT=$(dc_free_port)
	[ -n "$DC_IMAP_PORT" ] || DC_IMAP_PORT=$(dc_free_port)
	mkdir -p "$DC"
	chmod 755 "$DC"
	[ "$DC_TLS" != 1 ] || [ -f "$DC/cert.pem" ] || dc_make_cert ||
		{ echo "cannot make a certificate" >&2; return 1; }
	dovecot_conf
	dovecot -F -c "$DC/dovecot.conf" >>"$DC/stderr.log" 2>&1 &
	DOVECOT_PID=$!
	local i
	for i in $(seq 1 100); do
		if dc_lmtp_answers; then return 0; fi
		kill -0 "$DOVECOT_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "dovecot did not start:" >&2
	cat "$DC/stderr.log" "$DC/dovecot.log" >&2 2>/dev/null
	return 1
}

# dc_set_quota USER SIZE - the quota of full or tempfull becomes SIZE (1B:
# full, 100M: room), and Dovecot reads its users again. The rule is changed,
# never removed: without one, the maildir backend keeps the limit its
# maildirsize file remembers.
dc_set_quota() {
	sed -i "/^$1:/s|userdb_quota_rule=[^ ]*|userdb_quota_rule=*:storage=$2|" "$DC/users"
	doveadm -c "$DC/dovecot.conf" reload >/dev/null 2>&1
}

# dc_make_cert - a self-signed certificate for store.test (openssl)
dc_make_cert() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=store.test \
		-addext subjectAltName=DNS:store.test -keyout "$DC/key.pem" \
		-out "$DC/cert.pem" >/dev/null 2>&1
}

# dc_lmtp_answers - a 220 on the TCP port and on the socket
dc_lmtp_answers() {
	/usr/bin/python3 - "$DC_LMTP_PORT" "$DC_LMTP_SOCK" <<'PY' 2>/dev/null
import socket, sys
for fam, addr in ((socket.AF_INET, ("127.0.0.1", int(sys.argv[1]))),
                  (socket.AF_UNIX, sys.argv[2])):
    s = socket.socket(fam)
    s.settimeout(2)
    s.connect(addr)
    if not s.recv(512).startswith(b"220"):
        sys.exit(1)
    s.sendall(b"QUIT\r\n")
    s.close()
PY
}

# dc_fetch USER N - message N (1 = oldest) of USER's INBOX, as Dovecot's
# IMAP server gives it (BODY.PEEK[], CRLF line ends), on stdout
dc_fetch() {
	/usr/bin/python3 - "$DC_IMAP_PORT" "$1" "$2" <<'PY'
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]), timeout=10)
m.login(sys.argv[2], "pw")
m.select("INBOX", readonly=True)
typ, data = m.fetch(sys.argv[3], "(BODY.PEEK[])")
if typ != "OK" or not data or data[0] is None:
    sys.exit(1)
sys.stdout.buffer.write(data[0][1])
m.logout()
PY
}

# dc_count USER - messages in USER's INBOX (through doveadm)
dc_count() {
	doveadm -c "$DC/dovecot.conf" -f flow mailbox status -u "$1" messages \
		INBOX 2>/dev/null | sed -n 's/.*messages=\([0-9]*\).*/\1/p'
}

# dc_has USER N - exactly N messages (for wait_for)
dc_has() {
	[ "$(dc_count "$1")" = "$2" ]
}

# dc_strip_trace FILE - the message without the stores' own trace fields
# (Return-Path, Delivered-To, Dovecot's "Received: ... with LMTP"), line
# ends as CRLF (IMAP always gives CRLF; a Maildir file may hold LF), so a
# copy read back from Dovecot compares with the built-in store's
dc_strip_trace() {
	/usr/bin/python3 - "$1" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read().replace(b"\r\n", b"\n")
head, sep, body = data.partition(b"\n\n")
fields = re.split(rb"\n(?![ \t])", head)
keep = [f for f in fields
        if not re.match(rb"(?i)(return-path|delivered-to):", f)
        and not (re.match(rb"(?i)received:", f) and b"with LMTP" in f)]
out = b"\n".join(keep) + sep + body
sys.stdout.buffer.write(out.replace(b"\n", b"\r\n"))
PY
}

# dc_section_last SECTION - write_conf puts the global keys first; move the
# two lines "SECTION" and its one key after every other line of $CONF
dc_section_last() {
	/usr/bin/python3 - "$CONF" "$1" <<'PY'
import sys
p, name = sys.argv[1], sys.argv[2]
lines = open(p).read().splitlines()
i = lines.index(name)
sect, rest = lines[i:i + 2], lines[i + 2:]
open(p, "w").write("\n".join(lines[:i] + rest + sect) + "\n")
PY
}
