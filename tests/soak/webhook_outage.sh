#!/usr/bin/env bash
# Soak: N jobs (default 300) end while their signed webhooks' receiver is
# down; it comes up later. 100% of events must arrive and every request's
# signature must verify (tests/webhook_verify.c, an independent verifier).
# usage: BIN=build tests/soak/webhook_outage.sh [N] [DOWN_SECONDS]
. "$(dirname "$0")/../integration/lib.sh"
N=${1:-300}
DOWN=${2:-20}
RECV=$BIN/tests/webhook_receiver
trap '[ -n "${RECV_PID:-}" ] && kill "$RECV_PID" 2>/dev/null; cleanup' EXIT
export NO_PROXY=127.0.0.1 no_proxy=127.0.0.1 REEL_WEBHOOK_RETRY_BASE_MS=500
printf 'whsec_%s\n' "$(head -c 32 /dev/urandom | base64)" >"$T/secret"
mkdir -p "$T/hooks"
"$RECV" -t 600 -w "$T/up" "$T/hooks" >"$T/hooks.port" &
RECV_PID=$!
for _ in $(seq 100); do [ -s "$T/hooks.port" ] && break; sleep 0.02; done
url=http://127.0.0.1:$(head -n 1 "$T/hooks.port")/hook
start_reeld --slots 4 --webhook-secret-file "$T/secret"
vid=$(fake_video src.mp4) || fail "upload"
jobs=()
for i in $(seq "$N"); do
	jobs+=("$(ctl submit --video "$vid" --webhook "$url" --config x-fake=done --config x-i=$i)") || fail "submit $i"
done
start=$(date +%s)
sleep "$DOWN"
touch "$T/up"
up=$(date +%s)
for _ in $(seq 3000); do
	got=$(grep -h "^webhook-id:" "$T/hooks"/*.req 2>/dev/null | sort -u | wc -l)
	[ "$got" -ge "$N" ] && break
	sleep 0.1
done
done_s=$(($(date +%s) - up))
verify=$("$BIN/tests/webhook_verify" "$T/secret" "$T/hooks"/*.req | tail -n 1)
echo "events $N, receiver down ${DOWN} s, delivered $got ($((100 * got / N))%) within ${done_s} s of coming up, requests $(ls "$T/hooks"/*.req | wc -l), signatures: $verify"
[ "$got" -eq "$N" ] && [ "${verify%% *}" = ok ] || fail "soak failed"
