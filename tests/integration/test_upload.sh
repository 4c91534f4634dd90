#!/usr/bin/env bash
# Uploads with the real reel-worker probe: metadata from libavformat, a
# corrupt file is UNSUPPORTED_FORMAT, a file over the limit FILE_TOO_LARGE,
# nothing is left behind by a refused upload, stored videos survive a
# restart, and a template-only job on the real stages yields a StyleJSON.
. "$(dirname "$0")/lib.sh"
start_reeld --worker-path "$BIN/reel-worker" --max-file-size-mb 1

ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc2=s=320x180:r=25:d=2 \
	-f lavfi -i sine=f=440:d=2 -c:v libx264 -preset ultrafast -c:a aac \
	-shortest "$T/clip.mp4" || fail "ffmpeg"
out=$(ctl --json upload "$T/clip.mp4")
expect_eq "$(jq -r .success <<<"$out")" true "upload: $out"
expect_eq "$(jq -r .message <<<"$out")" "Video uploaded successfully" "message"
vid=$(jq -r .data.video_id <<<"$out")
expect_eq "$(jq -r .data.metadata.width <<<"$out")" 320 "width"
expect_eq "$(jq -r .data.metadata.height <<<"$out")" 180 "height"
expect_eq "$(jq -r .data.metadata.codec <<<"$out")" h264 "codec"
expect_eq "$(jq -r .data.metadata.format <<<"$out")" mp4 "format"
expect_eq "$(jq -r .data.metadata.frame_rate <<<"$out")" 25 "frame rate"
jq -e '.data.metadata.duration_seconds > 1.9 and .data.metadata.duration_seconds < 2.1' <<<"$out" >/dev/null || fail "duration"
expect_eq "$(jq -r .data.filename <<<"$out")" clip.mp4 "filename"
expect_eq "$(jq -r .data.file_size_bytes <<<"$out")" "$(stat -c %s "$T/clip.mp4")" "size"
cmp "$T/clip.mp4" "$STATE/videos/$vid/clip.mp4" || fail "stored copy differs"

echo "this is not a video" >"$T/notes.mp4"
out=$(ctl --json upload "$T/notes.mp4"); rc=$?
expect_eq "$rc" 1 "corrupt upload exit"
expect_eq "$(jq -r .error.code <<<"$out")" UNSUPPORTED_FORMAT "corrupt code"
[ -n "$(jq -r .error.detail <<<"$out")" ] || fail "no reason given"
head -c 3000 "$T/clip.mp4" >"$T/cut.mp4"
out=$(ctl --json upload "$T/cut.mp4")
expect_eq "$(jq -r .error.code <<<"$out")" UNSUPPORTED_FORMAT "truncated code"

head -c 1100000 /dev/urandom >"$T/big.mp4"
out=$(ctl --json upload "$T/big.mp4")
expect_eq "$(jq -r .error.code <<<"$out")" FILE_TOO_LARGE "size limit"
jq -r .error.detail <<<"$out" | grep -q "Maximum allowed is 1 MB" || fail "size detail: $out"
expect_eq "$(ls "$STATE/videos" | wc -l)" 1 "only the good upload is stored"

# A template-only job on the real stages extracts a StyleJSON.
job=$(ctl submit --video "$vid" --template-only) || fail "submit"
wait_terminal "$job"
res=$(ctl --json result "$job")
expect_eq "$(jq -r .data.status <<<"$res")" completed "template-only status: $res"
expect_eq "$(jq -r .data.style_json.version <<<"$res")" 1.0 "style_json"
expect_eq "$(jq -r .data.output_video_url <<<"$res")" null "no output video"

# Stored videos survive a restart.
kill -TERM "$REELD_PID"; wait "$REELD_PID" 2>/dev/null
start_reeld --worker-path "$BIN/reel-worker"
out=$(ctl --json submit --video "$vid" --template-only)
expect_eq "$(jq -r .success <<<"$out")" true "video known after restart: $out"

# A probe that cannot run is the server's fault, never the file's format.
kill -TERM "$REELD_PID"; wait "$REELD_PID" 2>/dev/null
start_reeld --worker-path /bin/false
out=$(ctl --json upload "$T/clip.mp4")
expect_eq "$(jq -r .error.code <<<"$out")" INTERNAL_ERROR "broken worker: $out"
echo ok
