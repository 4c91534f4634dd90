#!/usr/bin/env bash
# Generates the demo's media with the ffmpeg program (lavfi sources), so the
# demo needs no downloads. usage: make-media.sh DIR
#  template.mp4: 12 s, 640x360, 30 fps, three shots joined by hard cuts and
#    one fade through black, a warm high-contrast grade, a 120 BPM kick track
#    at about -14 LUFS.
#  source.mp4: 22 s, 640x360, 25 fps, a pan across four pictures then a
#    zoom, cool and desaturated, a quiet 100 BPM track.
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

# Source: filmed the way a camera would: a 14 s pan across a strip of four
# pictures, then an 8 s zoom; cool, desaturated, a quiet 100 BPM track.
tone="aevalsrc='0.15*sin(2*PI*220*t)*exp(-8*mod(t,0.6))+0.05*sin(2*PI*330*t)':s=48000:d=22"
ff -filter_complex "mandelbrot=s=960x360:start_scale=2[a];testsrc2=s=960x360[b];\
smptehdbars=s=960x360[c];mandelbrot=s=960x360:start_scale=0.4,hue=h=120[d];\
[a][b][c][d]hstack=4[v]" -map "[v]" -frames:v 1 "$out/strip.png"
ff -filter_complex "movie=$out/strip.png,loop=-1:1:0,fps=25,crop=640:360:x='t*200':y=0,\
trim=duration=14,setpts=PTS-STARTPTS,format=yuv420p[p];\
mandelbrot=s=640x360:r=25,trim=duration=8,setpts=PTS-STARTPTS,format=yuv420p[m];\
[p][m]concat=n=2:v=1:a=0,eq=saturation=0.6,colorbalance=bs=0.15:rs=-0.1,format=yuv420p[v];\
$tone,aformat=channel_layouts=stereo[a]" \
	-map "[v]" -map "[a]" -c:v libx264 -preset veryfast -crf 20 -c:a aac -b:a 128k \
	-movflags +faststart "$out/source.mp4"
rm -f "$out/strip.png"
