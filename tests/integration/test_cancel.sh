#!/usr/bin/env bash
# Cancel: a queued job at once; a processing job within 3 s with its whole
# worker group gone (a worker that ignores SIGTERM is killed after 2 s);
# a terminal job is an error. SIGTERM to reeld leaves no worker and no zombie.
. "$(dirname "$0")/lib.sh"
start_reeld --slots 1
vid=$(fake_video src.mp4) || fail "upload"

running=$(ctl submit --video "$vid" --config x-fake.video_analysis=hang)
queued=$(ctl submit --video "$vid" --config x-n=2)
for _ in $(seq 50); do
	[ "$(job_field "$running" .status)" = processing ] && [ -n "$(worker_pids)" ] && break
	sleep 0.1
done
pids=$(worker_pids)
[ -n "$pids" ] || fail "no worker running"
expect_eq "$(job_field "$queued" .status)" queued "second job queued"

out=$(ctl --json cancel "$queued")
expect_eq "$(jq -r .data.status <<<"$out")" cancelled "queued cancel"
expect_eq "$(jq -r .data.progress_percent <<<"$out")" 0 "queued cancel progress"

start=$(date +%s%N)
ctl cancel "$running" >/dev/null || fail "cancel running"
expect_eq "$(job_field "$running" .status)" cancelled "running cancel"
while [ -n "$(worker_pids)" ]; do
	[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 3000 ] || fail "worker outlived 3 s"
	sleep 0.05
done
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_gone $pids
expect_eq "$(job_field "$running" .current_stage)" null "stage after cancel"
out=$(ctl --json cancel "$running")
expect_eq "$(jq -r .error.code <<<"$out")" JOB_ALREADY_TERMINAL "cancel again"
echo "cancel of a running job took $ms ms"

# A worker that ignores SIGTERM is killed 2 s later, and the cancel
# still completes within 3 s.
stubborn=$(ctl submit --video "$vid" --config x-fake.video_analysis=ignoreterm,hang)
for _ in $(seq 50); do [ -n "$(worker_pids)" ] && break; sleep 0.1; done
pids=$(worker_pids)
start=$(date +%s%N)
ctl cancel "$stubborn" >/dev/null || fail "cancel stubborn"
while [ -n "$(worker_pids)" ]; do
	[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 3000 ] || fail "stubborn worker outlived 3 s"
	sleep 0.05
done
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -ge 1900 ] || fail "stubborn worker gone after $ms ms: SIGTERM was not ignored?"
expect_gone $pids
echo "cancel of a worker ignoring SIGTERM took $ms ms"

# SIGTERM to reeld stops every worker and reeld exits.
ctl submit --video "$vid" --config x-fake.audio_analysis=hang --config x-n=3 >/dev/null
for _ in $(seq 50); do [ -n "$(worker_pids)" ] && break; sleep 0.1; done
pids=$(worker_pids)
[ -n "$pids" ] || fail "no worker for shutdown"
kill -TERM "$REELD_PID"
for _ in $(seq 60); do kill -0 "$REELD_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$REELD_PID" 2>/dev/null && fail "reeld did not exit on SIGTERM"
wait "$REELD_PID" 2>/dev/null
expect_gone $pids
[ ! -S "$SOCK" ] || fail "socket left behind"
REELD_PID=
echo ok
