#!/usr/bin/env bash
# Restart recovery from the journal. reeld is killed with -9 while one job
# is processing and others are queued: after a restart the queued jobs are
# still queued in order, the processing one resumes at its stage (the
# finished stages do not run again), the completed one still answers status
# and result, and every job ends exactly once with exactly one webhook
# event. Then: a torn journal tail is cut with a warning and loses nothing
# before it; old terminal jobs leave a full shared-memory table but stay
# queryable; past --retention-seconds they and their files are gone.
. "$(dirname "$0")/lib.sh"
start_receiver hooks
url=$URL

count_log() {
	grep -c -- "$1" "$T/reeld.log"
}

start_reeld --slots 1
vid=$(fake_video src.mp4) || fail "upload"
done_job=$(ctl submit --video "$vid" --webhook "$url" --config x-fake=done) || fail "submit"
wait_terminal "$done_job"
slow=progress,sleep=1500,done
run_job=$(ctl submit --video "$vid" --webhook "$url" \
	--config x-fake.video_analysis=done --config x-fake.audio_analysis=done \
	--config x-fake.motion_analysis=hang) || fail "submit"
q1=$(ctl submit --video "$vid" --webhook "$url" --config x-fake=$slow --config x-n=1) || fail "submit"
q2=$(ctl submit --video "$vid" --webhook "$url" --config x-fake=done --config x-n=2) || fail "submit"
for _ in $(seq 200); do
	[ "$(job_field "$run_job" .current_stage)" = motion_analysis ] && break
	sleep 0.05
done
expect_eq "$(job_field "$run_job" .current_stage)" motion_analysis "stage before the kill"
expect_eq "$(job_field "$q1" .status)" queued "q1 before the kill"
kill9_reeld

# The resumed job hangs again: cancel it, and the queue moves on.
start_reeld --slots 1
grep -q "$run_job resumes at motion_analysis" "$T/reeld.log" || fail "no resume line"
expect_eq "$(job_field "$done_job" .status)" completed "completed job after restart"
ctl result "$done_job" >/dev/null || fail "result of the completed job after restart"
expect_eq "$(job_field "$q2" .status)" queued "q2 after restart"
ctl cancel "$run_job" >/dev/null || fail "cancel the resumed job"
for j in "$q1" "$q2"; do
	wait_terminal "$j"
	expect_eq "$(job_field "$j" .status)" completed "$j after restart"
done
expect_eq "$(job_field "$run_job" .status)" cancelled "resumed job"
# Finished stages are checkpoints: video and audio analysis ran once.
expect_eq "$(count_log "$run_job video_analysis: worker pid")" 1 "video_analysis runs"
expect_eq "$(count_log "$run_job audio_analysis: worker pid")" 1 "audio_analysis runs"
expect_eq "$(count_log "$run_job motion_analysis: worker pid")" 2 "motion_analysis runs"
# q1 started only after the resumed job: nobody lost their place.
first_q1=$(grep -n "$q1 video_analysis: worker pid" "$T/reeld.log" | head -n 1 | cut -d: -f1)
resume=$(grep -n "$run_job motion_analysis: worker pid" "$T/reeld.log" | tail -n 1 | cut -d: -f1)
[ "$first_q1" -gt "$resume" ] || fail "q1 ran before the resumed job"
for j in "$done_job" "$run_job" "$q1" "$q2"; do
	n=$(grep -lE "^webhook-id: $j\.(completed|cancelled|failed)"$'\r' "$T/hooks"/*.req 2>/dev/null | wc -l)
	for _ in $(seq 100); do
		[ "$n" -ge 1 ] && break
		sleep 0.05
		n=$(grep -lE "^webhook-id: $j\." "$T/hooks"/*.req 2>/dev/null | wc -l)
	done
	expect_eq "$n" 1 "webhook events of $j"
	expect_eq "$(count_log "$j $(job_field "$j" .status)\$")" 1 "$j ended once"
done
echo "ok: kill -9 with 1 processing and 2 queued jobs: resumed, none lost, each ended once"

# The restart found the zeros reeld writes ahead of its records and cut
# them as no damage (docs/journal.md).
grep -q "journal: dropped [0-9]* bytes at offset [0-9]* (zero-filled tail)" "$T/reeld.log" ||
	fail "no zeros written ahead of the journal's records"

# A torn tail: half a record of garbage after the last valid one. Records
# are JSON and end in "}", so the zeros written ahead start after the last
# byte that is not zero.
kill9_reeld
size=$(($(grep -obUaP '[^\x00]' "$STATE/journal" | tail -n 1 | cut -d: -f1) + 1))
truncate -s "$size" "$STATE/journal"
printf '\x00\x00\x01\x00\x01garbage' >>"$STATE/journal"
start_reeld --slots 1
grep -q "journal: dropped 12 bytes at offset $size" "$T/reeld.log" ||
	fail "no warning about the torn tail"
for j in "$done_job" "$run_job" "$q1" "$q2"; do
	job_field "$j" .status >/dev/null || fail "$j lost after the torn tail"
done
expect_eq "$(job_field "$q2" .status)" completed "q2 after the torn tail"
echo "ok: torn tail cut, $(ctl --json list --page-size 100 | jq '.data.total') jobs kept"

# A full shared-memory table: the oldest terminal jobs leave it but still
# answer by id.
kill9_reeld
start_reeld --slots 2 --table-slots 8
for i in $(seq 8); do
	ctl submit --video "$vid" --config x-fake=done --config x-i=$i >/dev/null || fail "submit $i"
done
for _ in $(seq 200); do
	[ "$(ctl --json list --status completed --page-size 100 | jq '.data.total')" -ge 11 ] && break
	sleep 0.05
done
rows=$(stat_json | jq '[.jobs[]] | length')
[ "$rows" -le 8 ] || fail "$rows rows in an 8-slot table"
stat_json | jq -r '.jobs[].job_id' | grep -q "$done_job" && fail "oldest job still in the table"
expect_eq "$(job_field "$done_job" .status)" completed "evicted job by id"
echo "ok: 8-slot table shows $rows jobs; evicted jobs answer by id"

# Retention: terminal jobs older than it go, with their files.
kill9_reeld
[ -d "$STATE/jobs/$done_job" ] || fail "no job dir before retention"
start_reeld --retention-seconds 1
sleep 1.5
ctl status "$done_job" >/dev/null 2>&1 && fail "expired job still answers"
[ -d "$STATE/jobs/$done_job" ] && fail "expired job dir still there"
grep -q "$done_job expired after the retention" "$T/reeld.log" || fail "no expiry line"
kill9_reeld
start_reeld
ctl status "$done_job" >/dev/null 2>&1 && fail "expired job back after restart"
echo "ok: retention removed jobs and files, and they stay gone after a restart"

# A queued job whose video was removed while reeld was down fails with a
# reason when its turn comes; reeld goes on.
blocker=$(ctl submit --video "$vid" --config x-fake=hang --config x-i=blocker) || fail "submit"
vid2=$(fake_video other.mp4) || fail "upload"
orphan=$(ctl submit --video "$vid2" --config x-fake=done --config x-i=orphan) || fail "submit"
kill9_reeld
rm -rf "$STATE/videos/$vid2"
start_reeld --slots 1
ctl cancel "$blocker" >/dev/null || fail "cancel blocker"
wait_terminal "$orphan"
expect_eq "$(job_field "$orphan" .error.code)" VIDEO_NOT_FOUND "job of a removed video"
kill -0 "$REELD_PID" || fail "reeld died"
echo "ok: a job whose video vanished fails with VIDEO_NOT_FOUND"

# Compaction (at 16 KiB here, 4 MiB by default) keeps every job and event
# across a kill -9. It runs from the 250 ms heartbeat, so how many happen
# during one batch depends on timing: batches go on until two have.
compactions() { grep -c "journal compacted" "$T/reeld.log"; }
kill9_reeld
REEL_JOURNAL_COMPACT_BYTES=16384 start_reeld --slots 2
many=()
for round in 1 2 3 4; do
	batch=()
	for i in $(seq 30); do
		batch+=("$(ctl submit --video "$vid" --webhook "$url" --config x-fake=done --config x-c=$round.$i)") || fail "submit $round.$i"
	done
	for j in "${batch[@]}"; do wait_terminal "$j"; done
	many+=("${batch[@]}")
	for _ in $(seq 10); do
		[ "$(compactions)" -ge 2 ] && break 2
		sleep 0.1
	done
done
[ "$(compactions)" -ge 2 ] || fail "fewer than 2 compactions after ${#many[@]} jobs"
sleep 0.5
kill9_reeld
start_reeld
for j in "${many[@]}"; do
	expect_eq "$(job_field "$j" .status)" completed "$j after compaction and kill -9"
done
expect_eq "$(ctl --json status --webhooks "${many[-1]}" | jq -r '.data.webhooks[0].state')" delivered "event after compaction"
echo "ok: $(compactions) compactions, ${#many[@]} jobs and their events kept across a kill -9"
