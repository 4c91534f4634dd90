#!/usr/bin/env bash
# Bad client frames each get a clear error envelope (or, for a frame too
# large to read, a disconnect) and reeld keeps serving everyone else.
. "$(dirname "$0")/lib.sh"
start_reeld
RAW=$BIN/tests/rawclient

send() { printf "$1" | "$RAW" "$SOCK"; }

out=$(send 'hello world, this is not a frame')
grep -q 'exceeds limit' <<<"$out" || fail "oversize frame: $out"
out=$(send '\x00\x00\x00\x00')
jq -e '.error.code == "INVALID_REQUEST"' <<<"$out" >/dev/null || fail "zero length: $out"
out=$(send '\x00\x00\x00\x05\xc1\xc1\xc1\xc1\xc1')
jq -e '.success == false' <<<"$out" >/dev/null || fail "not msgpack: $out"
out=$(send '\x00\x00\x00\x09\x82\xa1v\x01\xa1t\xcd\x03\xe7')
jq -e '.error.detail | test("unknown")' <<<"$out" >/dev/null || fail "unknown type: $out"
out=$(send '\x00\x00\x00\x11\x83\xa1v\x01\xa1te\xa8video_id\x05')
jq -e '.error.detail | test("video_id")' <<<"$out" >/dev/null || fail "wrong type: $out"
out=$(send '\x00\x00\x00\x07\x82\xa1v\x09\xa1te')
jq -e '.error.detail | test("version")' <<<"$out" >/dev/null || fail "wrong version: $out"
# A worker-only message from a client is refused.
out=$(send '\x00\x00\x00\x09\x82\xa1v\x01\xa1t\xcd\x01\x91')
jq -e '.success == false' <<<"$out" >/dev/null || fail "wrong direction: $out"
# A client that vanishes mid-frame.
printf '\x00\x00\x10\x00\x83' | timeout 2 "$RAW" "$SOCK" >/dev/null
# An upload without a descriptor.
out=$(send '\x00\x00\x00\x14\x83\xa1v\x01\xa1td\xa8filename\xa3a.b')
jq -e '.error.code == "MISSING_FIELD"' <<<"$out" >/dev/null || fail "upload without fd: $out"

kill -0 "$REELD_PID" || fail "reeld died"
vid=$(fake_video ok.mp4) || fail "upload after bad clients"
job=$(ctl submit --video "$vid") || fail "submit after bad clients"
wait_terminal "$job"
expect_eq "$(job_field "$job" .status)" completed "job after bad clients"
echo ok
