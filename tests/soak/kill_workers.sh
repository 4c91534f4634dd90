#!/usr/bin/env bash
# Soak: N jobs (default 200) whose stage workers run for a while; a killer
# picks random running workers from the shared-memory table and kills
# them with -9. Every job must end; each job whose worker was killed must
# be failed at that stage with "killed by signal 9 (SIGKILL)", every
# other one completed; nothing lost, no zombie, no worker left.
# usage: BIN=build tests/soak/kill_workers.sh [N]
. "$(dirname "$0")/../integration/lib.sh"
N=${1:-200}
start_reeld --slots 4
vid=$(fake_video src.mp4) || fail "upload"
jobs=()
for i in $(seq "$N"); do
	jobs+=("$(ctl submit --video "$vid" --config x-fake=progress,sleep=100,done --config x-i=$i)") ||
		fail "submit $i"
done
declare -A killed
start=$(date +%s)
while :; do
	rows=$(stat_json | jq -r '.jobs[] | select(.status == "processing" and .worker_pid != null) | "\(.job_id) \(.stage) \(.worker_pid)"')
	active=$(ctl --json list --status queued --page-size 1 | jq .data.total)
	[ -z "$rows" ] && [ "$active" = 0 ] && break
	if [ -n "$rows" ] && [ $((RANDOM % 3)) -eq 0 ]; then
		read -r job stage pid <<<"$(shuf -n 1 <<<"$rows")"
		if [ -z "${killed[$job]:-}" ] && kill -KILL "$pid" 2>/dev/null; then
			killed[$job]=$stage
		fi
	fi
	sleep 0.05
	[ $(($(date +%s) - start)) -lt 1800 ] || fail "soak did not finish in 30 min"
done
lost=0 wrong=0 completed=0 failed=0
for job in "${jobs[@]}"; do
	wait_terminal "$job"
	st=$(ctl --json status "$job") || { lost=$((lost + 1)); continue; }
	status=$(jq -r .data.status <<<"$st")
	if [ -n "${killed[$job]:-}" ] && [ "$status" = failed ]; then
		failed=$((failed + 1))
		[ "$(jq -r .data.error.stage <<<"$st")" = "${killed[$job]}" ] &&
			jq -e '.data.error.message | endswith("killed by signal 9 (SIGKILL)")' <<<"$st" >/dev/null ||
			{ wrong=$((wrong + 1)); echo "wrong: $job: $(jq -c .data.error <<<"$st")"; }
	elif [ -n "${killed[$job]:-}" ]; then
		# The kill raced the worker's own exit: it had already finished.
		[ "$status" = completed ] || wrong=$((wrong + 1))
		completed=$((completed + 1))
	else
		[ "$status" = completed ] || { wrong=$((wrong + 1)); echo "wrong: $job $status"; }
		completed=$((completed + 1))
	fi
done
zombies=$(ps --ppid "$REELD_PID" -o stat= | grep -c Z)
echo "jobs $N, workers killed ${#killed[@]}, failed with SIGKILL $failed, completed $completed, lost $lost, wrong $wrong, zombies $zombies, workers left $(worker_pids | wc -l)"
[ "$lost" -eq 0 ] && [ "$wrong" -eq 0 ] && [ "$zombies" -eq 0 ] && [ -z "$(worker_pids)" ] || fail "soak failed"
