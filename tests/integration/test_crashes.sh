#!/usr/bin/env bash
# 50 jobs, a third of them with a worker that segfaults and a third with one
# that aborts, each at a stage chosen per job. Nothing is lost: every job
# ends, each crash is failed at the right stage with the right signal, and
# every other job completes.
. "$(dirname "$0")/lib.sh"
start_reeld --slots 2
stages=(video_analysis audio_analysis motion_analysis style_extraction style_application rendering)
vid=$(fake_video src.mp4) || fail "upload"
declare -A want
jobs=()
for i in $(seq 1 50); do
	stage=${stages[$((RANDOM % 6))]}
	case $((i % 3)) in
	0) script="x-fake.$stage=segv"; want_msg="$stage worker killed by signal 11 (SIGSEGV)" ;;
	1) script="x-fake.$stage=abort"; want_msg="$stage worker killed by signal 6 (SIGABRT)" ;;
	*) script="x-n=$i"; want_msg="completed" ;;
	esac
	job=$(ctl submit --video "$vid" --config "$script" --config "x-i=$i") || fail "submit $i"
	jobs+=("$job")
	want[$job]="$stage|$want_msg"
done
for job in "${jobs[@]}"; do
	wait_terminal "$job"
done
lost=0
for job in "${jobs[@]}"; do
	st=$(ctl --json status "$job") || { lost=$((lost + 1)); continue; }
	IFS='|' read -r stage msg <<<"${want[$job]}"
	if [ "$msg" = completed ]; then
		expect_eq "$(jq -r .data.status <<<"$st")" completed "$job status"
		expect_eq "$(jq -r .data.progress_percent <<<"$st")" 100 "$job progress"
	else
		expect_eq "$(jq -r .data.status <<<"$st")" failed "$job status"
		expect_eq "$(jq -r .data.error.stage <<<"$st")" "$stage" "$job stage"
		expect_eq "$(jq -r .data.error.message <<<"$st")" "$msg" "$job message"
		expect_eq "$(jq -r .data.error.code <<<"$st")" WORKER_CRASHED "$job code"
	fi
done
expect_eq "$lost" 0 "lost jobs"
total=$(ctl --json list --page-size 100 | jq -r .data.total)
expect_eq "$total" 50 "jobs listed"
counters=$(stat_json | jq -c .counters)
expect_eq "$(jq -r '.completed + .failed' <<<"$counters")" 50 "table counters"
kill -0 "$REELD_PID" || fail "reeld died"
zombies=$(ps --ppid "$REELD_PID" -o stat= | grep -c Z)
expect_eq "$zombies" 0 "zombie workers"
expect_eq "$(worker_pids)" "" "workers left"
echo "50 jobs, 0 lost: $(jq -c . <<<"$counters")"
