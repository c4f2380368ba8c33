#!/bin/sh
# The checks a reviewer would otherwise do by eye: nginx style basics in our
# C, the core library's independence from nginx, and no blocking calls in
# the module.
set -u
cd "$(dirname "$0")/.."
fail=0
files=$(ls ngx_orbis_module/*.[ch] liborbiscore/src/*/*.[ch] \
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
        ngx_orbis_module/*.c; then
    echo "style: blocking calls in the module above"; fail=1
fi
[ $fail = 0 ] && echo "check-style: ok"
exit $fail
