#!/usr/bin/env bash
# Webhooks: a completed, a failed and a cancelled job each reach their
# receiver exactly once with the documented body and headers; a receiver
# that fails the first 3 requests gets the event on the 4th with the same
# webhook-id; a receiver that is down when the job ends gets the event once
# it comes up; a receiver that never answers 2xx is given up after
# --webhook-max-age; a job without --webhook sends nothing; at shutdown a
# running job is not failed and pending events stay in the journal: after a
# restart the job resumes at its stage and the pending event is attempted
# again under the same webhook-id; reeld exits 0 (no sanitizer report).
. "$(dirname "$0")/lib.sh"
# KEEP_LOG=FILE keeps a copy of reeld's log.
trap '[ -z "${KEEP_LOG:-}" ] || cp "$T/reeld.log" "$KEEP_LOG"; cleanup' EXIT

replies() {
	if [ -f "$T/$1/replies" ]; then wc -l <"$T/$1/replies"; else echo 0; fi
}

# wait_replies NAME N: until NAME has answered N requests (10 s at most).
wait_replies() {
	for _ in $(seq 200); do
		[ "$(replies "$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	fail "receiver $1: $(replies "$1") requests, expected $2"
}

wait_log() {
	for _ in $(seq 200); do
		grep -qF "$1" "$T/reeld.log" && return 0
		sleep 0.05
	done
	fail "no '$1' in the reeld log"
}

header() {
	grep -i "^$2:" "$1" | head -n 1 | tr -d '\r' | sed 's/^[^:]*: *//'
}

body() {
	awk 'b { print } /^\r$/ { b = 1 }' "$1"
}

# req_for NAME ID: sets REQ to the request file of NAME carrying webhook-id
# ID; exactly one must exist.
req_for() {
	# A delivery lands a moment after the job ends: wait for it.
	for _ in $(seq 100); do
		REQ=$(grep -lix "webhook-id: $2"$'\r' "$T/$1"/*.req 2>/dev/null)
		[ -n "$REQ" ] && break
		sleep 0.05
	done
	[ -n "$REQ" ] && [ "$(wc -l <<<"$REQ")" -eq 1 ] ||
		fail "receiver $1: requests with webhook-id $2: '${REQ//$'\n'/ }'"
}

# check_request FILE JOB STATUS: the documented request line, headers and
# body; sets LAST_BODY.
check_request() {
	local f=$1 b now ts
	expect_eq "$(head -n 1 "$f" | tr -d '\r')" "POST /hook HTTP/1.1" "$2 request line"
	expect_eq "$(header "$f" content-type)" application/json "$2 content type"
	expect_eq "$(header "$f" user-agent)" reel/1 "$2 user agent"
	ts=$(header "$f" webhook-timestamp)
	now=$(date +%s)
	[[ $ts =~ ^[0-9]+$ ]] && [ $((now - ts)) -lt 60 ] && [ $((ts - now)) -lt 5 ] ||
		fail "$2: webhook-timestamp '$ts' (now $now)"
	b=$(body "$f")
	expect_eq "$(jq -r .success <<<"$b")" true "$2 success"
	expect_eq "$(jq -r .message <<<"$b")" "Job $3" "$2 message"
	expect_eq "$(jq -r .job_id <<<"$b")" "$2" "$2 job_id"
	expect_eq "$(jq -r .status <<<"$b")" "$3" "$2 status"
	expect_eq "$(jq -r .data.job_id <<<"$b")" "$2" "$2 data.job_id"
	expect_eq "$(jq -r .data.status <<<"$b")" "$3" "$2 data.status"
	expect_eq "$(jq -r '.progress_percent == .data.progress_percent' <<<"$b")" true "$2 progress"
	[ -z "$REELD_PID" ] ||
		expect_eq "$(jq -r .progress_percent <<<"$b")" "$(job_field "$2" .progress_percent)" "$2 progress vs status"
	LAST_BODY=$b
}

# check_event NAME JOB STATUS: exactly one request for the event, answered
# 200, with the documented shape.
check_event() {
	local n
	req_for "$1" "$2.$3"
	n=$(basename "$REQ" .req)
	for _ in $(seq 100); do
		grep -qx "$n 200" "$T/$1/replies" && break
		sleep 0.05
	done
	grep -qx "$n 200" "$T/$1/replies" || fail "$2: request $n not answered 200"
	check_request "$REQ" "$2" "$3"
}

REEL_WEBHOOK_RETRY_BASE_MS=50 start_reeld -v -v --slots 8 --webhook-max-age 3
vid=$(fake_video src.mp4) || fail "upload"
start_receiver ok
url_ok=http://127.0.0.1:$PORT/hook
start_receiver flaky -f 3
url_flaky=http://127.0.0.1:$PORT/hook
start_receiver down -w "$T/up"
url_down=http://127.0.0.1:$PORT/hook
start_receiver never -f 1000000
url_never=http://127.0.0.1:$PORT/hook

done_job=$(ctl submit --video "$vid" --webhook "$url_ok" --config x-n=1) || fail "submit"
fail_job=$(ctl submit --video "$vid" --webhook "$url_ok" --config x-fake.rendering=segv) || fail "submit"
cancel_job=$(ctl submit --video "$vid" --webhook "$url_ok" --config x-fake.video_analysis=hang) || fail "submit"
flaky_job=$(ctl submit --video "$vid" --webhook "$url_flaky" --config x-n=2) || fail "submit"
down_job=$(ctl submit --video "$vid" --webhook "$url_down" --config x-n=3) || fail "submit"
never_job=$(ctl submit --video "$vid" --webhook "$url_never" --config x-n=4) || fail "submit"
none_job=$(ctl submit --video "$vid" --config x-n=5) || fail "submit"
for _ in $(seq 100); do
	[ "$(job_field "$cancel_job" .status)" = processing ] && break
	sleep 0.05
done
ctl cancel "$cancel_job" >/dev/null || fail "cancel"

# The down receiver refuses connections until two attempts have failed.
wait_log "webhook $down_job.completed attempt 2 to $url_down"
expect_eq "$(replies down)" 0 "requests to the down receiver"
touch "$T/up"
for j in "$done_job" "$fail_job" "$cancel_job" "$flaky_job" "$down_job" "$never_job" "$none_job"; do
	wait_terminal "$j"
done

wait_replies ok 3
check_event ok "$done_job" completed
expect_eq "$(jq -r .output_video_url <<<"$LAST_BODY")" "$(job_field "$done_job" .output_video_url)" "output_video_url"
expect_eq "$(jq -r .progress_percent <<<"$LAST_BODY")" 100 "completed progress"
check_event ok "$fail_job" failed
expect_eq "$(jq -r .data.error.stage <<<"$LAST_BODY")" rendering "failed stage"
expect_eq "$(jq -r .data.error.code <<<"$LAST_BODY")" WORKER_CRASHED "failed code"
check_event ok "$cancel_job" cancelled

# Three 500s, then the same event (same webhook-id and body) answered 200.
wait_replies flaky 4
expect_eq "$(tr '\n' ' ' <"$T/flaky/replies")" "1 500 2 500 3 500 4 200 " "flaky replies"
for n in 1 2 3 4; do
	expect_eq "$(header "$T/flaky/$n.req" webhook-id)" "$flaky_job.completed" "flaky webhook-id $n"
	expect_eq "$(body "$T/flaky/$n.req")" "$(body "$T/flaky/1.req")" "flaky body $n"
done
check_request "$T/flaky/4.req" "$flaky_job" completed

wait_replies down 1
check_event down "$down_job" completed

# A receiver that never answers 2xx is given up after the maximum age.
wait_log "webhook $never_job.completed to $url_never: giving up after"
n=$(replies never)
[ "$n" -ge 2 ] || fail "never: only $n attempts before giving up"
[ "$(grep -c " 500$" "$T/never/replies")" -eq "$n" ] || fail "never: replies $(cat "$T/never/replies")"
[ -z "$(grep -Li "^webhook-id: $never_job.completed"$'\r' "$T/never"/*.req)" ] ||
	fail "never: a request without the event's webhook-id"

# No webhook URL, no delivery.
grep -q "webhook $none_job" "$T/reeld.log" && fail "a webhook for $none_job"

# Shutdown: a running job stays processing and a pending event stays in
# the journal; both go on after a restart.
drop_job=$(ctl submit --video "$vid" --webhook "$url_never" --config x-n=6) || fail "submit"
wait_terminal "$drop_job"
wait_log "webhook $drop_job.completed attempt 1 to"
stop_job=$(ctl submit --video "$vid" --webhook "$url_ok" --config x-fake.audio_analysis=hang) || fail "submit"
for _ in $(seq 100); do
	[ "$(job_field "$stop_job" .current_stage)" = audio_analysis ] && break
	sleep 0.05
done
expect_eq "$(job_field "$stop_job" .current_stage)" audio_analysis "stage before shutdown"
kill -TERM "$REELD_PID"
start=$(date +%s%N)
wait "$REELD_PID"
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
REELD_PID=
expect_eq "$rc" 0 "reeld exit status"
[ "$ms" -lt 6000 ] || fail "shutdown took $ms ms"
grep -q "shutdown: [0-9]* webhook events pending; they resume" "$T/reeld.log" ||
	fail "no note of pending events at shutdown"
grep -q "$stop_job: stopped at audio_analysis; resumes there" "$T/reeld.log" ||
	fail "no note of the stopped job"
grep -qE "Sanitizer|runtime error" "$T/reeld.log" && fail "sanitizer report"
before=$(replies never)

REEL_WEBHOOK_RETRY_BASE_MS=50 start_reeld -v -v --slots 8 --webhook-max-age 3
grep -q "$stop_job resumes at audio_analysis" "$T/reeld.log" || fail "no resume"
for _ in $(seq 100); do
	[ "$(job_field "$stop_job" .current_stage)" = audio_analysis ] &&
		[ -n "$(worker_pids)" ] && break
	sleep 0.05
done
expect_eq "$(job_field "$stop_job" .status)" processing "resumed job status"
ctl cancel "$stop_job" >/dev/null || fail "cancel after restart"
check_event ok "$stop_job" cancelled
for _ in $(seq 100); do
	[ "$(replies never)" -gt "$before" ] && break
	sleep 0.05
done
[ "$(replies never)" -gt "$before" ] || fail "pending event not resumed"
last=$(ls "$T/never" | sort -n | tail -n 1)
expect_eq "$(header "$T/never/$last" webhook-id)" "$drop_job.completed" "resumed attempt's webhook-id"

# Delivered events are never sent again, not even after the restart.
sleep 0.3
expect_eq "$(replies ok)" 4 "requests to the ok receiver"
expect_eq "$(replies flaky)" 4 "requests to the flaky receiver"
expect_eq "$(replies down)" 1 "requests to the down receiver"
echo "ok: $(replies never) attempts to a failing receiver across a restart; shutdown took $ms ms"
