#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests: initdb in a new temporary folder, listening on loopback at a free
# port and on a Unix socket in that folder, trust authentication for the local user only. Never touches a shared
# cluster.
#
#   Tools/postgres-cluster.sh start [DIR]   prints `export PROLO_TEST_DATABASE_URL=…` and `export PROLO_PG_DIR=…`
#   Tools/postgres-cluster.sh stop DIR      stops the cluster and removes DIR
#   Tools/postgres-cluster.sh standby PRIMARY_DIR [DIR]
#                                           a synchronous streaming standby of the cluster in PRIMARY_DIR
#                                           (pg_basebackup -R; the primary then waits for it to apply every
#                                           commit: synchronous_commit = remote_apply); prints the same exports
#                                           as start, for the standby
#   Tools/postgres-cluster.sh kill DIR      kill -9 the cluster's postmaster (a crash, for failover tests)
#   Tools/postgres-cluster.sh promote DIR   promotes a standby to a primary (pg_ctl promote, waits)
#
# .ci/run evaluates the first and runs the second on exit. The tests create one database per test (prolo_t_…) in
# the cluster the URL names, and drop it when they finish.
set -euo pipefail

# The server started here outlives this script: it must not inherit the caller's descriptors beyond 0-2 (a test
# runner waits for EOF on its pipes, which a server holding a copy would never give).
for fd in /proc/$$/fd/*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ] 2>/dev/null && [ "$fd" != 255 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
done

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
# An SSD-backed hub's planner setting (Schemas/postgresql/README.md): an index probe costs about a sequential read.
random_page_cost = 1.1
CONF
    "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 70; }
    echo "export PROLO_PG_DIR=$dir"
    echo "export PROLO_PG_BIN=$bindir"
    echo "export PROLO_TEST_DATABASE_URL=postgresql://$user@127.0.0.1:$port/postgres?sslmode=disable"
    ;;
standby)
    primary="${2:?usage: postgres-cluster.sh standby PRIMARY_DIR [DIR]}"
    dir="${3:-$(mktemp -d /tmp/prolo-pg-standby.XXXXXX)}"
    primary_port=$(sed -n "s/^port = //p" "$primary/data/postgresql.conf" | tail -1)
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    user=$(id -un)
    chmod 755 "$dir"
    [ ${#as_owner[@]} -eq 0 ] || chown "${as_owner[2]}" "$dir"
    "${as_owner[@]}" "$bindir/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U "$user" -D "$dir/data" -X stream -R \
        >"$dir/basebackup.log" 2>&1 || { cat "$dir/basebackup.log" >&2; exit 70; }
    # postgresql.auto.conf (where -R wrote primary_conninfo) wins over postgresql.conf: the name goes there.
    "${as_owner[@]}" tee -a "$dir/data/postgresql.auto.conf" >/dev/null <<CONF
port = $port
unix_socket_directories = '$dir'
primary_conninfo = 'host=127.0.0.1 port=$primary_port user=$user application_name=prolo_standby'
hot_standby = on
CONF
    "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 70; }
    psql="$bindir/psql"
    [ -x "$psql" ] || psql=psql
    "$psql" -q -h 127.0.0.1 -p "$primary_port" -U "$user" -d postgres \
        -c "ALTER SYSTEM SET synchronous_standby_names = 'prolo_standby'" \
        -c "ALTER SYSTEM SET synchronous_commit = 'remote_apply'" -c "SELECT pg_reload_conf()" >/dev/null
    # Wait until the standby streams synchronously, so the next commit on the primary is on both.
    for _ in $(seq 1 100); do
        state=$("$psql" -Atq -h 127.0.0.1 -p "$primary_port" -U "$user" -d postgres \
            -c "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'prolo_standby'")
        [ "$state" = sync ] && break
        sleep 0.1
    done
    [ "$state" = sync ] || { echo "postgres-cluster: the standby did not become synchronous" >&2; exit 70; }
    echo "export PROLO_PG_DIR=$dir"
    echo "export PROLO_PG_BIN=$bindir"
    echo "export PROLO_TEST_DATABASE_URL=postgresql://$user@127.0.0.1:$port/postgres?sslmode=disable"
    ;;
kill)
    dir="${2:?usage: postgres-cluster.sh kill DIR}"
    kill -9 "$(head -1 "$dir/data/postmaster.pid")"
    ;;
promote)
    dir="${2:?usage: postgres-cluster.sh promote DIR}"
    "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -w -t 60 promote >/dev/null
    ;;
stop)
    dir="${2:?usage: postgres-cluster.sh stop DIR}"
    "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: Tools/postgres-cluster.sh start [DIR] | standby PRIMARY_DIR [DIR] | kill DIR | promote DIR | stop DIR" >&2
    exit 64
    ;;
esac
