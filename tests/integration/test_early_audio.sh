#!/usr/bin/env bash
# audio_analysis runs beside video_analysis (docs/jobs.md, "Stages"), and
# that changes only a job's time: a failure still names the stage it
# would have named in order, progress stays in the current stage, and no
# worker outlives its job.
. "$(dirname "$0")/lib.sh"
start_reeld --slots 1
vid=$(fake_video src.mp4) || fail "upload"

# Both workers at once; audio's crash waits for video_analysis to finish.
job=$(ctl submit --video "$vid" --config x-fake.video_analysis=sleep=1500,done \
	--config x-fake.audio_analysis=segv) || fail "submit"
for _ in $(seq 1 100); do
	grep -q "$job audio_analysis: worker ended early" "$T/reeld.log" && break
	sleep 0.05
done
grep -q "$job audio_analysis: worker ended early" "$T/reeld.log" || fail "audio did not run early"
expect_eq "$(job_field "$job" .status)" processing "status after the early crash"
expect_eq "$(job_field "$job" .current_stage)" video_analysis "stage after the early crash"
wait_terminal "$job"
expect_eq "$(job_field "$job" .error.stage)" audio_analysis "early crash stage"
expect_eq "$(job_field "$job" .error.message)" \
	"audio_analysis worker killed by signal 11 (SIGSEGV)" "early crash message"
grep -q "$job video_analysis: done" "$T/reeld.log" || fail "video_analysis did not finish"

# video_analysis fails first: the job fails there and the audio worker goes.
job=$(ctl submit --video "$vid" --config x-fake.video_analysis=sleep=300,segv \
	--config x-fake.audio_analysis=hang) || fail "submit"
wait_terminal "$job"
expect_eq "$(job_field "$job" .error.stage)" video_analysis "video failure stage"
for _ in $(seq 1 60); do
	[ -z "$(worker_pids)" ] && break
	sleep 0.05
done
expect_eq "$(worker_pids)" "" "workers left after the video failure"

# audio_analysis outlasts video_analysis: the job waits in its stage.
job=$(ctl submit --video "$vid" --config x-fake.audio_analysis=progress,sleep=1200,done) ||
	fail "submit"
for _ in $(seq 1 100); do
	[ "$(job_field "$job" .current_stage)" = audio_analysis ] && break
	sleep 0.05
done
expect_eq "$(job_field "$job" .current_stage)" audio_analysis "waiting stage"
wait_terminal "$job"
expect_eq "$(job_field "$job" .status)" completed "slow audio status"
expect_eq "$(grep -c "$job audio_analysis: worker pid" "$T/reeld.log")" 1 "audio workers"
wall=$(job_field "$job" '.stats.stages.audio_analysis.wall_seconds')
awk -v w="$wall" 'BEGIN { exit !(w >= 1.2) }' || fail "audio wall time $wall"
expect_eq "$(worker_pids)" "" "workers left"
echo ok
