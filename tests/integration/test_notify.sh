#!/usr/bin/env bash
# Under systemd (Type=notify) reeld sends READY=1 once it serves: the
# socket accepts clients by the time the notification arrives. The unit
# file declares Type=notify.
. "$(dirname "$0")/lib.sh"
grep -q '^Type=notify' systemd/reeld.service || fail "unit is not Type=notify"
"$BIN/tests/notifylisten" "$T/notify" 5000 >"$T/notes" &
listener=$!
for _ in $(seq 50); do [ -S "$T/notify" ] && break; sleep 0.02; done
NOTIFY_SOCKET=$T/notify start_reeld
wait "$listener" || fail "no READY=1: $(cat "$T/notes")"
grep -qx 'READY=1' "$T/notes" || fail "notes: $(cat "$T/notes")"
ctl list >/dev/null || fail "not serving after READY=1"
echo ok
