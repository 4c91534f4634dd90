#!/usr/bin/env bash
# A full disk: with the state dir on a 1 MiB tmpfs that is then filled,
# a submission is refused with STORAGE_FULL and a clear message, nothing
# acknowledged is lost or corrupted, and once space is back reeld catches
# up and accepts jobs again, also across a kill -9. Needs root for mount;
# without it the test says so and passes (CI runs as root).
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" -ne 0 ] || ! mkdir -p "$STATE" ||
	! mount -t tmpfs -o size=1m,mode=0750 reel-test "$STATE" 2>/dev/null; then
	echo "skip: cannot mount a tmpfs here (needs root)"
	exit 0
fi
trap 'cleanup_storage' EXIT
cleanup_storage() {
	if [ -n "$REELD_PID" ]; then
		kill -KILL "$REELD_PID" 2>/dev/null
		wait "$REELD_PID" 2>/dev/null
		REELD_PID=
	fi
	umount "$STATE" 2>/dev/null
	cleanup
}

start_reeld --slots 2
vid=$(fake_video src.mp4) || fail "upload"
acked=()
for i in 1 2 3; do
	acked+=("$(ctl submit --video "$vid" --config x-fake=done --config x-i=$i)") || fail "submit $i"
done
for j in "${acked[@]}"; do wait_terminal "$j"; done

# The journal's last page may still have room: submit until refused.
dd if=/dev/zero of="$STATE/filler" bs=4k 2>/dev/null
rc=0
for i in $(seq 40); do
	out=$(ctl submit --video "$vid" --config x-fake=hang --config x-i=full$i 2>&1)
	rc=$?
	[ "$rc" -ne 0 ] && break
	acked+=("$out")
done
expect_eq "$rc" 1 "submit on a full disk"
grep -q "STORAGE_FULL" <<<"$out" || fail "no STORAGE_FULL: $out"
grep -q "No space left on device" <<<"$out" || fail "no clear reason: $out"
echo "ok: full disk refused: $out"
for j in "${acked[@]}"; do
	job_field "$j" .status >/dev/null || fail "$j lost on a full disk"
done

rm -f "$STATE/filler"
for j in "${acked[@]:3}"; do ctl cancel "$j" >/dev/null; done
late=$(ctl submit --video "$vid" --config x-fake=done --config x-i=late) || fail "submit after space came back"
wait_terminal "$late"
grep -q "journal: caught up" "$T/reeld.log" || fail "no catch-up line"
acked+=("$late")

kill -KILL "$REELD_PID"
wait "$REELD_PID" 2>/dev/null
REELD_PID=
start_reeld --slots 2
for j in "${acked[@]}"; do
	st=$(job_field "$j" .status)
	[ -n "$st" ] && [ "$st" != null ] || fail "$j lost after kill -9"
done
expect_eq "$(ctl --json list --page-size 100 | jq '.data.total')" "${#acked[@]}" "jobs after restart"
echo "ok: ${#acked[@]} acknowledged jobs kept across a full disk and a kill -9"
