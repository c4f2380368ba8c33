#!/bin/sh
# Builds nginx with the module linked in statically (--add-module), from
# Debian's nginx source package, into build/static/.  Not part of make test
# (it compiles all of nginx); run it to check the static addon path.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/build/static"
mkdir -p "$out"
cd "$out"
if [ ! -d nginx-src ]; then
    list=/etc/apt/sources.list.d/orbis-src.sources
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' > "$list"
    apt-get update -qq
    apt-get source -qq --download-only nginx
    rm -f "$list"
    mkdir nginx-src
    tar xzf nginx_*.orig.tar.gz -C nginx-src --strip-components=1
fi
make -C "$root/liborbiscore"
cd nginx-src
./configure --with-threads --with-http_ssl_module --add-module="$root"
make -j2
./objs/nginx -V
