#!/bin/sh
# Installs the Debian 12 packages Orbis needs to build, run and test (clang
# and its libFuzzer/sanitizer runtimes, libclang-rt-dev, for the fuzz
# corpus replay; it is only recommended by clang, so it is named), and
# the unprivileged user the local services run as.  Idempotent: does
# nothing when everything is there.
set -eu

PKGS="build-essential pkg-config nginx nginx-dev libpq-dev postgresql
      libhiredis-dev libjansson-dev libcurl4-openssl-dev libssl-dev
      libwslay-dev libspeexdsp-dev libcmocka-dev redis-server
      libmojolicious-perl libio-socket-ssl-perl openssl wrk
      espeak-ng sox chromium chromium-driver nodejs procps curl
      clang libclang-rt-dev ${ORBIS_EXTRA_PKGS:-}"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $p"
done

if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "deps: missing packages:$missing" >&2
        echo "deps: run as root (or: sudo apt-get install$missing)" >&2
        exit 1
    fi
    echo "deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# Debian starts the packaged services; ours run from var/ instead
if [ "$(id -u)" = 0 ]; then
    for s in nginx redis-server postgresql; do
        if command -v systemctl >/dev/null 2>&1 \
            && systemctl is-active --quiet "$s" 2>/dev/null; then
            systemctl stop "$s" >/dev/null 2>&1 || true
        fi
    done

    # Postgres refuses to run as root: local services run as this user
    if ! id orbis >/dev/null 2>&1; then
        useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin \
            orbis
    fi
fi
