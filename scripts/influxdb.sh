#!/usr/bin/env bash
# Runs a local InfluxDB 1.8.10 for the InfluxDB store and its tests.
#
#   eval "$(bash scripts/influxdb.sh start)"   start (or find running) and export its address
#   bash scripts/influxdb.sh env               print the export line of the running server
#   bash scripts/influxdb.sh stop              stop it (by the PID it wrote)
#
# start builds influxd 1.8.10 from the Go module proxy into .cache/bin when
# it is missing (about 2 minutes cold), writes a config that binds only
# 127.0.0.1, never reports home (reporting-disabled) and requires auth,
# starts influxd in the background, waits for /ping, creates the admin user
# and a database with a 30-day retention policy, and prints on stdout:
#
#   export JANGKAU_INFLUXDB_URL=http://127.0.0.1:38086 JANGKAU_INFLUXDB_TOKEN=user:pass JANGKAU_INFLUXDB_BUCKET=db/rp
#
# Everything else goes to stderr. Running start twice is harmless. Settings
# (environment, with defaults):
#   JANGKAU_INFLUXDB_PORT=38086 JANGKAU_INFLUXDB_RPC_PORT=38088
#   JANGKAU_INFLUXDB_DIR=.cache/influxdb (config, data, PID file, log)
#   JANGKAU_INFLUXD=.cache/bin/influxd JANGKAU_INFLUXDB_USER=jangkau
#   JANGKAU_INFLUXDB_DB=jangkau JANGKAU_INFLUXDB_RP=rp30d
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=$root/.cache
bin=${JANGKAU_INFLUXD:-$cache/bin/influxd}
dir=${JANGKAU_INFLUXDB_DIR:-$cache/influxdb}
port=${JANGKAU_INFLUXDB_PORT:-38086}
rpc=${JANGKAU_INFLUXDB_RPC_PORT:-38088}
user=${JANGKAU_INFLUXDB_USER:-jangkau}
db=${JANGKAU_INFLUXDB_DB:-jangkau}
rp=${JANGKAU_INFLUXDB_RP:-rp30d}
url=http://127.0.0.1:$port
pidfile=$dir/influxd.pid

say() { echo "influxdb.sh: $*" >&2; }
die() { say "$*"; exit 1; }

command -v curl >/dev/null || die "curl is needed (apt-get install curl)"

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
alive() { curl -fsS -o /dev/null --max-time 2 "$url/ping" 2>/dev/null; }
password() { cat "$dir/password"; }

# query Q: one InfluxQL statement as the admin user; fails on an error answer.
query() {
	local out
	out=$(curl -sS --max-time 30 -u "$user:$(password)" -XPOST "$url/query" --data-urlencode "q=$1") ||
		die "query failed: $1"
	case $out in *'"error"'*) die "InfluxDB refused \"$1\": $out" ;; esac
}

exports() {
	echo "export JANGKAU_INFLUXDB_URL=$url JANGKAU_INFLUXDB_TOKEN=$user:$(password) JANGKAU_INFLUXDB_BUCKET=$db/$rp"
}

build() {
	[ -x "$bin" ] && return 0
	command -v go >/dev/null || die "Go is needed to build influxd"
	say "building influxd 1.8.10 into $(dirname "$bin") (about 2 minutes the first time)"
	mkdir -p "$(dirname "$bin")"
	GOBIN=$(cd "$(dirname "$bin")" && pwd) GOFLAGS= GO111MODULE=on \
		go install github.com/influxdata/influxdb/cmd/influxd@v1.8.10 >&2
	[ "$(basename "$bin")" = influxd ] || die "JANGKAU_INFLUXD must name a file called influxd"
}

config() {
	cat >"$dir/influxdb.conf" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:$rpc"

[meta]
  dir = "$dir/meta"

[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false

[coordinator]
  max-select-point = 0

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:$port"
  auth-enabled = true
  flux-enabled = false
  log-enabled = false
  max-body-size = 0

[logging]
  level = "warn"
EOF
}

start() {
	mkdir -p "$dir"
	[ -s "$dir/password" ] || { head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/password"; chmod 600 "$dir/password"; }
	if running && alive; then
		exports
		return 0
	fi
	if alive; then
		die "something else answers on $url; set JANGKAU_INFLUXDB_PORT (and JANGKAU_INFLUXDB_RPC_PORT)"
	fi
	build
	config
	say "starting influxd on $url (data in $dir, log in $dir/influxd.log)"
	nohup "$bin" run -config "$dir/influxdb.conf" </dev/null >>"$dir/influxd.log" 2>&1 &
	echo $! >"$pidfile"
	for _ in $(seq 1 300); do
		alive && break
		running || die "influxd exited; see $dir/influxd.log: $(tail -n 5 "$dir/influxd.log")"
		sleep 0.2
	done
	alive || die "influxd did not answer /ping within 60 s; see $dir/influxd.log"
	# The first admin may be created without credentials; later starts of
	# the same data directory find it and authenticate.
	local out
	out=$(curl -sS --max-time 30 -XPOST "$url/query" \
		--data-urlencode "q=CREATE USER \"$user\" WITH PASSWORD '$(password)' WITH ALL PRIVILEGES")
	case $out in
	*'"error"'*) query "SHOW DATABASES" ;; # the user exists already: the password must still work
	esac
	query "CREATE DATABASE \"$db\" WITH DURATION 30d NAME \"$rp\""
	exports
}

stop() {
	if ! [ -f "$pidfile" ]; then
		say "not running (no $pidfile)"
		return 0
	fi
	local pid
	pid=$(cat "$pidfile")
	if kill -0 "$pid" 2>/dev/null && grep -q influxd "/proc/$pid/cmdline" 2>/dev/null; then
		kill "$pid"
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			say "influxd $pid ignored SIGTERM for 10 s; killing it"
			kill -9 "$pid"
		fi
	fi
	rm -f "$pidfile"
	say "stopped"
}

case ${1:-start} in
start) start ;;
stop) stop ;;
env) running || die "not running"; exports ;;
*) die "usage: $0 start|stop|env" ;;
esac
