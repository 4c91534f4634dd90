#!/usr/bin/env bash
# reel-httpd's tokens and owners, with a real reeld (fake worker): a token
# file must be private; no token or a wrong one is 401 UNAUTHORIZED with a
# challenge; each token's user sees only its own jobs (another's answers
# JOB_NOT_FOUND, as over the socket), an admin token sees all; /metrics is
# an admin's (403 FORBIDDEN otherwise) and parses with Prometheus's own
# parser; SIGHUP re-reads the file and keeps the old tokens when the new
# file is refused; owners survive a reeld restart; without tokens it listens
# only on loopback; reeld lets only a user it trusts act for other owners.
. "$(dirname "$0")/lib.sh"
start_reeld
mkdir -p "$T/up"
TOKENS=$T/tokens
A=alice-token-0123456789abcdef
B=bob-token-0123456789abcdef
ROOT=admin-token-0123456789abcdef
printf '# reel tokens\n%s alice\n%s bob\n\n%s ops admin\n' "$A" "$B" "$ROOT" >"$TOKENS"

chmod 0644 "$TOKENS"
"$BIN/reel-httpd" --runtime-dir "$RUN" --port 0 --token-file "$TOKENS" \
	>"$T/refused.log" 2>&1 && fail "started with a world-readable token file"
grep -q "only its owner may read" "$T/refused.log" || fail "refusal: $(cat "$T/refused.log")"
"$BIN/reel-httpd" --runtime-dir "$RUN" --port 0 --listen 0.0.0.0 \
	>"$T/refused.log" 2>&1 && fail "listened on every address without tokens"
grep -q "only on loopback" "$T/refused.log" || fail "refusal: $(cat "$T/refused.log")"
chmod 0600 "$TOKENS"
start_httpd --upload-dir "$T/up" --token-file "$TOKENS"
echo "ok: a readable token file, or no tokens off loopback, is refused at start"

as() { # TOKEN METHOD PATH [curl args]: sets CODE and BODY
	local tok=$1 method=$2 path=$3
	shift 3
	BODY=$(curl -s -X "$method" -H "Authorization: Bearer $tok" -w '\n%{http_code}' "$@" "$API$path")
	CODE=${BODY##*$'\n'}
	BODY=${BODY%$'\n'*}
}
code_is() { # HTTP CODE WHAT
	expect_eq "$CODE" "$1" "$3: status ($BODY)"
	expect_eq "$(jq -r .error.code <<<"$BODY")" "$2" "$3: code"
}

curl -s -D "$T/h" -o "$T/b" "$API/jobs"
head -n 1 "$T/h" | grep -q 401 || fail "no token: $(head -n 1 "$T/h")"
grep -qi '^www-authenticate: Bearer' "$T/h" || fail "no challenge"
expect_eq "$(jq -r .error.code "$T/b")" UNAUTHORIZED "no token code"
as wrong-token-0123456789abcdef GET /jobs
code_is 401 UNAUTHORIZED "wrong token"
as "${A%?}" GET /jobs
code_is 401 UNAUTHORIZED "a prefix of a token"
BODY=$(curl -s -w '\n%{http_code}' -H "Authorization: Basic $A" "$API/jobs")
expect_eq "${BODY##*$'\n'}" 401 "basic auth"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "$API/health")" 200 "health needs no token"
echo "ok: 401 UNAUTHORIZED for no token, a wrong one, a prefix, Basic"

head -c 4096 /dev/urandom >"$T/v.mp4"
as "$A" POST /videos/upload -F file=@"$T/v.mp4"
expect_eq "$CODE" 200 "alice's upload: $BODY"
vid=$(jq -r .data.video_id <<<"$BODY")
as "$A" POST /jobs -H 'Content-Type: application/json' \
	-d "{\"video_id\":\"$vid\",\"config\":{\"x-fake\":\"hang\"}}"
expect_eq "$CODE" 200 "alice's job: $BODY"
job=$(jq -r .data.job_id <<<"$BODY")
as "$B" POST /jobs -H 'Content-Type: application/json' \
	-d "{\"video_id\":\"$vid\",\"config\":{\"x-fake\":\"done\"}}"
bobs=$(jq -r .data.job_id <<<"$BODY")

as "$B" GET "/jobs/$job"
code_is 404 JOB_NOT_FOUND "bob reads alice's job"
as "$B" GET "/jobs/$job/result"
code_is 404 JOB_NOT_FOUND "bob reads alice's result"
as "$B" POST "/jobs/$job/cancel"
code_is 404 JOB_NOT_FOUND "bob cancels alice's job"
as "$B" GET /jobs
expect_eq "$(jq -r '[.data.jobs[].job_id] | join(",")' <<<"$BODY")" "$bobs" "bob's list"
as "$A" GET "/jobs/$job"
expect_eq "$(jq -r .data.status <<<"$BODY")" processing "alice's own job"
as "$ROOT" GET "/jobs/$job"
expect_eq "$(jq -r .data.job_id <<<"$BODY")" "$job" "the admin reads alice's job"
as "$ROOT" GET /jobs
expect_eq "$(jq -r .data.total <<<"$BODY")" 2 "the admin's list"
expect_eq "$(ctl --json status "$job" | jq -r .data.job_id)" "$job" "root's reelctl sees it"
echo "ok: bob gets JOB_NOT_FOUND for alice's job; alice, the admin token and root's reelctl see it"

as "$A" GET /metrics
code_is 403 FORBIDDEN "alice's /metrics"
as "$ROOT" GET /metrics
expect_eq "$CODE" 200 "the admin's /metrics"
printf '%s\n' "$BODY" >"$T/metrics.txt"
# Debian's python3, which has python3-prometheus-client (install-deps).
/usr/bin/python3 - "$T/metrics.txt" <<'PY' || fail "metrics do not parse: $(head -n 20 "$T/metrics.txt")"
import sys
from prometheus_client.parser import text_string_to_metric_families
names = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
for want in ("reel_jobs_submitted", "reel_jobs_finished", "reel_jobs",
             "reel_queue_depth", "reel_reeld_uptime_seconds",
             "reel_reeld_heartbeat_age_seconds", "reel_reeld_up"):
    assert want in names, (want, sorted(names))
assert names["reel_jobs_submitted"].samples[0].value == 2
assert names["reel_reeld_up"].samples[0].value == 1
PY
echo "ok: /metrics is 403 FORBIDDEN for a user, parses with prometheus_client for the admin"

C=carol-token-0123456789abcdef
printf '%s carol\n' "$C" >>"$TOKENS"
kill -HUP "$HTTPD_PID"
for _ in $(seq 50); do
	as "$C" GET /jobs
	[ "$CODE" = 200 ] && break
	sleep 0.1
done
expect_eq "$CODE" 200 "carol after SIGHUP"
chmod 0644 "$TOKENS"
kill -HUP "$HTTPD_PID"
sleep 0.3
grep -q "not reloaded" "$T/httpd.log" || fail "no warning for the refused reload"
as "$C" GET /jobs
expect_eq "$CODE" 200 "carol's token kept after a refused reload"
chmod 0600 "$TOKENS"
echo "ok: SIGHUP adds a token; a refused file keeps the loaded tokens"

ctl cancel "$job" >/dev/null || fail "cancel"
kill -TERM "$REELD_PID"
wait "$REELD_PID"
REELD_PID=
start_reeld
as "$B" GET "/jobs/$job"
code_is 404 JOB_NOT_FOUND "bob after a restart"
as "$A" GET "/jobs/$job"
expect_eq "$(jq -r .data.status <<<"$BODY")" cancelled "alice's job after a restart"
echo "ok: owners survive a reeld restart"

# A reel-httpd that reeld does not trust cannot act for anyone.
stop_httpd
chmod 0755 "$T" "$RUN"
chmod 0666 "$SOCK"
chmod 0777 "$T/up"
HTTPD_AS=nobody start_httpd --upload-dir "$T/up"
BODY=$(curl -s -w '\n%{http_code}' "$API/jobs")
expect_eq "${BODY##*$'\n'}" 503 "untrusted reel-httpd"
grep -q -- "--api-user" <<<"$BODY" || fail "the refusal does not say what to do: $BODY"
stop_httpd
kill -TERM "$REELD_PID"
wait "$REELD_PID"
REELD_PID=
start_reeld --api-user nobody
chmod 0666 "$SOCK"
HTTPD_AS=nobody start_httpd --upload-dir "$T/up"
BODY=$(curl -s -w '\n%{http_code}' "$API/jobs")
expect_eq "${BODY##*$'\n'}" 200 "reel-httpd as --api-user"
echo "ok: reeld refuses IDENTIFY from an untrusted user (503 naming --api-user) and accepts --api-user's"
stop_httpd
