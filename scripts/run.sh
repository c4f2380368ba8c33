#!/bin/bash
# make run: Postgres and Redis under var/, migrations, then nginx with the
# module in the foreground.  Ctrl-C stops everything this script started.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

HTTP_PORT=${ORBIS_HTTP_PORT:-8080}
PG_PORT=${ORBIS_PG_PORT:-5433}
REDIS_PORT=${ORBIS_REDIS_PORT:-6390}
PGBIN=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
[ -x "$PGBIN/initdb" ] || PGBIN=$(ls -d /usr/lib/postgresql/*/bin | tail -1)

as_svc() {
    if [ "$(id -u)" = 0 ]; then runuser -u orbis -- "$@"; else "$@"; fi
}

mkdir -p var/pg var/redis var/log var/run var/tmp var/conf
if [ "$(id -u)" = 0 ]; then
    chown orbis: var/pg var/redis var/log var/run var/tmp
    chmod 700 var/pg
    if ! runuser -u orbis -- test -w var/pg; then
        echo "run: user orbis cannot reach $root/var;" \
             "put the checkout where other users can read it" >&2
        exit 1
    fi
fi

if [ ! -s var/jwt.secret ]; then
    (umask 077; openssl rand -hex 32 > var/jwt.secret)
fi
[ "$(id -u)" = 0 ] && chown orbis: var/jwt.secret

started=""
cleanup() {
    trap - EXIT INT TERM
    echo
    echo "run: stopping"
    case $started in *nginx*)
        [ -f var/run/nginx.pid ] && kill -QUIT "$(cat var/run/nginx.pid)" \
            2>/dev/null || true ;;
    esac
    case $started in *redis*)
        redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true ;;
    esac
    case $started in *postgres*)
        as_svc "$PGBIN/pg_ctl" -D var/pg -m fast -w stop >/dev/null || true ;;
    esac
}
trap cleanup EXIT INT TERM

if [ ! -f var/pg/PG_VERSION ]; then
    echo "run: creating the Postgres cluster in var/pg"
    as_svc "$PGBIN/initdb" -D var/pg -U orbis -A trust -E UTF8 >/dev/null
fi

if ! as_svc "$PGBIN/pg_ctl" -D var/pg status >/dev/null 2>&1; then
    as_svc "$PGBIN/pg_ctl" -D var/pg -w -l var/log/postgres.log \
        -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $root/var/run" \
        start >/dev/null
    started="$started postgres"
fi

export PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=orbis
if ! psql -X -At -d postgres -c "SELECT 1 FROM pg_database
        WHERE datname = 'orbis'" | grep -q 1; then
    psql -X -q -d postgres -c "CREATE DATABASE orbis"
fi
PGDATABASE=orbis scripts/migrate.sh

if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    as_svc redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
        --dir "$root/var/redis" --daemonize yes \
        --pidfile "$root/var/run/redis.pid" \
        --logfile "$root/var/log/redis.log" >/dev/null
    started="$started redis"
    for _ in $(seq 50); do
        redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
fi

# conf/ rendered with this run's ports; includes resolve next to it
for f in conf/*.conf; do
    sed -e "s/127\.0\.0\.1:8080/127.0.0.1:$HTTP_PORT/" \
        -e "s/port=5433/port=$PG_PORT/" \
        -e "s/127\.0\.0\.1:6390/127.0.0.1:$REDIS_PORT/" \
        "$f" > "var/conf/$(basename "$f")"
done

as_svc nginx -p "$root" -c var/conf/nginx.conf -t -q

cat <<EOT

Orbis is running:
  dashboard   http://127.0.0.1:$HTTP_PORT/
  API         http://127.0.0.1:$HTTP_PORT/api/
  health      http://127.0.0.1:$HTTP_PORT/api/health
  logs        $root/var/log/
Ctrl-C stops it.

EOT

as_svc nginx -p "$root" -c var/conf/nginx.conf &
started="$started nginx"
wait $! || true
