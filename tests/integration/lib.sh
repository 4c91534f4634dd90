# Shared by the integration tests: each test sources this, gets a real reeld
# in fresh temporary directories, and is cleaned up on exit whatever happens
# (reeld stopped, its workers killed, temp dirs removed).
set -u
BIN=${BIN:-build}
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
T=$(mktemp -d /tmp/reel-it.XXXXXX)
# Run as root, reeld switches workers to an unprivileged user, which must
# be able to pass through here to the state dir (docs/security.md).
chmod 0711 "$T"
RUN=$T/run
STATE=$T/state
SOCK=$RUN/reeld.sock
REELD_PID=
HTTPD_PID=
FAKE=$BIN/tests/fake_worker
RECV_PIDS=()
export NO_PROXY=127.0.0.1 no_proxy=127.0.0.1

cleanup() {
	for p in "${RECV_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "$HTTPD_PID" ] && kill -TERM "$HTTPD_PID" 2>/dev/null && wait "$HTTPD_PID" 2>/dev/null
	if [ -n "$REELD_PID" ] && kill -0 "$REELD_PID" 2>/dev/null; then
		kill -CONT "$REELD_PID" 2>/dev/null
		pkill -KILL -P "$REELD_PID" 2>/dev/null
		kill -TERM "$REELD_PID" 2>/dev/null
		for _ in $(seq 50); do
			kill -0 "$REELD_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$REELD_PID" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT

fail() {
	echo "FAIL: $*" >&2
	if [ -f "$T/reeld.log" ]; then
		echo "--- reeld log (tail) ---" >&2
		tail -n "${REEL_LOG_LINES:-30}" "$T/reeld.log" >&2
	fi
	if [ -f "$T/httpd.log" ]; then
		echo "--- reel-httpd log (tail) ---" >&2
		tail -n "${REEL_LOG_LINES:-30}" "$T/httpd.log" >&2
	fi
	exit 1
}

# start_reeld [reeld options...]: starts reeld with the fake worker unless
# --worker-path is given, and waits until its socket answers.
start_reeld() {
	local worker=(--worker-path "$FAKE")
	case " $* " in *" --worker-path "*) worker=() ;; esac
	mkdir -p "$RUN" "$STATE"
	"$BIN/reeld" --runtime-dir "$RUN" --state-dir "$STATE" "${worker[@]}" \
		"$@" >>"$T/reeld.log" 2>&1 &
	REELD_PID=$!
	for _ in $(seq 100); do
		[ -S "$SOCK" ] && ctl list >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	fail "reeld did not start"
}

# start_httpd [reel-httpd options...]: reel-httpd on a free loopback port
# for this test's reeld; sets API (its base URL) and HTTPD_PID. With
# HTTPD_AS=USER it runs as that user (needs root).
start_httpd() {
	local as=()
	[ -n "${HTTPD_AS:-}" ] && as=(setpriv --reuid="$HTTPD_AS" \
		--regid="$(id -g "$HTTPD_AS")" --clear-groups)
	: >"$T/httpd.log"
	"${as[@]}" "$BIN/reel-httpd" --runtime-dir "$RUN" --port 0 \
		--upload-dir "$T" "$@" >>"$T/httpd.log" 2>&1 &
	HTTPD_PID=$!
	local port=
	for _ in $(seq 100); do
		port=$(sed -n 's/.*listening on .* port \([0-9]*\).*/\1/p' "$T/httpd.log")
		[ -n "$port" ] && break
		kill -0 "$HTTPD_PID" 2>/dev/null || fail "reel-httpd exited"
		sleep 0.05
	done
	[ -n "$port" ] || fail "reel-httpd did not start"
	API=http://127.0.0.1:$port/api/v1
}

# stop_httpd: SIGTERM and wait; it must exit 0 with no sanitizer report.
stop_httpd() {
	local rc=0
	kill -TERM "$HTTPD_PID"
	wait "$HTTPD_PID" 2>/dev/null || rc=$?
	HTTPD_PID=
	expect_eq "$rc" 0 "reel-httpd's exit status"
	if grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/httpd.log"; then
		fail "reel-httpd: sanitizer report"
	fi
}

# start_receiver NAME [webhook_receiver options]: a test webhook receiver
# recording into $T/NAME; sets PORT and URL; stopped by cleanup.
start_receiver() {
	local name=$1
	shift
	mkdir -p "$T/$name"
	"$BIN/tests/webhook_receiver" -t 600 "$@" "$T/$name" >"$T/$name.port" &
	RECV_PIDS+=($!)
	for _ in $(seq 100); do
		[ -s "$T/$name.port" ] && break
		sleep 0.02
	done
	PORT=$(head -n 1 "$T/$name.port")
	[ -n "$PORT" ] || fail "receiver $name did not start"
	URL=http://127.0.0.1:$PORT/hook
}

# kill9_reeld: kill -9, as a crash would; the workers die with reeld.
kill9_reeld() {
	kill -KILL "$REELD_PID"
	wait "$REELD_PID" 2>/dev/null
	REELD_PID=
	for _ in $(seq 100); do
		pgrep -f "$FAKE" >/dev/null || return 0
		sleep 0.05
	done
	fail "workers outlived reeld"
}

ctl() {
	"$BIN/reelctl" --socket "$SOCK" "$@"
}

stat_json() {
	"$BIN/reelstat" --runtime-dir "$RUN" --json
}

# A small file: the fake worker's probe accepts anything.
fake_video() {
	head -c 4096 /dev/urandom >"$T/$1"
	ctl upload "$T/$1"
}

# job_field JOB JQ-FILTER
job_field() {
	ctl --json status "$1" | jq -r ".data$2"
}

wait_terminal() {
	ctl wait "$1" >/dev/null 2>&1
	local st
	st=$(job_field "$1" .status)
	case $st in completed | failed | cancelled) ;; *) fail "$1 is $st" ;; esac
}

expect_eq() {
	[ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
}

# The pids of reeld's current workers.
worker_pids() {
	pgrep -P "$REELD_PID" || true
}

# None of the given worker pids, nor anything in their process groups,
# may still exist.
expect_gone() {
	local p
	for p in "$@"; do
		kill -0 "$p" 2>/dev/null && fail "worker $p still alive"
		[ -z "$(pgrep -g "$p")" ] || fail "process group $p not empty"
	done
	return 0
}
