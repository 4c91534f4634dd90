#!/usr/bin/env bash
# Soak: N jobs (default 300) end while their signed webhooks' receiver is
# down; halfway through the outage reeld is killed with -9 and restarted;
# the receiver comes up later. 100% of events must arrive, once per event
# id at least, and every request's signature must verify
# (tests/webhook_verify.c, an independent verifier).
# usage: BIN=build tests/soak/webhook_outage.sh [N] [DOWN_SECONDS]
. "$(dirname "$0")/../integration/lib.sh"
N=${1:-300}
DOWN=${2:-20}
export REEL_WEBHOOK_RETRY_BASE_MS=500
printf 'whsec_%s\n' "$(head -c 32 /dev/urandom | base64)" >"$T/secret"
start_receiver hooks -w "$T/up"
url=$URL
start_reeld --slots 4 --webhook-secret-file "$T/secret"
vid=$(fake_video src.mp4) || fail "upload"
jobs=()
for i in $(seq "$N"); do
	jobs+=("$(ctl submit --video "$vid" --webhook "$url" --config x-fake=done --config x-i=$i)") || fail "submit $i"
done
sleep "$((DOWN / 2))"
kill9_reeld
start_reeld --slots 4 --webhook-secret-file "$T/secret"
sleep "$((DOWN - DOWN / 2))"
touch "$T/up"
up=$(date +%s)
for _ in $(seq 3000); do
	got=$(grep -h "^webhook-id:" "$T/hooks"/*.req 2>/dev/null | sort -u | wc -l)
	[ "$got" -ge "$N" ] && break
	sleep 0.1
done
done_s=$(($(date +%s) - up))
verify=$("$BIN/tests/webhook_verify" "$T/secret" "$T/hooks"/*.req | tail -n 1)
echo "events $N, receiver down ${DOWN} s with a kill -9 of reeld, delivered $got ($((100 * got / N))%) within ${done_s} s of coming up, requests $(ls "$T/hooks"/*.req | wc -l), signatures: $verify"
[ "$got" -eq "$N" ] && [ "${verify%% *}" = ok ] || fail "soak failed"
