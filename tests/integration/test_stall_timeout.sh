#!/usr/bin/env bash
# A silent worker is detected as stalled, a job over --job-timeout fails
# with JOB_TIMEOUT, a worker sending garbage fails its job with a clear
# cause, a worker that exits 0 without a result fails, and reeld serves on.
. "$(dirname "$0")/lib.sh"
start_reeld --slots 3 --stage-stall-seconds 1 --job-timeout 3
vid=$(fake_video src.mp4) || fail "upload"

stall=$(ctl submit --video "$vid" --config x-fake.audio_analysis=hang)
garbage=$(ctl submit --video "$vid" --config x-fake.motion_analysis=garbage)
noresult=$(ctl submit --video "$vid" --config x-fake.rendering=exit=0)
for j in "$stall" "$garbage" "$noresult"; do wait_terminal "$j"; done

expect_eq "$(job_field "$stall" .status)" failed "stall status"
expect_eq "$(job_field "$stall" .error.stage)" audio_analysis "stall stage"
expect_eq "$(job_field "$stall" .error.code)" WORKER_STALLED "stall code"
job_field "$stall" .error.message | grep -q "stalled: no message for 1 s" ||
	fail "stall message: $(job_field "$stall" .error.message)"

expect_eq "$(job_field "$garbage" .error.stage)" motion_analysis "garbage stage"
expect_eq "$(job_field "$garbage" .error.code)" PROTOCOL_ERROR "garbage code"
job_field "$garbage" .error.message | grep -q "malformed message" ||
	fail "garbage message: $(job_field "$garbage" .error.message)"

expect_eq "$(job_field "$noresult" .error.stage)" rendering "no-result stage"
expect_eq "$(job_field "$noresult" .error.message)" \
	"rendering worker exited without a result" "no-result message"

# The job timeout: progress keeps the stall timer quiet, the job timer fires.
slow=$(ctl submit --video "$vid" --config x-fake.video_analysis=progress,sleep=900,progress,sleep=900,progress,sleep=900,progress,done)
wait_terminal "$slow"
expect_eq "$(job_field "$slow" .status)" failed "timeout status"
expect_eq "$(job_field "$slow" .error.code)" JOB_TIMEOUT "timeout code"
expect_eq "$(job_field "$slow" .error.stage)" video_analysis "timeout stage"

ok=$(ctl submit --video "$vid" --config x-n=1)
wait_terminal "$ok"
expect_eq "$(job_field "$ok" .status)" completed "reeld still serves"
expect_eq "$(worker_pids)" "" "workers left"
echo ok
