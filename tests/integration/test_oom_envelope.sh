#!/usr/bin/env bash
# test_oom_envelope.sh - running out of memory while an envelope is loaded
# is fatal, never "corrupt" (issue 8 item 4): a valid Out/ entry whose
# <qid>.env is being read when an allocation fails must not go to Badmail.
# The connector exits 71 (EX_OSERR) with one "out of memory" line, the
# entry stays as it was, and the next run delivers it.
#
# The failure comes from tests/integration/failalloc.c (libfailalloc.so,
# LD_PRELOAD): the first openat() of a name ending in ".env" arms it, and
# the allocation after FAILALLOC_SKIP more fails. At start-up the
# connector reads every Out/ envelope (outq_load -> qenv_load): skip 0
# hits the buffer the file is read into, skip 1 the first field decoded
# (qenv_unescape of "origname"). Both used to read as a corrupt file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"

SHIM=${IMC_FAILALLOC:-$IMC_BIN/../tests/libfailalloc.so}
[ -f "$SHIM" ] || skip_all "no $SHIM (built with the tests: cmake --build)"
# gcc's ASan (the IMC_SANITIZE build) is a shared library the shim comes
# before, so it works there. clang links its sanitizer runtime into the
# program, whose own malloc then wins over any LD_PRELOAD: nothing could
# fail, so such a build is skipped, by name.
need nm
if nm -D --defined-only "$IMC_BIN/imc-connector" 2>/dev/null |
	awk '$3 == "malloc" { f = 1 } END { exit !f }'; then
	skip_all "imc-connector defines malloc itself (clang's static sanitizer runtime): an LD_PRELOAD shim cannot replace it"
fi

write_conf "tls = none" "retry_schedule = 1s"
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null ||
	abort_test "imc-layout create"

# 1. An entry deferred in Out/: the configured smarthost refuses.
drop m1.eml 'From: alice@example.com\r\nTo: bob@remote.test\r\nSubject: oom\r\n\r\nbody\r\n'
run_once
qid=$(entry_qids "$ROOT/Out" | head -1)
[ -n "$qid" ] || abort_test "an entry deferred in Out"
# This test reads the envelope from <qid>.env, the form it takes where the
# file system has no user attributes (the shim arms on opening a .env).
env_to_file "$ROOT/Out" "$qid"
env_file=$ROOT/Out/$qid.env
check "deferred in Out/ with its .eml" test -f "$ROOT/Out/$qid.eml"
cp "$env_file" "$T/before.env"
cp "$ROOT/Out/$qid.eml" "$T/before.eml"

# oom_run SKIP - one run with the allocation after SKIP more failing once
# the first .env is opened. Under ASan (gcc: libasan is a shared library
# the shim comes before) the link-order check is off, and so is the leak
# check: an exit on the way out of memory leaves in-flight memory behind
# by design.
oom_run() {
	WRAP=(env LD_PRELOAD="$SHIM" FAILALLOC_OPEN_SUFFIX=.env
		FAILALLOC_SKIP="$1"
		ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0:detect_leaks=0")
	expect_exit 71 "skip $1: the connector exits 71 (EX_OSERR)" \
		oom.log -c "$CONF" --once
	WRAP=()
	check "skip $1: says out of memory" has 'fatal\]: out of memory' "$OUT"
	check "skip $1: the entry is not quarantined" lacks 'Badmail\|corrupt\|malformed\|cannot read' "$OUT"
	check "skip $1: Badmail is empty" test "$(count_files "$ROOT/Badmail")" = 0
	check "skip $1: the .env is as it was" cmp -s "$T/before.env" "$ROOT/Out/$qid.env"
	check "skip $1: the .eml is as it was" cmp -s "$T/before.eml" "$ROOT/Out/$qid.eml"
	# each case on its own: an entry lost above (to Badmail) is put
	# back, so the next case and the delivery still test something
	if [ "$(count_files "$ROOT/Badmail")" != 0 ] ||
		! cmp -s "$T/before.env" "$ROOT/Out/$qid.env"; then
		find "$ROOT/Badmail" -maxdepth 1 -type f -delete
		cp "$T/before.env" "$ROOT/Out/$qid.env"
		cp "$T/before.eml" "$ROOT/Out/$qid.eml"
		svc_own "$ROOT/Out/$qid.env" "$ROOT/Out/$qid.eml"
	fi
}

oom_run 1	# qenv_unescape of the first field ("origname")
oom_run 0	# the buffer qenv_load reads the file into

# 2. The next run, with memory, delivers it to a working peer.
P=$(free_port)
start_peer ok 127.0.0.2:"$P" || abort_test "peer starts"
write_conf "tls = none" "retry_schedule = 1s" "smarthost = [127.0.0.2]:$P"
# the failed try above set the next one 1 s later
sleep 1.2
run_once
check "delivered by the next run" peer_has ok 1
check "Out/ is empty" test "$(count_files "$ROOT/Out")" = 0
check "Badmail is still empty" test "$(count_files "$ROOT/Badmail")" = 0
check "the tracking log says delivered" grep -q "event=delivered .*qid=$qid\|qid=$qid .*event=delivered" "$ROOT"/Log/[0-9]*.log

finish
