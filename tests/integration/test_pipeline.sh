#!/usr/bin/env bash
# The whole job, end to end, on generated media with known truth, measured
# independently of reel's own code (labmean for colour, ffmpeg's ebur128
# for loudness, ffmpeg's scene score for cuts):
#  - the CIE76 distance between the output's and the template's mean Lab
#    falls by at least 70% from the source's distance;
#  - the output's integrated loudness is within 1 LU of the template's;
#  - the output's cut frequency is within 20% of the template's;
#  - the output is H.264 + AAC in MP4 with faststart, at the template's
#    aspect ratio and frame rate; style.json, grade.cube, plan.json and
#    contact.png exist, and reelctl fetches them.
. "$(dirname "$0")/lib.sh"
MEDIA=$T/media
mkdir -p "$MEDIA"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }

# Template: 12 s at 30 fps, a hard cut every 1.5 s between four different
# sources, a warm saturated grade, loud 120 BPM kicks.
ff -f lavfi -i "testsrc2=s=640x360:r=30:d=3" -f lavfi -i "smptebars=s=640x360:r=30:d=3" \
	-f lavfi -i "mandelbrot=s=640x360:r=30" -f lavfi -i "rgbtestsrc=s=640x360:r=30:d=3" \
	-f lavfi -i "aevalsrc='0.9*sin(2*PI*60*t)*exp(-20*mod(t,0.5))+0.3*sin(2*PI*900*t)*exp(-50*mod(t,0.5))':s=48000:d=12" \
	-filter_complex "[2:v]trim=duration=3,setpts=PTS-STARTPTS[m];\
[0:v]split[a0][a1];[1:v]split[b0][b1];[m]split[c0][c1];[3:v]split[d0][d1];\
[a0]trim=0:1.5,setpts=PTS-STARTPTS[p0];[b0]trim=0:1.5,setpts=PTS-STARTPTS[p1];\
[c0]trim=0:1.5,setpts=PTS-STARTPTS[p2];[d0]trim=0:1.5,setpts=PTS-STARTPTS[p3];\
[a1]trim=1.5:3,setpts=PTS-STARTPTS[p4];[b1]trim=1.5:3,setpts=PTS-STARTPTS[p5];\
[c1]trim=1.5:3,setpts=PTS-STARTPTS[p6];[d1]trim=1.5:3,setpts=PTS-STARTPTS[p7];\
[p0][p1][p2][p3][p4][p5][p6][p7]concat=n=8:v=1:a=0,\
eq=contrast=1.2:saturation=1.5,colorbalance=rs=0.2:gs=0.05:bs=-0.2:rm=0.15:bm=-0.15,format=yuv420p[v]" \
	-map "[v]" -map 4:a -c:v libx264 -preset veryfast -crf 20 -c:a aac -b:a 128k \
	"$MEDIA/template.mp4" || fail "template"
# Source: 22 s at 25 fps, as a camera would film it: a 14 s pan across a
# strip of four pictures, then an 8 s zoom; cool, desaturated, quiet.
ff -filter_complex "mandelbrot=s=960x360:start_scale=2[a];testsrc2=s=960x360[b];\
smptehdbars=s=960x360[c];mandelbrot=s=960x360:start_scale=0.4,hue=h=120[d];\
[a][b][c][d]hstack=4[v]" -map "[v]" -frames:v 1 "$MEDIA/strip.png" || fail "strip"
ff -filter_complex "movie=$MEDIA/strip.png,loop=-1:1:0,fps=25,crop=640:360:x='t*200':y=0,\
trim=duration=14,setpts=PTS-STARTPTS,format=yuv420p[p];\
mandelbrot=s=640x360:r=25,trim=duration=8,setpts=PTS-STARTPTS,format=yuv420p[m];\
[p][m]concat=n=2:v=1:a=0,eq=saturation=0.6,colorbalance=bs=0.15:rs=-0.1,format=yuv420p[v];\
aevalsrc='0.08*sin(2*PI*330*t)*exp(-5*mod(t,0.6))+0.03*sin(2*PI*220*t)':s=48000:d=22[a]" \
	-map "[v]" -map "[a]" -c:v libx264 -preset veryfast -crf 20 -c:a aac -b:a 128k \
	"$MEDIA/source.mp4" || fail "source"

start_reeld --worker-path "$BIN/reel-worker" --slots 1
ctl run "$MEDIA/source.mp4" --template "$MEDIA/template.mp4" -o "$T/out.mp4" \
	>"$T/run.log" 2>&1 || fail "reelctl run: $(tail -5 "$T/run.log")"
job=$(ctl --json list --status completed | jq -r '.data.jobs[0].job_id')
ctl result "$job" --style "$T/style.json" >/dev/null || fail "result --style"
for a in style.json grade.cube plan.json contact.png output.mp4 report.json; do
	[ -s "$STATE/jobs/$job/$a" ] || fail "no $a"
done
# The detail view's stages: all six ran, each with its wall and CPU time;
# decoding and encoding take CPU.
stages=$(ctl --json result "$job" | jq -c '.data.stages')
expect_eq "$(jq length <<<"$stages")" 6 "stages in the detail view"
jq -e 'all(.[]; .seconds > 0 and .cpu_seconds >= 0 and .peak_rss_kb > 0)' <<<"$stages" >/dev/null ||
	fail "stage figures: $stages"
jq -e '.[] | select(.stage == "rendering") | .cpu_seconds > 0.1' <<<"$stages" >/dev/null ||
	fail "rendering took no CPU: $stages"

# Container: H.264 + AAC, moov before mdat, 16:9 at the template's 30 fps.
probe=$(ffprobe -v error -show_entries stream=codec_name,width,height,avg_frame_rate -of json "$T/out.mp4")
expect_eq "$(jq -r '.streams[] | select(.codec_name=="h264") | .avg_frame_rate' <<<"$probe")" 30/1 "frame rate"
jq -e '.streams[] | select(.codec_name=="aac")' <<<"$probe" >/dev/null || fail "no AAC stream"
w=$(jq -r '.streams[] | select(.codec_name=="h264") | .width' <<<"$probe")
h=$(jq -r '.streams[] | select(.codec_name=="h264") | .height' <<<"$probe")
[ $((w * 9)) -eq $((h * 16)) ] || fail "aspect $w x $h is not 16:9"
head -c 65536 "$T/out.mp4" | grep -q moov || fail "moov atom is not in front (no faststart)"

labmean() {
	ffmpeg -v error -i "$1" -vf "fps=5,scale=160:90,format=rgb24" -f rawvideo - |
		"$BIN/tests/labmean" 160 90
}
read -r tl ta tb <<<"$(labmean "$MEDIA/template.mp4")"
read -r sl sa sb <<<"$(labmean "$MEDIA/source.mp4")"
read -r ol oa ob <<<"$(labmean "$T/out.mp4")"
colour=$(awk -v tl="$tl" -v ta="$ta" -v tb="$tb" -v sl="$sl" -v sa="$sa" -v sb="$sb" \
	-v ol="$ol" -v oa="$oa" -v ob="$ob" 'BEGIN {
	ds = sqrt((sl-tl)^2 + (sa-ta)^2 + (sb-tb)^2);
	dout = sqrt((ol-tl)^2 + (oa-ta)^2 + (ob-tb)^2);
	printf "%.2f %.2f %.1f", ds, dout, 100 * (1 - dout / ds) }')
read -r dsrc dout fall <<<"$colour"
echo "mean Lab: template $tl $ta $tb, source $sl $sa $sb, output $ol $oa $ob"
echo "CIE76 to template: source $dsrc, output $dout: fell by $fall%"
awk -v f="$fall" 'BEGIN { exit !(f >= 70) }' || fail "colour distance fell by only $fall%"

loudness() {
	ffmpeg -hide_banner -nostats -i "$1" -af ebur128 -f null - 2>&1 |
		awk '/Integrated loudness/ { getline; print $2 }'
}
lt=$(loudness "$MEDIA/template.mp4"); lo=$(loudness "$T/out.mp4")
echo "integrated loudness: template $lt LUFS, output $lo LUFS"
awk -v a="$lt" -v b="$lo" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1) }' ||
	fail "output loudness $lo is not within 1 LU of $lt"

cuts_per_min() {
	local n dur
	n=$(ffmpeg -hide_banner -i "$1" -vf "select='gt(scene,0.3)',metadata=print" -an -f null - 2>&1 |
		grep -c 'lavfi.scene_score')
	dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$1")
	awk -v n="$n" -v d="$dur" 'BEGIN { printf "%.2f", n * 60 / d }'
}
ct=$(cuts_per_min "$MEDIA/template.mp4"); co=$(cuts_per_min "$T/out.mp4")
echo "cut frequency (ffmpeg scene score > 0.3): template $ct/min, output $co/min"
awk -v a="$ct" -v b="$co" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.2 * a) }' ||
	fail "output cut frequency $co/min is not within 20% of $ct/min"

# The style-match report agrees with the ffmpeg program's measurements of
# the same output: cuts by the same scene score, colour and loudness.
ctl result "$job" --report "$T/report.json" >"$T/result.txt" || fail "result --report"
grep -q '^colour: .*CIE76' "$T/result.txt" || fail "reelctl result shows no report: $(cat "$T/result.txt")"
rep=$(ctl --json result "$job" | jq -c '.data.report')
cmp -s "$T/report.json" "$STATE/jobs/$job/report.json" || fail "report.json fetched differs"
rd=$(jq '.cuts.delivered_per_min' <<<"$rep")
rc=$(jq '.colour.cie76.reduction * 100' <<<"$rep")
rl=$(jq '.loudness.integrated_lufs' <<<"$rep")
echo "report: delivered $rd cuts/min, CIE76 fell by $rc%, $rl LUFS"
awk -v a="$rd" -v b="$co" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 7) }' ||
	fail "report's $rd cuts/min against ffmpeg's $co/min"
awk -v a="$rc" -v b="$fall" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 5) }' ||
	fail "report's colour reduction $rc% against $fall%"
awk -v a="$rl" -v b="$lo" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.5) }' ||
	fail "report's $rl LUFS against ffmpeg's $lo"
jq -e '.beats.cuts == (.transitions.cut + .transitions.fade + .transitions.dissolve)
	and .decode.lost == 0 and .decode.packets > 0' <<<"$rep" >/dev/null ||
	fail "report: $rep"

# Every documented StyleJSON field is there.
for f in version color_grade aspect_ratio frame_rate audio_style cut_frequency \
	motion_intensity zoom_usage primary_transition secondary_transition use_subtitles \
	detected_beats tempo_bpm music_genre created_at source_duration_seconds \
	extraction_confidence analysis; do
	jq -e "has(\"$f\")" "$T/style.json" >/dev/null || fail "style.json lacks $f"
done

# soundtrack=template: the output carries the template's kicks at the
# template's loudness, as long as the template, with its cuts on the kicks
# (aubio finds the beats in the output, the report counts the cuts on them).
ctl run "$MEDIA/source.mp4" --template "$MEDIA/template.mp4" -o "$T/music.mp4" \
	--config soundtrack=template >"$T/run2.log" 2>&1 || fail "soundtrack run: $(tail -5 "$T/run2.log")"
job2=$(ctl --json list --status completed | jq -r '.data.jobs[0].job_id')
plan2=$STATE/jobs/$job2/plan.json
expect_eq "$(jq -r .audio.soundtrack "$plan2")" template "plan's soundtrack"
lm=$(loudness "$T/music.mp4")
dm=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$T/music.mp4")
rep2=$(jq -c . "$STATE/jobs/$job2/report.json")
echo "template soundtrack: $lm LUFS (template $lt), $dm s," \
	"$(jq -r '"\(.beats.cuts_on_beat) of \(.beats.cuts) cuts on aubio beats"' <<<"$rep2")," \
	"plan $(jq -r '"\(.edit.cuts_on_beats) of \(.edit.cuts)"' "$plan2") on the template's"
awk -v a="$lt" -v b="$lm" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1) }' ||
	fail "soundtrack loudness $lm is not within 1 LU of $lt"
awk -v d="$dm" 'BEGIN { exit !(d > 10 && d < 12.2) }' || fail "soundtrack output lasts $dm s"
jq -e '.beats.cuts > 0 and .beats.cuts_on_beat * 2 > .beats.cuts' <<<"$rep2" >/dev/null ||
	fail "cuts not on the template's beats: $(jq -c .beats <<<"$rep2")"
echo ok
