#!/usr/bin/env bash
# Runs every test of jangkau on a fresh machine, installing what the tests
# need first. This is the command the README gives and .ci/run calls.
#
#   bash scripts/test.sh            everything
#   bash scripts/test.sh -short     skip the slow end-to-end tests
#
# Tests on the real Banten boundaries read ../shared/geo (or $JANGKAU_GEO_DIR);
# without it they are skipped with a message, except under CI=true, where
# they must run.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

command -v go >/dev/null || { echo "scripts/test.sh: Go 1.26+ is needed (https://go.dev/dl/)" >&2; exit 1; }

# apt_need PACKAGE...: install Debian packages the tests use, when missing.
apt_need() {
	local missing=()
	for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "scripts/test.sh: please install: ${missing[*]} (or run as root)" >&2
		return 1
	fi
	say "installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# GDAL reads our vector tiles and exports as a partner's GIS would;
# Chromium renders the map page; gpsfake (gpsd-clients) replays an NMEA
# drive into the real gpsd for survey mode; prometheus gives promtool and
# the server that scrapes a running collector; iproute2, nftables and
# procps build the district lab's network namespaces; systemd gives
# systemd-analyze, which verifies the units in deploy/ (TestSystemdUnit);
# dpkg gives dpkg-deb, which opens the built .deb (cmd/jangkau-package);
# poppler-utils gives pdftoppm and pdftotext, which read the printed report;
# debootstrap makes the Debian root the package test installs into.
apt_need curl gdal-bin chromium gpsd gpsd-clients prometheus iproute2 nftables procps systemd dpkg poppler-utils debootstrap
# The clean Debian root the .deb is installed into (once, then cached).
bash scripts/debian-root.sh >/dev/null

# The interop tests (interop/) drive the collector with its users' own
# clients: QGIS 3.22 and OWSLib from Debian for Debian's python3; Node.js
# and npm for MapLibre GL JS and OpenLayers (in Chromium, through
# puppeteer-core) and redocly, pinned in interop/clients/package-lock.json.
# A Node.js from elsewhere (NodeSource) brings its own npm: keep it.
apt_need qgis python3-qgis python3-owslib
command -v npm >/dev/null || apt_need nodejs npm
# npm ci only when node_modules is missing or the lockfile changed since
# (a stamp holds its hash), so that a rerun works offline.
clients=interop/clients
lock_sum=$(sha256sum "$clients/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$clients/node_modules/.lock-sha256" 2>/dev/null)" != "$lock_sum" ]; then
	say "npm ci in $clients"
	(cd "$clients" && npm ci --ignore-scripts --no-audit --no-fund)
	echo "$lock_sum" >"$clients/node_modules/.lock-sha256"
fi

say "go vet"
go vet ./...
go vet -tags probeonly ./cmd/jangkau   # the probe-only build district servers install

# staticcheck (pinned; fetched from the Go module proxy on first use):
# every default check, then `unused` with tests left out, which finds
# production code that only tests call.
say "staticcheck"
staticcheck="go run honnef.co/go/tools/cmd/staticcheck@v0.8.2"
$staticcheck ./...
$staticcheck -tests=false -checks U1000 ./...
$staticcheck -tags probeonly ./cmd/jangkau

# The probe for Windows district servers: built, vetted and its tests
# compiled for windows/amd64 (they run on Windows only; the parts that
# are not Windows glue run here too). staticcheck must be a host binary
# to check another GOOS, so it is installed into .cache/bin once.
say "windows/amd64"
GOOS=windows GOARCH=amd64 go build -tags probeonly -o /dev/null ./cmd/jangkau
GOOS=windows GOARCH=amd64 go build -o /dev/null ./cmd/jangkau
GOOS=windows GOARCH=amd64 go vet -tags probeonly ./cmd/jangkau ./probe/... ./internal/winservice
GOOS=windows GOARCH=amd64 go vet ./cmd/jangkau ./lab
for p in ./probe/check ./probe/check/icmpapi ./internal/winservice ./cmd/jangkau ./lab; do
	GOOS=windows GOARCH=amd64 go test -c -o /dev/null "$p"
done
GOOS=windows GOARCH=amd64 go test -c -tags probeonly -o /dev/null ./cmd/jangkau
[ -x .cache/bin/staticcheck ] || GOBIN="$PWD/.cache/bin" go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOOS=windows GOARCH=amd64 .cache/bin/staticcheck -tags probeonly ./cmd/jangkau ./internal/winservice ./probe/...
GOOS=windows GOARCH=amd64 .cache/bin/staticcheck -tests=false -checks U1000 -tags probeonly ./cmd/jangkau ./probe/...

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change: $unformatted" >&2
	exit 1
fi

# InfluxDB 1.8.10 for the InfluxDB store's tests, built from the Go module
# proxy into .cache/bin the first time (about 2 minutes), on loopback.
say "InfluxDB"
eval "$(bash scripts/influxdb.sh start)"
trap 'bash scripts/influxdb.sh stop' EXIT

say "go test"
go test -race -count=1 -timeout 20m "$@" ./...

say "fuzz (bounded; the seed corpora also run above)"
go test ./collector -run '^$' -fuzz '^FuzzDecodeBatch$' -fuzztime 20s
go test ./collector -run '^$' -fuzz '^FuzzParseConfig$' -fuzztime 20s
