#!/usr/bin/env bash
# The real-media corpus (issue 11): every corpus file goes through reelctl upload + submit on a
# real reeld with the real reel-worker, and each outcome is compared with
# tests/corpus/expected.tsv, which says what the file DESERVES (ok, or the documented error
# code), not what reel does today. The script fails when any outcome differs.
#
# Jobs, per line of expected.tsv:
#   template_only     --video F --template-only
#   full_as_source    --video F --template PT      (PT: the fixed partner template)
#   full_as_template  --video PS --template F      (PS: the fixed partner source)
# Outcome: "ok" when the job completes (a template-only job with style.json, a full job with
# an output.mp4 in which ffprobe finds an H.264 stream; else BAD_OUTPUT); otherwise the upload's
# or submit's error code (UNSUPPORTED_FORMAT, ...) or the failed job's error.code (STAGE_FAILED,
# WORKER_CRASHED, JOB_TIMEOUT, ...); CANCELLED when the script's deadline cancelled it.
#
# Partners: generated here with the ffmpeg program, 4 s 320x180 at 25 fps with AAC audio, so
# the corpus file is the only unusual input of each full job, and a full job's cost is mostly
# the corpus file's own decode (and, as a source, the render at its resolution class):
#   PT: four lavfi pictures, a hard cut every second, warm grade, kicks at 120 BPM;
#   PS: a pan across testsrc2 with a hard cut at 2.5 s to a mandelbrot zoom, a quiet tone.
#
# Samples: $REEL_SAMPLES/real-media when REEL_SAMPLES is set, else ../shared/testdata/real-media
# beside the repository root. Nothing is copied into the repository. Absent samples: "skip" and
# exit 0 (tests/run.sh's convention), but exit 1 when CI=true. Every file in the corpus's five
# folders (video, cuts, audio, music, damaged) must have a template_only line, and every file
# listed must exist.
#
# Time: uploads run two at a time; jobs are all submitted as their uploads answer, most
# expensive first (pixels x frames from manifest.json), and reeld runs --slots of them at a
# time (REEL_CORPUS_SLOTS, default nproc: at one slot the serial parts of a job, spawns and
# single-threaded stages, leave cores idle). Finished jobs are collected while others run. The
# total, the phases and the ten slowest jobs are printed.
#
# Build flavours. Plain build: every line (283 jobs). Sanitizer build (BIN matches *address*
# or *undefined*, 2-4x slower): the three jobs of the 12 files in SAN_FULL below only, to keep
# make check within CI's time (the plain build already ran every file), small files chosen so that each takes a
# different path through the plan and the render (rotation with 5.1 audio, SAR 2:1, odd
# 161x121, 4:4:4, 4:2:2, 10-bit VP9, VP9+Opus, AVI MPEG-4+MP3, an edit list, a cut on every
# frame, black and digital silence, fragmented MP4). The full corpus through style_application
# and rendering runs in the plain build only. REEL_CORPUS_MODE=all|sanitizer|template-only
# overrides the choice.
#
# The 6-minute 1080p file (video/ax_long_1080p_6min.mp4, 10883 frames at 30 fps, near black,
# silent): its template-only job and its full job as template run (in the plain build each
# costs one analysis decode, 37-62 s wall). Its full job as SOURCE renders up to 6 minutes of
# 1080p: measured 164 s wall alone (rendering 119 s), close to half of the budget of the whole
# script (about 6 minutes), and it exercises nothing the other two jobs and the other sources
# do not, except the render's length. So it runs only when REEL_CORPUS_LONG=1; otherwise its
# line is reported as "not run" and counts neither as a pass nor as a failure.
#
# Other knobs: REEL_CORPUS_ONLY=REGEX (only files whose path matches, for development; only
# those need to exist),
# REEL_CORPUS_RESULTS=DIR (keep results.tsv, every job's detail view and reeld's log there),
# REEL_CORPUS_DEADLINE=S (default 1500: jobs still unfinished then are cancelled),
# REEL_CORPUS_JOB_TIMEOUT=S (reeld --job-timeout, default 600).
#
. "$(dirname "$0")/lib.sh"
T0=$EPOCHREALTIME
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if [ -n "${REEL_SAMPLES:-}" ]; then
	CORPUS=$REEL_SAMPLES/real-media
else
	CORPUS=$ROOT/../shared/testdata/real-media
fi
EXPECTED=$ROOT/tests/corpus/expected.tsv
if [ ! -d "$CORPUS/video" ]; then
	[ "${CI:-}" = true ] && fail "no corpus at $CORPUS (CI=true: the samples are required; set REEL_SAMPLES)"
	echo "skip: no corpus at $CORPUS (set REEL_SAMPLES to a directory holding real-media/)"
	exit 0
fi
[ -f "$EXPECTED" ] || fail "no $EXPECTED"
CORPUS=$(cd "$CORPUS" && pwd)

case $BIN in *address* | *undefined*) mode=sanitizer ;; *) mode=all ;; esac
mode=${REEL_CORPUS_MODE:-$mode}
case $mode in all | sanitizer | template-only) ;; *) fail "REEL_CORPUS_MODE=$mode: all, sanitizer or template-only" ;; esac
# The sanitizer build's full jobs: small files, each a different path through the analysis,
# the plan and the render (see the header).
SAN_FULL=" video/mb_rotate-buck-bunny.mp4 video/mb_sar_2x1.mp4 video/ax_bear-vp9-odd-dimensions.webm
	video/ax_sample_with_chapters.mkv video/ae_test_yuv422p.mp4 video/ax_roadtrip-vp92-10bit.webm
	video/mb_trim-buck-bunny.webm video/mb_mpeg4-mp3.avi video/ax_edit_list_preroll_sync.mp4
	cuts/los_every_frame_changes.mp4 video/ax_silent-black-10s.mp4 video/mb_frag-buck-bunny.mp4 "
SAN_FULL=$(tr -s ' \t\n' ' ' <<<"$SAN_FULL")
SLOTS=${REEL_CORPUS_SLOTS:-$(nproc)}
DEADLINE=${REEL_CORPUS_DEADLINE:-1500}
LONG=video/ax_long_1080p_6min.mp4

# --- the expectations, checked against the corpus on disk
declare -A want why
files=()
while IFS=$'\t' read -r f kind exp reason; do
	case $f in '' | '#'*) continue ;; esac
	case $kind in template_only | full_as_source | full_as_template) ;; *) fail "expected.tsv: bad kind '$kind' for $f" ;; esac
	[ -n "$exp" ] || fail "expected.tsv: no expectation for $f $kind"
	[ -f "$CORPUS/$f" ] || [[ -n ${REEL_CORPUS_ONLY:-} && ! $f =~ $REEL_CORPUS_ONLY ]] ||
		fail "expected.tsv names $f, which is not in $CORPUS"
	[ -z "${want[$f|$kind]+x}" ] || fail "expected.tsv: $f $kind twice"
	[ -n "${want[$f|template_only]+x}" ] || [ "$kind" = template_only ] ||
		fail "expected.tsv: $f $kind before its template_only line"
	[ "$kind" = template_only ] && files+=("$f")
	want[$f|$kind]=$exp
	why[$f|$kind]=$reason
done <"$EXPECTED"
while IFS= read -r f; do
	[ -n "${want[$f|template_only]+x}" ] || fail "corpus file $f has no line in expected.tsv"
done < <(cd "$CORPUS" && find video cuts audio music damaged -type f | sort)

# Most expensive first: reeld's queue is FIFO, so a long job submitted last would run alone.
declare -A cost
if [ -f "$CORPUS/manifest.json" ]; then
	while IFS=$'\t' read -r f c; do cost[$f]=$c; done < <(jq -r '.files[] |
		[.file, (((.width // 0) * (.height // 0)) * ([.duration_s // 1, 400] | min) *
		((.fps // 30) | if . > 120 then 120 else . end) | floor)] | @tsv' "$CORPUS/manifest.json")
fi
mapfile -t files < <(for f in "${files[@]}"; do
	[[ -n ${REEL_CORPUS_ONLY:-} && ! $f =~ $REEL_CORPUS_ONLY ]] && continue
	[[ $mode = sanitizer && $SAN_FULL != *" $f "* ]] && continue
	echo "${cost[$f]:-0} $f"
done | sort -k1,1nr -k2 | cut -d' ' -f2-)
[ "${#files[@]}" -gt 0 ] || fail "no corpus file selected (REEL_CORPUS_ONLY=${REEL_CORPUS_ONLY:-})"

# --- the fixed partners
MEDIA=$T/media
mkdir -p "$MEDIA"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
ff -f lavfi -i "testsrc2=s=320x180:r=25:d=1" -f lavfi -i "smptebars=s=320x180:r=25:d=1" \
	-f lavfi -i "mandelbrot=s=320x180:r=25" -f lavfi -i "rgbtestsrc=s=320x180:r=25:d=1" \
	-f lavfi -i "aevalsrc='0.8*sin(2*PI*60*t)*exp(-20*mod(t,0.5))+0.2*sin(2*PI*900*t)*exp(-50*mod(t,0.5))':s=48000:d=4" \
	-filter_complex "[2:v]trim=duration=1,setpts=PTS-STARTPTS[m];[0:v][1:v][m][3:v]concat=n=4:v=1:a=0,\
eq=contrast=1.15:saturation=1.4,colorbalance=rs=0.15:bs=-0.15,format=yuv420p[v]" \
	-map "[v]" -map 4:a -c:v libx264 -preset veryfast -crf 22 -c:a aac -b:a 96k \
	"$MEDIA/partner_template.mp4" || fail "partner template"
ff -filter_complex "testsrc2=s=640x180:r=25:d=2.5,crop=320:180:x='t*100':y=0,format=yuv420p[p];\
mandelbrot=s=320x180:r=25,trim=duration=1.5,setpts=PTS-STARTPTS,format=yuv420p[z];\
[p][z]concat=n=2:v=1:a=0,eq=saturation=0.7[v];\
aevalsrc='0.1*sin(2*PI*330*t)*exp(-4*mod(t,0.6))+0.03*sin(2*PI*220*t)':s=48000:d=4[a]" \
	-map "[v]" -map "[a]" -c:v libx264 -preset veryfast -crf 22 -c:a aac -b:a 96k \
	"$MEDIA/partner_source.mp4" || fail "partner source"

start_reeld --worker-path "$BIN/reel-worker" --slots "$SLOTS" --journal-sync never \
	--table-slots 1024 --job-timeout "${REEL_CORPUS_JOB_TIMEOUT:-600}"
PT=$(ctl upload "$MEDIA/partner_template.mp4") || fail "upload partner template: $PT"
PS=$(ctl upload "$MEDIA/partner_source.mp4") || fail "upload partner source: $PS"

# --- upload and submit, in cost order; reeld starts working while the rest are uploaded.
# Replies are parsed with bash where they succeed: on two busy cores every jq or date process
# costs tens of milliseconds.
# R[key] = "actual<TAB>phase<TAB>stage<TAB>message"; key = file|kind
declare -A R JOB UPMS WALL STAGES
keys=()
clean() { printf '%s' "$1" | tr '\t\n\r' '   '; }
# err_of JSON: "CODE<TAB>detail" of an error envelope (or of anything else reelctl printed)
err_of() {
	jq -r '[.error.code // "NO_CODE", ((.error.detail // .message // "-") | gsub("[\t\n\r]"; " "))] | @tsv' \
		<<<"$1" 2>/dev/null || printf 'NO_REPLY\t%s\n' "$(clean "$1")"
}
# Uploads run REEL_CORPUS_UPLOADS (default 2) at a time in the background, each into
# $UP/N.json; the loop below takes them in order and submits, so jobs queue in cost order.
UP=$T/uploads
mkdir -p "$UP"
NUP=${REEL_CORPUS_UPLOADS:-2}
upload_stream() {
	local i t
	for ((i = $1; i < ${#files[@]}; i += NUP)); do
		t=$EPOCHREALTIME
		ctl --json upload "$CORPUS/${files[i]}" >"$UP/$i.json" 2>&1
		awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d\n", (b - a) * 1000 }' >"$UP/$i.ms"
		mv "$UP/$i.ms" "$UP/$i.done"
	done
}
T_UP=$EPOCHREALTIME
for ((w = 0; w < NUP; w++)); do
	upload_stream "$w" &
	RECV_PIDS+=($!) # stopped by lib.sh's cleanup if the test ends early
done
for ((i = 0; i < ${#files[@]}; i++)); do
	f=${files[i]}
	kinds=(template_only)
	if [ "$mode" = all ] || { [ "$mode" = sanitizer ] && [[ $SAN_FULL == *" $f "* ]]; }; then
		for k in full_as_source full_as_template; do
			[ -n "${want[$f|$k]+x}" ] && kinds+=("$k")
		done
	fi
	w=0
	until [ -f "$UP/$i.done" ]; do
		sleep 0.05
		w=$((w + 1))
		[ "$w" -lt 12000 ] || fail "upload of $f has not answered in 600 s"
	done
	out=$(<"$UP/$i.json")
	UPMS[$f]=$(<"$UP/$i.done")
	vid=
	[[ $out =~ ^\{\"success\":true.*\"video_id\":\"(vid_[0-9a-f]+)\" ]] && vid=${BASH_REMATCH[1]}
	[ -n "$vid" ] || uperr=$(err_of "$out")
	for k in "${kinds[@]}"; do
		key="$f|$k"
		keys+=("$key")
		if [ "$k" = full_as_source ] && [ "$f" = "$LONG" ] && [ "${REEL_CORPUS_LONG:-0}" != 1 ]; then
			R[$key]=$'not-run\t-\t-\tREEL_CORPUS_LONG=1 runs it (6 min of 1080p to render)'
			continue
		fi
		if [ -z "$vid" ]; then
			R[$key]="${uperr%%$'\t'*}"$'\tupload\tprobe\t'"${uperr#*$'\t'}"
			continue
		fi
		case $k in
		template_only) args=(--video "$vid" --template-only) ;;
		full_as_source) args=(--video "$vid" --template "$PT") ;;
		full_as_template) args=(--video "$PS" --template "$vid") ;;
		esac
		sub=$(ctl --json submit "${args[@]}" 2>&1)
		if [[ $sub =~ ^\{\"success\":true.*\"job_id\":\"(job_[0-9a-f]+)\" ]]; then
			JOB[$key]=${BASH_REMATCH[1]}
		else
			e=$(err_of "$sub")
			R[$key]="${e%%$'\t'*}"$'\tsubmit\t-\t'"${e#*$'\t'}"
		fi
	done
done
T_SUB=$EPOCHREALTIME
echo "uploaded ${#files[@]} files and submitted ${#JOB[@]} jobs in" \
	"$(awk -v a="$T_UP" -v b="$T_SUB" 'BEGIN { printf "%.1f", b - a }') s (mode $mode, $SLOTS slots)"

# collect KEY: the outcome of a terminal job, from its detail view and its artifacts.
collect() {
	local key=$1 j=${JOB[$1]} res st code stage msg wall stg
	res=$(ctl --json result "$j" 2>/dev/null)
	[ -n "${REEL_CORPUS_RESULTS:-}" ] && printf '%s\n' "$res" >"$REEL_CORPUS_RESULTS/jobs/$j.json"
	IFS=$'\t' read -r st code stage msg wall stg < <(jq -r 'def ms: (.[0:19] + "Z" | fromdateiso8601) * 1000 + (.[20:23] | tonumber);
		.data | [(.status // "NO_RESULT"), (.error.code // "-"), (.error.stage // "-"),
		((.error.message // "-") | gsub("[\t\n\r]"; " ")),
		(if .started_at and .completed_at then ((.completed_at | ms) - (.started_at | ms)) / 1000 else "-" end),
		([.stages[]? | "\(.stage)=\(.seconds * 100 | round / 100)"] | join(",") | if . == "" then "-" else . end)] | @tsv' <<<"$res" 2>/dev/null)
	WALL[$key]=${wall:--}
	STAGES[$key]=${stg:--}
	case $st in
	completed)
		if [ "${key#*|}" = template_only ]; then
			if [ -s "$STATE/jobs/$j/style.json" ]; then R[$key]=$'ok\tjob\t-\t-'; else R[$key]=$'BAD_OUTPUT\tjob\t-\tno style.json'; fi
		elif ffprobe -v error -select_streams v:0 -show_entries stream=codec_name -of csv=p=0 \
			"$STATE/jobs/$j/output.mp4" 2>/dev/null | grep -qx h264; then
			R[$key]=$'ok\tjob\t-\t-'
		else
			R[$key]=$'BAD_OUTPUT\tjob\trendering\toutput.mp4 missing or without an H.264 stream'
		fi
		;;
	failed) R[$key]="$code"$'\tjob\t'"$stage"$'\t'"$msg" ;;
	cancelled) R[$key]=$'CANCELLED\tjob\t'"$stage"$'\tcancelled at the deadline' ;;
	*) R[$key]="${st:-NO_RESULT}"$'\tjob\t-\tresult: '"$(clean "$res")" ;;
	esac
}

# --- wait for every job: reelstat reads the whole table at once; finished jobs are collected
# while the others run.
[ -n "${REEL_CORPUS_RESULTS:-}" ] && mkdir -p "$REEL_CORPUS_RESULTS/jobs"
declare -A KEY_OF
for key in "${!JOB[@]}"; do KEY_OF[${JOB[$key]}]=$key; done
t_dead=$((SECONDS + DEADLINE))
while :; do
	left=0
	while read -r j st; do
		key=${KEY_OF[$j]:-}
		[ -n "$key" ] || continue
		case $st in
		queued | processing) left=$((left + 1)) ;;
		*) [ -n "${R[$key]+x}" ] || collect "$key" ;;
		esac
	done < <(stat_json | jq -r '.jobs[] | "\(.job_id) \(.status)"')
	[ "$left" = 0 ] && break
	if [ "$SECONDS" -ge "$t_dead" ]; then
		echo "deadline of $DEADLINE s: cancelling $left unfinished jobs"
		for key in "${!JOB[@]}"; do [ -n "${R[$key]+x}" ] || ctl cancel "${JOB[$key]}" >/dev/null 2>&1; done
		sleep 3
		for key in "${!JOB[@]}"; do [ -n "${R[$key]+x}" ] || collect "$key"; done
		break
	fi
	sleep 1
done
for key in "${!JOB[@]}"; do [ -n "${R[$key]+x}" ] || collect "$key"; done
T_DONE=$EPOCHREALTIME

# --- compare, report
results=$T/results.tsv
printf 'file\tkind\texpected\tactual\tphase\tstage\twall_s\tupload_ms\tjob\tstages\tmessage\n' >"$results"
pass=0 bad=0 notrun=0
for key in "${keys[@]}"; do
	f=${key%|*}
	k=${key#*|}
	IFS=$'\t' read -r act phase stage msg <<<"${R[$key]}"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$f" "$k" "${want[$key]}" "$act" "$phase" \
		"$stage" "${WALL[$key]:--}" "${UPMS[$f]}" "${JOB[$key]:--}" "${STAGES[$key]:--}" "$msg" >>"$results"
	if [ "$act" = not-run ]; then
		notrun=$((notrun + 1))
	elif [ "$act" = "${want[$key]}" ]; then
		pass=$((pass + 1))
	else
		bad=$((bad + 1))
	fi
done
T_END=$EPOCHREALTIME
if [ -n "${REEL_CORPUS_RESULTS:-}" ]; then
	mkdir -p "$REEL_CORPUS_RESULTS"
	cp "$results" "$REEL_CORPUS_RESULTS/results.tsv"
	cp "$T/reeld.log" "$REEL_CORPUS_RESULTS/reeld.log"
fi

echo "--- outcomes that differ from tests/corpus/expected.tsv ($bad)"
awk -F'\t' 'NR > 1 && $4 != $3 && $4 != "not-run" {
	printf "%s %s: expected %s, got %s (%s%s) %s\n", $1, $2, $3, $4, $5,
		($6 != "-" ? ", " $6 : ""), ($11 != "-" ? $11 : "") }' "$results"
echo "--- not run ($notrun)"
awk -F'\t' 'NR > 1 && $4 == "not-run" { print $1, $2 ": " $11 }' "$results"
echo "--- slowest jobs (wall time from started_at to completed_at)"
awk -F'\t' 'NR > 1 && $7 != "-"' "$results" | sort -t$'\t' -k7,7gr | head -n 10 |
	awk -F'\t' '{ printf "%8.2f s  %s %s (%s) %s\n", $7, $1, $2, $4, $10 }'
echo "--- summary"
echo "$((pass + bad + notrun)) outcomes: $pass as expected, $bad differ, $notrun not run"
awk -v t0="$T0" -v up="$T_UP" -v sb="$T_SUB" -v done="$T_DONE" -v end="$T_END" 'BEGIN {
	printf "times: setup (partners, reeld) %.1f s, upload+submit %.1f s, last job done %.1f s after the first upload, total %.1f s\n",
		up - t0, sb - up, done - up, end - t0 }'
[ "$bad" -eq 0 ] || fail "$bad corpus outcomes differ from tests/corpus/expected.tsv"
echo ok
