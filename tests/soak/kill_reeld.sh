#!/usr/bin/env bash
# Soak: a stream of submissions while reeld is killed with -9 K times
# (default 20) and restarted. Every acknowledged job must survive and end
# exactly once, and its webhook receiver must see exactly one event id per
# job (redeliveries of the same id are allowed: at least once).
# usage: BIN=build tests/soak/kill_reeld.sh [K] [JOBS_PER_ROUND]
. "$(dirname "$0")/../integration/lib.sh"
K=${1:-20}
PER=${2:-10}
export REEL_WEBHOOK_RETRY_BASE_MS=100
start_receiver hooks
url=$URL

start_reeld --slots 2
vid=$(fake_video src.mp4) || fail "upload"
acked=()
for round in $(seq "$K"); do
	for i in $(seq "$PER"); do
		j=$(ctl submit --video "$vid" --webhook "$url" \
			--config x-fake=progress,sleep=$((RANDOM % 150)),done --config x-r=$round-$i 2>/dev/null) &&
			acked+=("$j")
	done
	sleep "0.$((RANDOM % 5))"
	kill9_reeld
	start_reeld --slots 2
done
for j in "${acked[@]}"; do wait_terminal "$j"; done
lost=0 twice=0
for j in "${acked[@]}"; do
	ctl status "$j" >/dev/null 2>&1 || lost=$((lost + 1))
done
# Wait for the outbox to drain, then count event ids per job.
for _ in $(seq 600); do
	n=$(grep -h "^webhook-id:" "$T/hooks"/*.req 2>/dev/null | tr -d '\r' | sort -u | wc -l)
	[ "$n" -ge "${#acked[@]}" ] && break
	sleep 0.1
done
ids=$(grep -h "^webhook-id:" "$T/hooks"/*.req | tr -d '\r' | sed 's/^webhook-id: //' | sort -u)
twice=$(sed 's/\..*//' <<<"$ids" | sort | uniq -d | wc -l)
requests=$(ls "$T/hooks"/*.req | wc -l)
ended=$(for j in "${acked[@]}"; do grep -cE "$j (completed|failed|cancelled)" "$T/reeld.log"; done | awk '$1 > 1' | wc -l)
echo "kills $K, acknowledged $((${#acked[@]})), lost $lost, jobs with two event ids $twice, jobs ended twice $ended, distinct events $(wc -l <<<"$ids"), requests $requests"
[ "$lost" -eq 0 ] && [ "$twice" -eq 0 ] && [ "$ended" -eq 0 ] &&
	[ "$(wc -l <<<"$ids")" -eq "${#acked[@]}" ] || fail "soak failed"
