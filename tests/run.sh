#!/usr/bin/env bash
# Runs the Check suites and the integration scripts against each build
# flavour in $BINS, then prints one closing line "N passed, N failed".
# Usage: BINS="build build-address-undefined" tests/run.sh [unit|integration]
set -u
cd "$(dirname "$0")/.."
BINS=${BINS:-build}
what=${1:-all}
passed=0
failed=0
failures=()

run_one() {
	local name=$1
	shift
	local log
	log=$(mktemp)
	if "$@" >"$log" 2>&1; then
		passed=$((passed + 1))
		echo "PASS $name: $(grep -E '^[0-9]+%: Checks' "$log" | tail -n 1)"
	else
		failed=$((failed + 1))
		failures+=("$name")
		echo "FAIL $name"
		sed 's/^/    /' "$log" | tail -n 60
	fi
	rm -f "$log"
}

for BIN in $BINS; do
	export BIN
	echo "== $BIN"
	# Sanitized code runs several times slower: stretch Check's timeouts.
	case $BIN in *address* | *undefined*) export CK_TIMEOUT_MULTIPLIER=4 ;; *) unset CK_TIMEOUT_MULTIPLIER ;; esac
	if [ "$what" = all ] || [ "$what" = unit ]; then
		for t in "$BIN"/tests/check_*; do
			[ -x "$t" ] && [ "${t%.[od]}" = "$t" ] || continue
			run_one "$BIN/$(basename "$t")" "$t"
		done
	fi
	if [ "$what" = all ] || [ "$what" = integration ]; then
		for t in tests/integration/test_*.sh; do
			[ -f "$t" ] || continue
			run_one "$BIN/$(basename "$t" .sh)" bash "$t"
		done
	fi
done
if [ "$failed" -ne 0 ]; then
	echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
