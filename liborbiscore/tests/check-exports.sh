#!/bin/sh
# Every exported symbol must be an orbis_ name declared in a public header,
# and every function a public header declares must be exported.
set -eu
so=$1
inc=$2
exported=$(nm -D --defined-only "$so" | awk '$2 ~ /[TDBR]/ {print $3}' | sort -u)
bad=$(printf '%s\n' "$exported" | grep -v '^orbis_' || true)
if [ -n "$bad" ]; then
    echo "check-exports: non-orbis symbols exported:"; echo "$bad"; exit 1
fi
declared=$(cat "$inc"/*.h | perl -0pe 's{/\*.*?\*/}{}gs' | tr '\n' ' ' | grep -oE '\borbis_[a-z0-9_]+ *\(' \
    | sed 's/ *($//' | grep -vE '_p?t$' | sort -u)
missing=""
for f in $declared; do
    printf '%s\n' "$exported" | grep -qx "$f" || missing="$missing $f"
done
if [ -n "$missing" ]; then
    echo "check-exports: declared but not exported:$missing"; exit 1
fi
echo "check-exports: $(printf '%s\n' "$exported" | wc -l) symbols ok"
