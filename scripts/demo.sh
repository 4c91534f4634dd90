#!/usr/bin/env bash
# make demo: the main job end to end on generated media. Starts a private
# reeld (runtime and state dirs under demo-out/), uploads a template and a
# source, extracts the template's style (a template-only job), then renders
# the source in that style, and fetches the results into demo-out/:
# styled.mp4, style.json, grade.cube, plan.json and contact.png (template,
# before and after). Exits non-zero if a job does not complete. reeld is
# stopped on exit whatever happens.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build}
OUT=demo-out
rm -rf "$OUT"
mkdir -p "$OUT/run" "$OUT/state"
SOCK=$OUT/run/reeld.sock
ctl() { "$BIN/reelctl" --socket "$SOCK" "$@"; }

echo "== generating media (ffmpeg lavfi sources)"
scripts/make-media.sh "$OUT/media" || exit 1

"$BIN/reeld" --runtime-dir "$OUT/run" --state-dir "$OUT/state" \
	--worker-path "$BIN/reel-worker" --slots 1 2>"$OUT/reeld.log" &
REELD=$!
trap 'kill -TERM $REELD 2>/dev/null; wait $REELD 2>/dev/null' EXIT
for _ in $(seq 100); do ctl list >/dev/null 2>&1 && break; sleep 0.05; done

echo "== uploading"
tpl=$(ctl upload "$OUT/media/template.mp4") || exit 1
src=$(ctl upload "$OUT/media/source.mp4") || exit 1
echo "template $tpl, source $src"

show_end() {
	local job=$1 st
	echo
	st=$(ctl --json status "$job")
	echo "$job: $(jq -r '.data.status + " at " + (.data.progress_percent|tostring) + "%"' <<<"$st")"
	if [ "$(jq -r .data.status <<<"$st")" = failed ]; then
		echo "  stopped in $(jq -r .data.error.stage <<<"$st"): $(jq -r .data.error.message <<<"$st")"
	fi
}

echo "== template-only job: style extraction"
job=$(ctl submit --video "$tpl" --template-only) || exit 1
ctl wait "$job" || { show_end "$job"; exit 1; }
show_end "$job"

echo "== full job: $src in the style of $tpl"
job=$(ctl submit --video "$src" --template "$tpl" --config quality=medium) || exit 1
ctl wait "$job"
show_end "$job"
ctl result "$job" --output "$OUT/styled.mp4" --style "$OUT/style.json" \
	--cube "$OUT/grade.cube" --plan "$OUT/plan.json" \
	--contact "$OUT/contact.png" >/dev/null || exit 1
echo "== job table (reelstat)"
"$BIN/reelstat" --runtime-dir "$OUT/run"
echo "== results in $OUT/"
ls -l "$OUT"/styled.mp4 "$OUT"/style.json "$OUT"/grade.cube "$OUT"/plan.json "$OUT"/contact.png
jq -c '{color_grade, cut_frequency, tempo_bpm, primary_transition, extraction_confidence}' "$OUT/style.json"
