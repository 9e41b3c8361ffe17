#!/usr/bin/env bash
# Log forging through names: a Pickup file name holding a newline and a
# fake log line must not write a line of its own into the diagnostic log
# (stderr), the tracking log, or an Archive .reason file.
. "$(dirname "$0")/lib.sh"

write_conf
"$IMC_BIN/imc-layout" -c "$CONF" create >/dev/null || { not_ok "create"; finish; exit 1; }
P=$ROOT/Pickup
FORGED=$'\n2026-01-01T00:00:00.000Z imc-connector[error]: forged'

# An empty file is archived at claim time; a file without recipients is
# archived after parsing; a FIFO is left in Pickup and logged.
: > "$P/empty${FORGED} one.eml"
printf 'Subject: nobody\r\nFrom: a@example.com\r\n\r\nbody\r\n' > "$P/norcpt${FORGED} two.eml"
mkfifo "$P/fifo${FORGED} three.eml"

timeout 60 "$IMC_BIN/imc-connector" -c "$CONF" --once 2>"$T/once.log"
check "once run exits 0" test $? = 0

check "the three names were logged" test "$(grep -c 'imc-connector\[error\]: forged' "$T/once.log")" -ge 3
check "no log line starts with the forged text" bash -c "! grep -q '^2026-01-01T00:00:00.000Z' '$T/once.log'"
check "no log line starts with the forged tag" bash -c "! grep -q '^imc-connector\[error\]' '$T/once.log'"
check "every log line has a stamp and a tag" bash -c \
	"! grep -v -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z imc-connector\[(info|warning|debug|fatal)\]: ' '$T/once.log' | grep -q ."
check "the newline shows as \\n" grep -q 'empty\\n2026-01-01T00:00:00.000Z imc-connector\[error\]: forged one.eml' "$T/once.log"

n=$(ls "$ROOT"/Pickup/Archive/*.reason 2>/dev/null | wc -l)
check "two files archived" test "$n" = 2
for r in "$ROOT"/Pickup/Archive/*.reason; do
	[ -f "$r" ] || continue
	check "$(basename "$r"): four lines" test "$(wc -l < "$r")" = 4
	check "$(basename "$r"): one known field a line" bash -c \
		"! grep -v -E '^(reason|original-name|time|queue-id): ' '$r' | grep -q ."
	check "$(basename "$r"): name escaped" grep -q '^original-name: .*\\n2026-01-01T00:00:00.000Z imc-connector\[error\]: forged' "$r"
done

track=$(cat "$ROOT"/Log/*.log 2>/dev/null)
check "tracking log: every line is an event" bash -c \
	"! grep -v -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z event=' <<<\"\$1\" | grep -q ." _ "$track"
check "FIFO left in Pickup" test -p "$P/fifo${FORGED} three.eml"
finish
