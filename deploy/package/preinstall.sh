#!/bin/sh
# jangkau-probe: the user the probe runs as, before the files it owns unpack.
set -e
if ! getent group jangkau >/dev/null; then
	groupadd --system jangkau
fi
if ! getent passwd jangkau >/dev/null; then
	useradd --system --gid jangkau --home-dir /var/lib/jangkau --no-create-home --shell /usr/sbin/nologin jangkau
fi
