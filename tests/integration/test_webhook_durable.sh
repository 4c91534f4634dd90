#!/usr/bin/env bash
# The durable, signed outbox. Jobs end while their receiver is down; reeld
# is killed with -9 while the events wait for a retry; after a restart and
# once the receiver comes up, every event arrives (at least once, under
# one webhook-id each) and every request's Standard Webhooks signature
# verifies with an independent implementation. `reelctl status --webhooks`
# shows the attempts, and `reelctl webhook redeliver` sends an event again
# under the same id. A bad secret file stops reeld at start with a reason.
. "$(dirname "$0")/lib.sh"
VERIFY=$BIN/tests/webhook_verify
N=${N:-8}

printf 'whsec_%s\n' "$(head -c 32 /dev/urandom | base64)" >"$T/secret"
chmod 600 "$T/secret"
echo "not a secret" >"$T/bad-secret"
mkdir -p "$RUN" "$STATE"
if "$BIN/reeld" --runtime-dir "$RUN" --state-dir "$STATE" \
	--webhook-secret-file "$T/bad-secret" >"$T/bad.log" 2>&1; then
	fail "reeld started with a bad secret"
fi
grep -q "want one line whsec_" "$T/bad.log" || fail "no reason for the bad secret: $(cat "$T/bad.log")"

start_receiver hooks -w "$T/up"
url=$URL

export REEL_WEBHOOK_RETRY_BASE_MS=200
start_reeld -v -v --slots 2 --webhook-secret-file "$T/secret"
vid=$(fake_video src.mp4) || fail "upload"
jobs=()
for i in $(seq "$N"); do
	jobs+=("$(ctl submit --video "$vid" --webhook "$url" --config x-fake=done --config x-i=$i)") ||
		fail "submit $i"
done
for j in "${jobs[@]}"; do wait_terminal "$j"; done
for _ in $(seq 100); do
	[ "$(grep -c "attempt 1 to $url" "$T/reeld.log")" -ge "$N" ] && break
	sleep 0.05
done

out=$(ctl status "${jobs[0]}" --webhooks) || fail "status --webhooks"
grep -q "webhook:    ${jobs[0]}.completed pending after [0-9]* attempts to $url" <<<"$out" ||
	fail "status --webhooks: $out"
grep -q "attempt 1 at .*Couldn't connect\|attempt 1 at .*onnection refused" <<<"$out" ||
	fail "no failed attempt shown: $out"
expect_eq "$(ctl --json status --webhooks "${jobs[0]}" | jq -r '.data.webhooks[0].state')" pending "json state"

kill9_reeld
start_reeld -v -v --slots 2 --webhook-secret-file "$T/secret"
grep -q "webhooks: $N pending events resume" "$T/reeld.log" || fail "no resume of $N events"
touch "$T/up"

for _ in $(seq 300); do
	got=$(grep -h "^webhook-id:" "$T/hooks"/*.req 2>/dev/null | sort -u | wc -l)
	[ "$got" -ge "$N" ] && break
	sleep 0.05
done
expect_eq "$got" "$N" "distinct events delivered"
for j in "${jobs[@]}"; do
	grep -q "^webhook-id: $j.completed"$'\r' "$T/hooks"/*.req || fail "no event for $j"
	expect_eq "$(ctl --json status --webhooks "$j" | jq -r '.data.webhooks[0].state')" delivered "$j state"
done
"$VERIFY" "$T/secret" "$T/hooks"/*.req >"$T/verify.out" || fail "signatures: $(cat "$T/verify.out")"
echo "ok: $N events through a down receiver and a kill -9, all delivered; signatures: $(cat "$T/verify.out")"

before=$(ls "$T/hooks"/*.req | wc -l)
ctl webhook redeliver "${jobs[1]}" >/dev/null || fail "redeliver"
for _ in $(seq 100); do
	[ "$(ls "$T/hooks"/*.req | wc -l)" -gt "$before" ] && break
	sleep 0.05
done
last=$(ls -t "$T/hooks"/*.req | head -n 1)
grep -q "^webhook-id: ${jobs[1]}.completed"$'\r' "$last" || fail "redelivery under another id"
"$VERIFY" "$T/secret" "$last" >/dev/null || fail "redelivery signature"
out=$(ctl webhook redeliver job_000000000000 2>&1) && fail "redeliver of an unknown job"
grep -q JOB_NOT_FOUND <<<"$out" || fail "unknown job: $out"
quiet=$(ctl submit --video "$vid" --config x-fake=done) || fail "submit"
wait_terminal "$quiet"
out=$(ctl webhook redeliver "$quiet" 2>&1) && fail "redeliver without a webhook"
grep -q "has no webhook event" <<<"$out" || fail "no webhook: $out"
echo "ok: redelivery reuses the event id and verifies"
