#!/usr/bin/env bash
# Generates the demo's media with the ffmpeg program (lavfi sources), so the
# demo needs no downloads. usage: make-media.sh DIR
#  template.mp4: 12 s, 640x360, 30 fps, three shots joined by hard cuts and
#    one fade through black, a warm high-contrast grade, a 120 BPM kick track
#    at about -14 LUFS.
#  source.mp4: 16 s, 640x360, 25 fps, two long shots, neutral, a quiet
#    100 BPM track.
set -euo pipefail
out=$1
mkdir -p "$out"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }

grade="eq=contrast=1.25:saturation=1.4,colorbalance=rs=0.15:gs=0.02:bs=-0.15:rm=0.1:bm=-0.1"
kick="aevalsrc='0.8*sin(2*PI*60*t)*exp(-25*mod(t,0.5))+0.2*sin(2*PI*880*t)*exp(-60*mod(t,0.25))':s=48000:d=12"
ff -f lavfi -i "testsrc2=s=640x360:r=30:d=4" -f lavfi -i "mandelbrot=s=640x360:r=30" \
	-f lavfi -i "smptehdbars=s=640x360:r=30:d=4" -f lavfi -i "$kick" \
	-filter_complex "[1:v]trim=duration=4,setpts=PTS-STARTPTS,fade=t=out:st=3.5:d=0.5[m];\
[2:v]fade=t=in:st=0:d=0.5[b];[0:v][m][b]concat=n=3:v=1:a=0,$grade,format=yuv420p[v];\
[3:a]volume=0.9,aformat=channel_layouts=stereo[a]" \
	-map "[v]" -map "[a]" -c:v libx264 -preset veryfast -crf 20 -c:a aac -b:a 128k \
	-movflags +faststart "$out/template.mp4"

tone="aevalsrc='0.15*sin(2*PI*220*t)*exp(-8*mod(t,0.6))+0.05*sin(2*PI*330*t)':s=48000:d=16"
ff -f lavfi -i "gradients=s=640x360:r=25:d=8:speed=0.02" -f lavfi -i "life=s=640x360:r=25:ratio=0.3:mold=10" \
	-f lavfi -i "$tone" \
	-filter_complex "[1:v]trim=duration=8,setpts=PTS-STARTPTS,format=yuv420p[l];\
[0:v]format=yuv420p[g];[g][l]concat=n=2:v=1:a=0[v];[2:a]aformat=channel_layouts=stereo[a]" \
	-map "[v]" -map "[a]" -c:v libx264 -preset veryfast -crf 20 -c:a aac -b:a 128k \
	-movflags +faststart "$out/source.mp4"
