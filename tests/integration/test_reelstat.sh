#!/usr/bin/env bash
# reelstat reads the table without the socket, shows live jobs, and when
# reeld is stopped (SIGSTOP) it reports the heartbeat as stale, exit 2.
. "$(dirname "$0")/lib.sh"
start_reeld --slots 1
vid=$(fake_video src.mp4) || fail "upload"
job=$(ctl submit --video "$vid" --config x-fake.audio_analysis=hang)
for _ in $(seq 50); do
	[ "$(job_field "$job" .current_stage)" = audio_analysis ] && break
	sleep 0.1
done
js=$(stat_json) || fail "reelstat exit $?"
expect_eq "$(jq -r .reeld.stale <<<"$js")" false "live table stale"
expect_eq "$(jq -r ".jobs[] | select(.job_id == \"$job\") | .status" <<<"$js")" processing "job in table"
expect_eq "$(jq -r ".jobs[] | select(.job_id == \"$job\") | .stage" <<<"$js")" audio_analysis "stage in table"
wpid=$(jq -r ".jobs[] | select(.job_id == \"$job\") | .worker_pid" <<<"$js")
expect_eq "$wpid" "$(worker_pids)" "worker pid in table"
"$BIN/reelstat" --runtime-dir "$RUN" >"$T/plain" || fail "plain reelstat"
grep -q "$job" "$T/plain" || fail "plain table lacks the job"

kill -STOP "$REELD_PID"
sleep 3.5
"$BIN/reelstat" --runtime-dir "$RUN" >"$T/stale" 2>&1; rc=$?
expect_eq "$rc" 2 "reelstat exit while stopped"
grep -qi "not responding\|stale" "$T/stale" || fail "no staleness warning: $(cat "$T/stale")"
js=$(stat_json); expect_eq "$(jq -r .reeld.stale <<<"$js")" true "json stale"
expect_eq "$(jq -r ".jobs[] | select(.job_id == \"$job\") | .status" <<<"$js")" processing "last state shown"
kill -CONT "$REELD_PID"
sleep 0.6
stat_json >/dev/null || fail "reelstat after SIGCONT exit $?"
ctl cancel "$job" >/dev/null
echo ok
