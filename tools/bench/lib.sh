# tools/bench/lib.sh - what tools/bench.sh and its parts (tools/bench/*.sh)
# share, sourced by each: the log lines (tagged with BENCH_TAG, the part's
# name), stopping a process by PID, a free port on a loopback address.
# (Postfix's fastest injection over SMTP: tools/bench/smtp_inject.py.)

log() { printf '[bench %(%H:%M:%S)T] %s%s\n' -1 "${BENCH_TAG:+$BENCH_TAG: }" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now_ns() { date +%s%N; }

# stop PID - SIGTERM, a bounded wait (30 s), then SIGKILL
stop() {
	local pid=$1 i
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# port_on ADDR - a port free on that loopback address now
port_on() { $PY -c "import socket; s=socket.socket(); s.bind(('$1',0)); print(s.getsockname()[1])"; }
