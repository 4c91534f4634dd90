#!/usr/bin/env bash
# The folder rules of docs/ARCHITECTURE.md, checked on the sources. The
# Makefile's include paths already stop a folder from including another
# folder's headers by quotes; system headers are reachable from anywhere,
# so this test checks the angle-bracket rules, and that no two modules
# depend on each other in a circle (module = a .c and its .h; A depends on
# B when A's .c or .h includes B.h).
set -u
cd "$(dirname "$0")/../.."
bad=0

# forbid FOLDER REGEX WHY: no file under FOLDER includes a header matching
# REGEX.
forbid() {
	local hits
	hits=$(grep -rnE "^#include <($2)" "$1" --include='*.[ch]' || true)
	if [ -n "$hits" ]; then
		echo "FAIL: $1 $3:"
		echo "$hits" | sed 's/^/    /'
		bad=1
	fi
}

LIBAV='libav|libsw|libpostproc'
forbid dsp "$LIBAV|jansson|ebur128|aubio|msgpack|event2|sys/socket|stdio|fcntl|unistd" \
	"must stay pure (no libav, no JSON, no I/O)"
forbid stages "msgpack|event2|sys/socket" "must see no socket and no msgpack"
forbid media "msgpack|event2|sys/socket" "must see no socket and no msgpack"
forbid worker "$LIBAV|ebur128|aubio" "links no media library (the stage libraries do)"
for d in supervisor cli ipc shm common; do
	forbid "$d" "$LIBAV|ebur128|aubio" "must never include FFmpeg"
done
forbid ipc "event2/http|curl|systemd" "knows nothing of jobs or services"
forbid httpd "$LIBAV|ebur128|aubio|event2" "is only HTTP in front of reeld.sock"
# reel-httpd never starts a process: spawner.c is the only file that forks.
if grep -rnE '\b(fork|vfork|execv?p?e?|posix_spawnp?|system|popen)\(' httpd --include='*.c'; then
	echo "FAIL: httpd starts a process"
	bad=1
fi

# Module dependency edges "A B" of one folder tree, quotes only.
edges() {
	local f mod inc
	for f in $(find "$@" -name '*.[ch]'); do
		mod=$(basename "${f%.[ch]}")
		for inc in $(sed -n 's/^#include "\([^"]*\)\.h".*/\1/p' "$f"); do
			inc=$(basename "$inc")
			[ "$inc" = "$mod" ] || echo "$mod $inc"
		done
	done
}

# main.c sits on top and includes everyone: leave it out of the graph.
for tree in "supervisor" "worker stages media dsp" "cli" "httpd" "ipc shm common"; do
	# shellcheck disable=SC2086
	if ! out=$(edges $tree | grep -v '^main ' | tsort 2>&1 >/dev/null); then
		echo "FAIL: a circle of includes in $tree:"
		echo "$out" | sed 's/^/    /'
		bad=1
	fi
done

# reeld's layers are the table in docs/supervisor.md ("Who may call
# whom"): a module includes, and so calls, only modules of lower layers.
declare -A layer
while read -r n mods; do
	for m in $mods; do layer[$m]=$n; done
done < <(awk '/^## Who may call whom/ { s = 1 } s && /^```/ { if (b++) exit; next }
	s && b && /^ *[0-9]+ / { print }' docs/supervisor.md)
[ "${#layer[@]}" -gt 10 ] || { echo "FAIL: no layer table in docs/supervisor.md"; bad=1; }
for f in supervisor/*.[ch]; do
	mod=$(basename "${f%.[ch]}")
	[ -n "${layer[$mod]:-}" ] || {
		echo "FAIL: $f: module $mod is in no layer of docs/supervisor.md"
		bad=1
		continue
	}
	[ "$mod" = main ] && continue
	for inc in $(sed -n 's/^#include "\([a-z_]*\)\.h".*/\1/p' "$f"); do
		[ -f "supervisor/$inc.h" ] && [ "$inc" != "$mod" ] || continue
		if [ "${layer[$inc]}" -le "${layer[$mod]}" ]; then
			echo "FAIL: $f includes $inc.h, of layer ${layer[$inc]} (it is in ${layer[$mod]})"
			bad=1
		fi
	done
done

# One header per module, on the worker's side.
for f in stages/*.c stages/rendering/*.c media/*.c dsp/*.c; do
	case $(basename "$f") in table.c | table_nolibav.c) continue ;; esac
	[ -f "${f%.c}.h" ] || {
		echo "FAIL: $f has no header of its own"
		bad=1
	}
done
[ "$bad" -eq 0 ] || exit 1
echo ok
