#!/usr/bin/env bash
# Least privilege for workers (docs/security.md), with the fake worker,
# which confines itself exactly as reel-worker does:
#  - a worker that makes a forbidden call (a new socket, exec) dies by
#    SIGSYS and its job fails at that stage, saying the sandbox stopped it;
#  - writing past --worker-file-size-mb is SIGXFSZ, burning more than
#    --worker-cpu-seconds is SIGXCPU, each failed with a clear message;
#  - a running worker has the configured limits, no_new_privs and seccomp
#    mode 2, and when reeld is root it runs as the worker user: its job
#    directory and artifacts belong to that user, while uploads stay
#    reeld's, readable by the worker's group only;
#  - as root, reeld refuses an unknown --worker-user, and a worker told it
#    was switched but still root refuses to run.
. "$(dirname "$0")/lib.sh"
start_reeld --slots 2 --worker-file-size-mb 1 --worker-cpu-seconds 1 \
	--worker-open-files 64
vid=$(fake_video src.mp4) || fail "upload"

# expect_killed JOB STAGE SIG CAUSE: failed at STAGE by signal SIG, with
# the cause the sandbox's signals get (a core dump may be mentioned).
expect_killed() {
	local job=$1 stage=$2 sig=$3 cause=$4 st msg
	wait_terminal "$job"
	st=$(ctl --json status "$job")
	expect_eq "$(jq -r .data.status <<<"$st")" failed "$job status"
	expect_eq "$(jq -r .data.error.stage <<<"$st")" "$stage" "$job stage"
	expect_eq "$(jq -r .data.error.code <<<"$st")" WORKER_CRASHED "$job code"
	msg=$(jq -r .data.error.message <<<"$st")
	case $msg in
	"$stage worker killed by signal $sig"*": $cause") ;;
	*) fail "$job message: $msg" ;;
	esac
	echo "$stage: $msg"
}

job=$(ctl submit --video "$vid" --config "x-fake.video_analysis=forbidden=socket") || fail "submit"
expect_killed "$job" video_analysis "31 (SIGSYS)" "the worker sandbox forbids that system call"
job=$(ctl submit --video "$vid" --config "x-fake.rendering=progress,forbidden=exec") || fail "submit"
expect_killed "$job" rendering "31 (SIGSYS)" "the worker sandbox forbids that system call"
job=$(ctl submit --video "$vid" --config "x-fake.audio_analysis=forbidden=fork") || fail "submit"
expect_killed "$job" audio_analysis "31 (SIGSYS)" "the worker sandbox forbids that system call"

job=$(ctl submit --video "$vid" --config "x-fake.motion_analysis=write=3") || fail "submit"
expect_killed "$job" motion_analysis "25 (SIGXFSZ)" \
	"it wrote past the file size limit of 1 MB (--worker-file-size-mb)"
[ "$(stat -c %s "$STATE/jobs/$job/fake.bin")" -eq 1048576 ] || fail "the file grew past 1 MiB"
job=$(ctl submit --video "$vid" --config "x-fake.style_extraction=spin") || fail "submit"
expect_killed "$job" style_extraction "24 (SIGXCPU)" \
	"it used up its CPU time limit of 1 s (--worker-cpu-seconds)"

# A running worker, seen by the kernel.
job=$(ctl submit --video "$vid" --config "x-fake.video_analysis=sleep=3000,done") || fail "submit"
pid=
for _ in $(seq 100); do
	pid=$(worker_pids | head -n 1)
	[ -n "$pid" ] && grep -q '^Seccomp:[[:space:]]*2' "/proc/$pid/status" 2>/dev/null && break
	sleep 0.05
done
[ -n "$pid" ] || fail "no worker running"
status=$(cat "/proc/$pid/status")
limits=$(cat "/proc/$pid/limits")
grep -q '^Seccomp:[[:space:]]*2$' <<<"$status" || fail "worker not under seccomp: $(grep Seccomp <<<"$status")"
grep -q '^NoNewPrivs:[[:space:]]*1$' <<<"$status" || fail "worker without no_new_privs"
grep -Eq '^Max cpu time +1 +6 +seconds' <<<"$limits" || fail "cpu limit: $(grep cpu <<<"$limits")"
grep -Eq '^Max file size +1048576 +1048576 +bytes' <<<"$limits" || fail "file size limit: $(grep 'file size' <<<"$limits")"
grep -Eq '^Max open files +64 +64 +files' <<<"$limits" || fail "open files limit: $(grep 'open files' <<<"$limits")"
case $BIN in
*address*) ;; # sanitizers cannot live with an address-space limit
*) grep -Eq '^Max address space +4294967296 +4294967296 +bytes' <<<"$limits" ||
	fail "address space limit: $(grep 'address space' <<<"$limits")" ;;
esac

if [ "$(id -u)" -ne 0 ]; then
	echo "not root: the worker user switch is not tested"
	wait_terminal "$job"
	echo ok
	exit 0
fi
nobody=$(id -u nobody)
nogroup=$(id -g nobody)
grep -Eq "^Uid:[[:space:]]+$nobody[[:space:]]+$nobody[[:space:]]+$nobody[[:space:]]+$nobody$" <<<"$status" ||
	fail "worker uid: $(grep Uid <<<"$status")"
grep -Eq "^Gid:[[:space:]]+$nogroup[[:space:]]+$nogroup[[:space:]]+$nogroup[[:space:]]+$nogroup$" <<<"$status" ||
	fail "worker gid: $(grep Gid <<<"$status")"
grep -Eq "^Groups:[[:space:]]*$nogroup[[:space:]]*$" <<<"$status" ||
	fail "worker groups: $(grep Groups <<<"$status")"
wait_terminal "$job"
expect_eq "$(job_field "$job" .status)" completed "sleeping job"
expect_eq "$(stat -c %U "$STATE/jobs/$job")" nobody "job directory owner"
expect_eq "$(stat -c %U "$STATE/jobs/$job/style.json")" nobody "artifact owner"
video=$(ls "$STATE/videos/$vid/src.mp4") || fail "stored video"
expect_eq "$(stat -c '%U %G %a' "$video")" "root $(id -gn nobody) 640" "stored video"
expect_eq "$(stat -c '%U %a' "$STATE/jobs")" "root 2710" "jobs directory"

# reeld will not start workers as a user that does not exist.
if "$BIN/reeld" --runtime-dir "$T/run2" --state-dir "$T/state2" \
	--worker-user no-such-reel-user >"$T/bad-user.log" 2>&1; then
	fail "reeld started with an unknown --worker-user"
fi
grep -q "no-such-reel-user: no such user" "$T/bad-user.log" || fail "unknown user: $(cat "$T/bad-user.log")"

# A worker told it was switched, but still root, refuses before any work.
"$BIN/reel-worker" --stage probe --job job_0123456789ab --user nobody \
	3</dev/null 2>"$T/root-worker.log"
expect_eq "$?" 71 "root worker exit"
grep -q "still has root's uid or gid: refusing to run" "$T/root-worker.log" ||
	fail "root worker: $(cat "$T/root-worker.log")"
echo ok
