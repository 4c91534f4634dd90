#!/bin/sh
# Installs every Debian 12 package reel builds, tests and runs with.
# Idempotent: when everything is present it changes nothing and is quick.
# Uses sudo when not root.
set -eu

PACKAGES="build-essential pkg-config ffmpeg \
libavformat-dev libavcodec-dev libavfilter-dev libavutil-dev \
libswscale-dev libswresample-dev libevent-dev libmsgpack-dev check \
libsubunit-dev libjansson-dev libebur128-dev libaubio-dev libsystemd-dev \
libcurl4-openssl-dev libssl-dev zlib1g-dev libseccomp-dev libmicrohttpd-dev python3 python3-prometheus-client \
clang clang-format jq openssl socat curl"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "install-deps: installing:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
