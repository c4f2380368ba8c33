#!/bin/sh
# The checks a reviewer would otherwise do by eye: nginx style basics in our
# C, the core library's independence from nginx, and no blocking calls in
# the module.
set -u
cd "$(dirname "$0")/.."
fail=0
files=$(ls ngx_orbis_module/*.[ch] ngx_orbis_module/*/*.[ch] liborbiscore/src/*/*.[ch] \
        liborbiscore/include/orbiscore/*.h liborbiscore/tests/*/*.c \
        2>/dev/null)

if grep -n "$(printf '\t')" $files; then
    echo "style: tabs above"; fail=1
fi
if grep -nE '.{81,}' $files; then
    echo "style: lines over 80 columns above"; fail=1
fi
if grep -nE ' +$' $files; then
    echo "style: trailing spaces above"; fail=1
fi
if grep -nE '(^|[^:])//' $files | grep -vE '"[^"]*//[^"]*"'; then
    echo "style: // comments above (use /* */)"; fail=1
fi
if grep -rlE '#include *[<"]ngx_' liborbiscore; then
    echo "style: liborbiscore must not include nginx headers"; fail=1
fi
if grep -nE '\bPQexec(Params|Prepared)?\s*\(|\bPQconnectdb(Params)?\s*\(|\bredisCommand\s*\(|curl_easy_perform\s*\(|\b(u|nano)?sleep\s*\(|\bPQcancel\s*\(' \
        ngx_orbis_module/*.c ngx_orbis_module/*/*.c; then
    echo "style: blocking calls in the module above"; fail=1
fi

# The module's folders are layers (ARCHITECTURE.md): a file includes
# headers of its own folder or of a lower layer, never of a higher one, so
# no include circle crosses folders.  ngx_http_orbis_module.c, the module
# table that ties the layers together, is the one exception.
rank() {
    case "$1" in
        drivers) echo 0 ;;
        .) echo 1 ;;
        request) echo 2 ;;
        access) echo 3 ;;
        api|call) echo 4 ;;
        jobs) echo 5 ;;
        *) echo 9 ;;
    esac
}
for f in ngx_orbis_module/*/*.[ch] ngx_orbis_module/ngx_http_orbis_module.h
do
    dir=$(dirname "${f#ngx_orbis_module/}")
    for h in $(sed -n 's/^#include "\(ngx_http_orbis_[a-z_]*\.h\)"/\1/p' "$f")
    do
        hp=$(cd ngx_orbis_module && ls $h */$h 2>/dev/null | head -1)
        hdir=$(dirname "$hp")
        if [ "$hdir" != "$dir" ] \
           && [ "$(rank "$hdir")" -ge "$(rank "$dir")" ]; then
            echo "$f includes $hp: a layer above or beside its own"; fail=1
        fi
    done
done
[ $fail = 0 ] && echo "check-style: ok"
exit $fail
