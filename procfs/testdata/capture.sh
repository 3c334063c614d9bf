#!/bin/sh
# capture.sh copies /proc files of a few chosen live processes into ./proc,
# recording the exe and cwd link targets as plain symlinks. It was run once
# (as root, on a 6.18 kernel) to make the fixture tree the tests read; the
# expected values in procfs tests come from that run.
#
# Usage: capture.sh PID...
set -eu
out=$(dirname "$0")/proc
mkdir -p "$out/sys/kernel/random"
cp /proc/sys/kernel/random/boot_id "$out/sys/kernel/random/boot_id"
for pid in "$@"; do
	d="$out/$pid"
	mkdir -p "$d"
	for f in stat comm cmdline status; do
		cat "/proc/$pid/$f" >"$d/$f"
	done
	for l in exe cwd; do
		if t=$(readlink "/proc/$pid/$l" 2>/dev/null); then
			ln -sfn "$t" "$d/$l"
		fi
	done
done
