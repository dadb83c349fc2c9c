#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests: initdb in a new temporary folder, listening on loopback at a free
# port and on a Unix socket in that folder, trust authentication for the local user only. Never touches a shared
# cluster.
#
#   Tools/postgres-cluster.sh start [DIR]   prints `export PROLO_TEST_DATABASE_URL=…` and `export PROLO_PG_DIR=…`
#   Tools/postgres-cluster.sh stop DIR      stops the cluster and removes DIR
#
# .ci/run evaluates the first and runs the second on exit. The tests create one database per test (prolo_t_…) in
# the cluster the URL names, and drop it when they finish.
set -euo pipefail

bindir=""
for candidate in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    if [ -x "$candidate/initdb" ]; then bindir="$candidate"; break; fi
done
[ -n "$bindir" ] || { echo "postgres-cluster: no initdb under /usr/lib/postgresql (apt-get install postgresql-15)" >&2; exit 69; }

# PostgreSQL refuses to run as root: as root (a CI machine), the server runs as the `postgres` system user (or
# `nobody`), while the cluster's superuser keeps the caller's name so the tests connect as themselves.
as_owner=()
if [ "$(id -u)" = 0 ]; then
    owner=postgres
    id "$owner" >/dev/null 2>&1 || owner=nobody
    as_owner=(runuser -u "$owner" --)
fi

case "${1:-}" in
start)
    dir="${2:-$(mktemp -d /tmp/prolo-pg.XXXXXX)}"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    user=$(id -un)
    chmod 755 "$dir"
    [ ${#as_owner[@]} -eq 0 ] || chown "${as_owner[2]}" "$dir"
    "${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -U "$user" --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 70; }
    # Durable as a clinic hub would run it (fsync, synchronous_commit on); wal_level replica for the standby tests.
    "${as_owner[@]}" tee -a "$dir/data/postgresql.conf" >/dev/null <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
wal_level = replica
max_wal_senders = 4
fsync = on
synchronous_commit = on
CONF
    "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 70; }
    echo "export PROLO_PG_DIR=$dir"
    echo "export PROLO_PG_BIN=$bindir"
    echo "export PROLO_TEST_DATABASE_URL=postgresql://$user@127.0.0.1:$port/postgres?sslmode=disable"
    ;;
stop)
    dir="${2:?usage: postgres-cluster.sh stop DIR}"
    "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: Tools/postgres-cluster.sh start [DIR] | stop DIR" >&2
    exit 64
    ;;
esac
