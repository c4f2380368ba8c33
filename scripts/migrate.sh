#!/bin/sh
# Applies sql/NNNN_name.sql in order, each in one transaction together with
# its row in schema_migrations, then re-applies every sql/functions/*.sql
# (CREATE OR REPLACE, idempotent) in one transaction: a migration is
# history, a function file is the current definition.  Usage: migrate.sh [psql connection args]
# (PGHOST, PGPORT, PGUSER, PGDATABASE work too).
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
psql="psql -X -q -v ON_ERROR_STOP=1 $*"

$psql -c "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    integer PRIMARY KEY,
            name       text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now())" >/dev/null

applied=$($psql -At -c "SELECT version FROM schema_migrations")

for f in "$here"/sql/[0-9][0-9][0-9][0-9]_*.sql; do
    [ -e "$f" ] || continue
    base=$(basename "$f" .sql)
    version=$(echo "$base" | cut -c1-4 | sed 's/^0*//')
    if printf '%s\n' "$applied" | grep -qx "$version"; then
        continue
    fi
    echo "migrate: applying $base"
    $psql -1 -f "$f" \
        -c "INSERT INTO schema_migrations (version, name)
            VALUES ($version, '$base')" >/dev/null
done

set -- "$here"/sql/functions/*.sql
if [ -e "$1" ]; then
    args=""
    for f in "$@"; do
        args="$args -f $f"
    done
    $psql -1 $args >/dev/null
fi
