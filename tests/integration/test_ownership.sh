#!/usr/bin/env bash
# Clients are identified with SO_PEERCRED: an unprivileged client sees,
# lists and cancels only its own jobs (another user's job answers
# JOB_NOT_FOUND), while root sees everything; a member of --admin-group
# sees everything too, and owners survive a restart (they are journaled).
# Needs root to act as user nobody; without it the test says so and passes.
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" -ne 0 ] || ! id nobody >/dev/null 2>&1; then
	echo "skip: needs root and a user nobody"
	exit 0
fi
NOBODY_GROUP=$(id -gn nobody)

# The test opens the socket to everyone; production keeps it 0660.
open_socket() {
	chmod 0755 "$T" "$RUN"
	chmod 0666 "$SOCK"
}
as_nobody() {
	setpriv --reuid=nobody --regid="$NOBODY_GROUP" --clear-groups \
		"$BIN/reelctl" --socket "$SOCK" "$@"
}

start_reeld --slots 1
open_socket
vid=$(fake_video src.mp4) || fail "upload"
root_job=$(ctl submit --video "$vid" --config x-fake=hang) || fail "root submit"
their_job=$(as_nobody submit --video "$vid" --config x-fake=done --config x-who=nobody) ||
	fail "nobody submit"

out=$(as_nobody status "$root_job" 2>&1) && fail "nobody sees root's job"
grep -q JOB_NOT_FOUND <<<"$out" || fail "status of another's job: $out"
out=$(as_nobody cancel "$root_job" 2>&1) && fail "nobody cancelled root's job"
grep -q JOB_NOT_FOUND <<<"$out" || fail "cancel of another's job: $out"
expect_eq "$(job_field "$root_job" .status)" processing "root's job after nobody's cancel"
expect_eq "$(as_nobody --json list | jq -r '[.data.jobs[].job_id] | join(",")')" "$their_job" "nobody's list"
expect_eq "$(as_nobody --json status "$their_job" | jq -r .data.job_id)" "$their_job" "nobody's own job"
expect_eq "$(ctl --json list | jq '.data.total')" 2 "root's list"
expect_eq "$(job_field "$their_job" .job_id)" "$their_job" "root sees nobody's job"
echo "ok: nobody sees 1 of 2 jobs and cannot cancel root's; root sees both"

ctl cancel "$root_job" >/dev/null || fail "root cancel"
kill -TERM "$REELD_PID"
wait "$REELD_PID"
REELD_PID=
start_reeld --admin-group "$NOBODY_GROUP"
open_socket
expect_eq "$(as_nobody --json list | jq '.data.total')" 2 "admin group member's list"
expect_eq "$(as_nobody --json status "$root_job" | jq -r .data.status)" cancelled "admin sees root's job"
echo "ok: --admin-group $NOBODY_GROUP sees every job after a restart"
