#!/usr/bin/env bash
# Makes the clean Debian root the package install test (TestInstallDeb in
# cmd/jangkau-package) installs the .deb into: bookworm, minbase, from the
# Debian mirror apt on this machine uses. It is made once (about a
# minute) into .cache/debian-root/bookworm-minbase and kept; the test
# copies it and never reaches the mirror itself.
#
#   bash scripts/debian-root.sh      prints the root's path
set -euo pipefail
cd "$(dirname "$0")/.."

root=.cache/debian-root/bookworm-minbase
mirror=${JANGKAU_DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [ ! -f "$root/.complete" ]; then
	command -v debootstrap >/dev/null || { echo "debian-root.sh: debootstrap is needed (apt-get install debootstrap)" >&2; exit 1; }
	echo "debian-root.sh: debootstrap --variant=minbase bookworm $root $mirror (about a minute, once)" >&2
	rm -rf "$root.tmp"
	mkdir -p "$(dirname "$root")"
	debootstrap --variant=minbase bookworm "$root.tmp" "$mirror" >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; exit 1; }
	rm -rf "$root"
	mv "$root.tmp" "$root"
	touch "$root/.complete"
fi
echo "$PWD/$root"
