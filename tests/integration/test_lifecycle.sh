#!/usr/bin/env bash
# A job through all six stages with the scripted worker: the contract's
# fields at each end, list, result, and the documented errors.
. "$(dirname "$0")/lib.sh"
start_reeld --slots 1

vid=$(fake_video src.mp4) || fail "upload"
tpl=$(fake_video tpl.mp4) || fail "upload template"
[[ $vid =~ ^vid_[0-9a-f]{12}$ ]] || fail "bad video id $vid"

env=$(ctl --json submit --video "$vid" --template "$tpl" --config quality=high)
expect_eq "$(jq -r .success <<<"$env")" true "submit success"
job=$(jq -r .data.job_id <<<"$env")
[[ $job =~ ^job_[0-9a-f]{12}$ ]] || fail "bad job id $job"
expect_eq "$(jq -r .data.status <<<"$env")" queued "status at creation"
expect_eq "$(jq -r .data.progress_percent <<<"$env")" 0 "progress at creation"
expect_eq "$(jq -r .data.current_stage <<<"$env")" null "stage at creation"
expect_eq "$(jq -r '.data.created_at == .data.updated_at' <<<"$env")" true "created == updated"

# Progress seen while waiting never goes backwards.
ctl wait "$job" >"$T/wait.log" || fail "wait exit $?"
awk '{ sub("%", "", $3); if ($3 + 0 < last) exit 1; last = $3 + 0 }' \
	"$T/wait.log" || fail "progress went backwards: $(cat "$T/wait.log")"
grep -q "rendering" "$T/wait.log" || fail "no rendering stage seen"

st=$(ctl --json status "$job")
expect_eq "$(jq -r .data.status <<<"$st")" completed "final status"
expect_eq "$(jq -r .data.progress_percent <<<"$st")" 100 "final progress"
expect_eq "$(jq -r .data.current_stage <<<"$st")" null "final stage"
expect_eq "$(jq -r 'has("error")' <<<"$st")" false "error on completed"
expect_eq "$(jq -r '.data.started_at != null and .data.completed_at != null' <<<"$st")" true "timestamps"
expect_eq "$(jq -r .data.config.quality <<<"$st")" high "config kept"

res=$(ctl --json result "$job" --style "$T/style.json")
expect_eq "$(jq -r .data.style_json.version <<<"$res")" 1.0 "style_json in result"
expect_eq "$(jq -r .version "$T/style.json")" 1.0 "style written"
jq -e '.data.processing_time_seconds >= 0' <<<"$res" >/dev/null || fail "processing time"

list=$(ctl --json list --status completed --page 1 --page-size 5)
expect_eq "$(jq -r .data.total <<<"$list")" 1 "list total"
expect_eq "$(jq -r '.data.jobs[0].job_id' <<<"$list")" "$job" "list item"

# Documented errors, each with its code and exit status 1.
out=$(ctl --json cancel "$job"); rc=$?
expect_eq "$rc" 1 "cancel terminal exit"
expect_eq "$(jq -r .error.code <<<"$out")" JOB_ALREADY_TERMINAL "cancel terminal code"
out=$(ctl --json status job_000000000000); rc=$?
expect_eq "$rc" 1 "unknown job exit"
expect_eq "$(jq -r .error.code <<<"$out")" JOB_NOT_FOUND "unknown job code"
out=$(ctl --json submit --video vid_000000000000)
expect_eq "$(jq -r .error.code <<<"$out")" VIDEO_NOT_FOUND "unknown video"
out=$(ctl --json submit --video "$vid" --webhook ftp://x)
expect_eq "$(jq -r .error.code <<<"$out")" INVALID_REQUEST "bad webhook"
out=$(ctl --json list --page-size 101)
expect_eq "$(jq -r .error.code <<<"$out")" INVALID_REQUEST "page size"
# Every field has bounds, and the answer names the field.
bad() {
	local want=$1 what=$2
	shift 2
	out=$(ctl --json "$@")
	expect_eq "$(jq -r .error.code <<<"$out")" "$want" "$what"
	jq -e '.error.detail | length > 0' <<<"$out" >/dev/null || fail "$what: no detail"
}
bad INVALID_REQUEST "unknown config key" submit --video "$vid" --config qualty=high
bad INVALID_REQUEST "bad quality" submit --video "$vid" --config quality=ultra
bad INVALID_REQUEST "bad conform" submit --video "$vid" --config conform=stretch
bad INVALID_REQUEST "grade_strength range" submit --video "$vid" --config grade_strength=1.5
bad INVALID_REQUEST "duration range" submit --video "$vid" --config duration=0.5
bad INVALID_REQUEST "soundtrack value" submit --video "$vid" --config soundtrack=music
bad INVALID_REQUEST "config key charset" submit --video "$vid" --config X=1
bad INVALID_REQUEST "webhook without host" submit --video "$vid" --webhook http:///x
bad INVALID_REQUEST "webhook with a space" submit --video "$vid" --webhook "http://a b/"
bad VIDEO_NOT_FOUND "malformed video id" submit --video vid_XYZ
bad JOB_NOT_FOUND "malformed job id" status job_../../etc
bad INVALID_REQUEST "status filter" list --status done
grep -q "unknown config key 'qualty'" <<<"$(ctl submit --video "$vid" --config qualty=high 2>&1)" ||
	fail "unknown key not named"
ctl submit >/dev/null 2>&1; expect_eq "$?" 2 "usage exit"

# A template-only job stops after style_extraction at 100.
tjob=$(ctl submit --video "$tpl" --template-only) || fail "template-only submit"
ctl wait "$tjob" >/dev/null || fail "template-only wait"
st=$(ctl --json status "$tjob")
expect_eq "$(jq -r .data.status <<<"$st")" completed "template-only status"
expect_eq "$(jq -r .data.progress_percent <<<"$st")" 100 "template-only progress"
grep -q "$tjob style_extraction: worker" "$T/reeld.log" ||
	fail "template-only job did not run style_extraction"
grep -q "$tjob \(style_application\|rendering\): worker" "$T/reeld.log" &&
	fail "template-only job ran application or rendering"

# Duplicates of an active job are refused.
h1=$(ctl submit --video "$vid" --config x-fake=hang)
out=$(ctl --json submit --video "$vid" --config x-fake=hang)
expect_eq "$(jq -r .error.code <<<"$out")" JOB_ALREADY_PROCESSING "duplicate"
ctl cancel "$h1" >/dev/null || fail "cancel"
echo ok
