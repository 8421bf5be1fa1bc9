#!/bin/sh
# Throwaway PostgreSQL server for slaprobe's store tests.
#
#   eval "$(scripts/postgres.sh)"       # start (or reuse) it; prints the export
#   scripts/postgres.sh stop            # stop it and remove its directory
#
# The cluster lives in a temp directory (SLAPROBE_PG_DIR, default
# ${TMPDIR:-/tmp}/slaprobe-pg), listens on 127.0.0.1 on a free port with its
# unix socket in that directory, and trusts local connections. Running it
# again while the server is up prints the same export. As root, the server
# runs as the "postgres" user (created by Debian's package).
set -eu

dir=${SLAPROBE_PG_DIR:-${TMPDIR:-/tmp}/slaprobe-pg}
db=slaprobe_test

log() { echo "postgres.sh: $*" >&2; }

find_bin() {
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && last=$d
	done
	[ -n "${last:-}" ] && echo "$last"
}

# as_pg runs a command as the cluster's owner.
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

stop() {
	if [ -f "$dir/data/postmaster.pid" ]; then
		bin=$(find_bin)
		as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
	log "stopped"
}

if [ "${1:-start}" = stop ]; then
	stop
	exit 0
fi
if [ "${1:-start}" != start ]; then
	echo "usage: $0 [start|stop]" >&2
	exit 2
fi

bin=$(find_bin || true)
if [ -z "$bin" ]; then
	if [ "$(id -u)" != 0 ]; then
		log "PostgreSQL is not installed: run 'sudo apt-get install -y postgresql'"
		exit 1
	fi
	log "installing postgresql"
	DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >/dev/null
	bin=$(find_bin)
fi

if [ -f "$dir/port" ] && as_pg "$bin/pg_isready" -q -h 127.0.0.1 -p "$(cat "$dir/port")"; then
	echo "export SLAPROBE_TEST_POSTGRES=postgres://postgres@127.0.0.1:$(cat "$dir/port")/$db?sslmode=disable"
	exit 0
fi

rm -rf "$dir"
mkdir -p "$dir"
if [ "$(id -u)" = 0 ]; then
	chown postgres "$dir"
fi
chmod 700 "$dir"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "$port" >"$dir/port"

as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 || {
	log "initdb failed:"
	cat "$dir/initdb.log" >&2
	exit 1
}
as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
	-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
	start >/dev/null || {
	log "server did not start:"
	cat "$dir/server.log" >&2
	exit 1
}
as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db"
echo "export SLAPROBE_TEST_POSTGRES=postgres://postgres@127.0.0.1:$port/$db?sslmode=disable"
