#!/usr/bin/env bash
# The soak scripts of tests/soak/ at small counts, so make check proves
# them on every run: 20 jobs with workers killed by -9, 3 kills of reeld
# under submissions, 20 signed events through a receiver outage with a
# kill of reeld in it. docs/RELIABILITY.md has the full-size figures.
set -u
dir=$(dirname "$0")/../soak
"$dir/kill_workers.sh" 20 || exit 1
"$dir/kill_reeld.sh" 3 5 || exit 1
"$dir/webhook_outage.sh" 20 4 || exit 1
