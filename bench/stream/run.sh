#!/bin/sh
# Voice-stream benchmark: installs the generator's npm packages if they
# are missing, raises the open-files limit (thousands of sockets in the
# generator, the fake and nginx), then runs run.pl with the same
# arguments.  See run.pl for the options; bench/RESULTS.md for figures.
#
#   bench/stream/run.sh [--ladder 100,250,500] [--duration 8] ...
#   ORBIS_ROOT=/other/tree bench/stream/run.sh     # its module and t/lib
set -e

here=$(cd "$(dirname "$0")" && pwd)

if [ ! -f "$here/node_modules/ws/package.json" ]; then
    npm ci --prefix "$here" --no-audit --no-fund
fi

# root may raise the hard limit; anyone may go up to it
ulimit -Hn 65536 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"

exec perl "$here/run.pl" "$@"
