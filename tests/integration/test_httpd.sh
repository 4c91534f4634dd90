#!/usr/bin/env bash
# reel-httpd with a real reeld and the real stages, driven by curl: the
# quickstart of the docs step by step (upload both videos, create a job,
# poll to completed, fetch the result, download the output, with a Range
# request), every error row of seed-api.md section 8 with its code and HTTP
# status, bad requests that keep the server serving, and no temporary file
# left behind. The same flow from a Python client of the standard library
# is tests/integration/httpd_client.py.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
start_reeld --worker-path "$BIN/reel-worker" --slots 1
mkdir -p "$T/up"
start_httpd --upload-dir "$T/up" --max-file-size-mb 1

make_clip() { # NAME SIZE SOURCE
	ffmpeg -hide_banner -loglevel error -f lavfi -i "$3=s=$2:r=25:d=2" \
		-f lavfi -i sine=f=440:d=2 -c:v libx264 -preset ultrafast \
		-c:a aac -shortest "$T/$1" || fail "ffmpeg $1"
}
make_clip src.mp4 320x180 testsrc2
make_clip tpl.mp4 320x180 smptebars

# call METHOD PATH [curl args...]: sets CODE (HTTP status) and BODY.
call() {
	local method=$1 path=$2
	shift 2
	BODY=$(curl -s -X "$method" -o - -w '\n%{http_code}' "$@" "$API$path")
	CODE=${BODY##*$'\n'}
	BODY=${BODY%$'\n'*}
}
# expect_error HTTP CODE WHAT: the last call's status and error code.
expect_error() {
	expect_eq "$CODE" "$1" "$3: HTTP status ($BODY)"
	expect_eq "$(jq -r .error.code <<<"$BODY")" "$2" "$3: error code"
	expect_eq "$(jq -r .success <<<"$BODY")" false "$3: success"
	[ -n "$(jq -r .message <<<"$BODY")" ] || fail "$3: no message"
}
json_post() { # PATH JSON
	call POST "$1" -H 'Content-Type: application/json' -d "$2"
}

# 1. The quickstart.
call GET /health
expect_eq "$CODE" 200 "health"
expect_eq "$(jq -r .data.status <<<"$BODY")" ok "health status"
call POST /videos/upload -F file=@"$T/src.mp4"
expect_eq "$CODE" 200 "upload: $BODY"
expect_eq "$(jq -r .message <<<"$BODY")" "Video uploaded successfully" "upload message"
expect_eq "$(jq -r .data.metadata.width <<<"$BODY")" 320 "upload metadata"
expect_eq "$(jq -r .data.file_size_bytes <<<"$BODY")" "$(stat -c %s "$T/src.mp4")" "upload size"
src=$(jq -r .data.video_id <<<"$BODY")
call POST /videos/upload -F file=@"$T/tpl.mp4"
tpl=$(jq -r .data.video_id <<<"$BODY")
json_post /jobs "{\"video_id\":\"$src\",\"template_video_id\":\"$tpl\",\"config\":{\"quality\":\"high\"}}"
expect_eq "$CODE" 200 "create: $BODY"
expect_eq "$(jq -r .data.status <<<"$BODY")" queued "created status"
expect_eq "$(jq -r .data.current_stage <<<"$BODY")" null "created stage"
job=$(jq -r .data.job_id <<<"$BODY")
# Live progress: a Server-Sent Events stream from now to the end.
curl -s -N -D "$T/sse.h" "$API/jobs/$job/events" >"$T/sse" &
sse_pid=$!

# While it runs: the same job again, and its result too early.
json_post /jobs "{\"video_id\":\"$src\",\"template_video_id\":\"$tpl\",\"config\":{\"quality\":\"high\"}}"
expect_error 409 JOB_ALREADY_PROCESSING "duplicate job"
call GET "/jobs/$job/result"
expect_error 409 RESULT_NOT_READY "early result"

last=0
for _ in $(seq 600); do
	call GET "/jobs/$job"
	expect_eq "$CODE" 200 "status poll"
	st=$(jq -r .data.status <<<"$BODY")
	p=$(jq -r .data.progress_percent <<<"$BODY")
	[ "$p" -ge "$last" ] || fail "progress went back: $last -> $p"
	last=$p
	case $st in completed | failed | cancelled) break ;; esac
	sleep 0.2
done
expect_eq "$st" completed "job end ($BODY)"
expect_eq "$p" 100 "final progress"
for _ in $(seq 50); do kill -0 "$sse_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$sse_pid" 2>/dev/null && fail "the event stream did not close after the end"
grep -qi '^content-type: text/event-stream' "$T/sse.h" || fail "events type: $(cat "$T/sse.h")"
python3 - "$T/sse" <<'PY' || fail "event stream: $(cat "$T/sse")"
import json, sys
events, kind = [], None
for line in open(sys.argv[1]).read().split("\n"):
    if line.startswith("event: "):
        kind = line[7:]
    elif line.startswith("data: "):
        events.append((kind, json.loads(line[6:])))
stages = ["video_analysis", "audio_analysis", "motion_analysis",
          "style_extraction", "style_application", "rendering"]
assert events[-1][0] == "end" and events[-1][1]["status"] == "completed", events[-1]
assert all(k == "status" for k, _ in events[:-1]), [k for k, _ in events]
progress = [e["progress_percent"] for _, e in events]
assert progress == sorted(progress), progress
seen = [e["current_stage"] for _, e in events if e["current_stage"]]
order = [stages.index(s) for s in seen]
assert order == sorted(order) and len(set(seen)) >= 3, seen
assert len(events) >= 5, len(events)
print(f"events: {len(events)}, progress {progress[0]}..{progress[-1]}, stages {sorted(set(seen), key=stages.index)}")
PY
call GET "/jobs/$job/result"
expect_eq "$CODE" 200 "result"
jq -e '.data.style_json.version and .data.report and .data.processing_time_seconds > 0' \
	<<<"$BODY" >/dev/null || fail "result lacks style_json, report or time: $BODY"
curl -s -D "$T/h" -o "$T/out.mp4" "$API/jobs/$job/artifacts/output.mp4"
grep -qi '^content-type: video/mp4' "$T/h" || fail "output type: $(cat "$T/h")"
ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$T/out.mp4" |
	grep -q h264 || fail "the download is not an H.264 video"
cmp "$T/out.mp4" "$STATE/jobs/$job/output.mp4" || fail "download differs"
curl -s -D "$T/h" -o "$T/part" -H 'Range: bytes=100-1099' "$API/jobs/$job/artifacts/output.mp4"
head -n 1 "$T/h" | grep -q 206 || fail "range status: $(head -n 1 "$T/h")"
cmp "$T/part" <(tail -c +101 "$T/out.mp4" | head -c 1000) || fail "range bytes"
call GET "/jobs/$job/artifacts/output.mp4" -H 'Range: bytes=99999999-'
expect_eq "$CODE" 416 "range past the end"
for a in style.json plan.json report.json; do
	curl -s "$API/jobs/$job/artifacts/$a" | jq -e . >/dev/null || fail "$a is not JSON"
done
call GET "/jobs?page=1&page_size=1"
expect_eq "$(jq -r '.data.total, .data.page_size, (.data.jobs | length)' <<<"$BODY" | tr '\n' ' ')" \
	"1 1 1 " "list"
echo "ok: quickstart with curl: upload, job $job completed, events, result, download, range"

# 2. The same flow from Python's standard library.
python3 "$HERE/httpd_client.py" "$API" "$T/src.mp4" "$T/tpl.mp4" ||
	fail "the Python client"
echo "ok: the same flow from a Python client (urllib)"

# 3. Every error row of section 8 that a request can produce.
echo "plain text" >"$T/notes.txt"
call POST /videos/upload -F file=@"$T/notes.txt"
expect_error 422 UNSUPPORTED_FORMAT "text upload"
head -c 2000000 /dev/urandom >"$T/big.mp4"
call POST /videos/upload -F file=@"$T/big.mp4"
expect_error 413 FILE_TOO_LARGE "upload over the limit (Content-Length)"
grep -q "Maximum allowed is 1 MB" <<<"$BODY" || fail "size detail: $BODY"
call POST /videos/upload -H 'Transfer-Encoding: chunked' -F file=@"$T/big.mp4"
expect_error 413 FILE_TOO_LARGE "upload over the limit (chunked)"
call POST /videos/upload -F note=hello
expect_error 400 INVALID_REQUEST "unknown upload field"
call POST /videos/upload -F template_video_id=vid_000000000000
expect_error 422 MISSING_FIELD "upload without a file"
json_post /jobs '{"config":{}}'
expect_error 422 MISSING_FIELD "job without video_id"
json_post /jobs '{"video_id":"vid_000000000000"}'
expect_error 404 VIDEO_NOT_FOUND "unknown video"
json_post /jobs "{\"video_id\":\"$src\",\"template_video_id\":\"vid_ffffffffffff\"}"
expect_error 404 VIDEO_NOT_FOUND "unknown template"
call GET /jobs/job_000000000000
expect_error 404 JOB_NOT_FOUND "unknown job"
call GET /jobs/job_000000000000/result
expect_error 404 JOB_NOT_FOUND "result of an unknown job"
call GET /jobs/job_000000000000/events
expect_error 404 JOB_NOT_FOUND "events of an unknown job"
call POST "/jobs/$job/cancel"
expect_error 409 JOB_ALREADY_TERMINAL "cancel of a completed job"
echo "ok: section 8 rows over HTTP: 422 UNSUPPORTED_FORMAT, 413 FILE_TOO_LARGE, 422 MISSING_FIELD, 404 VIDEO_NOT_FOUND and JOB_NOT_FOUND, 409 JOB_ALREADY_PROCESSING and RESULT_NOT_READY"

# 4. Bad requests get their answer and the server keeps serving.
json_post /jobs '{'
expect_error 400 INVALID_REQUEST "bad JSON"
json_post /jobs '[1]'
expect_error 400 INVALID_REQUEST "JSON that is not an object"
json_post /jobs "{\"video_id\":\"$src\",\"extra\":1}"
expect_error 400 INVALID_REQUEST "unknown field"
json_post /jobs "{\"video_id\":\"$src\",\"config\":{\"quality\":\"lavish\"}}"
expect_error 400 INVALID_REQUEST "bad config value"
call POST /jobs -d "{\"video_id\":\"$src\"}"
expect_error 415 UNSUPPORTED_MEDIA_TYPE "form-encoded job"
call POST /videos/upload -H 'Content-Type: application/json' -d '{}'
expect_error 415 UNSUPPORTED_MEDIA_TYPE "JSON upload"
head -c 70000 /dev/zero | tr '\0' ' ' >"$T/big.json"
call POST /jobs -H 'Content-Type: application/json' --data-binary @"$T/big.json"
expect_error 413 REQUEST_TOO_LARGE "JSON body over 64 KiB"
printf -- '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\nabc' >"$T/cut.body"
call POST /videos/upload -H 'Content-Type: multipart/form-data; boundary=XyZ' --data-binary @"$T/cut.body"
expect_error 400 INVALID_REQUEST "multipart body cut short"
call GET "/jobs/../../etc/passwd" --path-as-is
expect_error 404 JOB_NOT_FOUND "traversal in a job id"
call GET "/jobs/$job/artifacts/..%2f..%2fjournal"
expect_error 404 NOT_FOUND "traversal in an artifact"
call GET /jobs/job_0123
expect_error 404 JOB_NOT_FOUND "short job id"
call DELETE /jobs
expect_error 405 METHOD_NOT_ALLOWED "DELETE /jobs"
curl -s -D - -o /dev/null -X DELETE "$API/jobs" | grep -qi '^allow: GET, POST' || fail "no Allow header"
call GET "/$(head -c 300 /dev/zero | tr '\0' a)"
expect_eq "$CODE" 414 "long URL"
call GET /health -H "X-Big: $(head -c 70000 /dev/zero | tr '\0' a)"
expect_eq "$CODE" 431 "oversized headers"
call GET "/jobs?page=0"
expect_error 400 INVALID_REQUEST "page 0"
call GET "/jobs?page_size=abc"
expect_error 400 INVALID_REQUEST "page_size abc"
call GET /nowhere
expect_error 404 NOT_FOUND "unknown path"
call GET /health
expect_eq "$CODE" 200 "still serving"
echo "ok: malformed bodies, wrong types, traversal, long URLs and headers answered; still serving"

# 5. Nothing left behind.
expect_eq "$(ls -A "$T/up" | wc -l)" 0 "temporary files in the upload dir"
expect_eq "$(ls "$STATE/videos" | wc -l)" 4 "stored videos (two uploads by curl, two by Python)"
echo "ok: no temporary file left in the upload dir"
stop_httpd
echo "ok: reel-httpd stopped cleanly on SIGTERM"
