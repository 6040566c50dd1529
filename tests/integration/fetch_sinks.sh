#!/bin/sh
# How `dsrc fetch` takes what a plugin sends through the fetch sinks
# (tests/fixtures/plugins/sinks): a plugin's own CSV with and without a
# schema() describing it first (the manifest records the columns, the file
# holds the plugin's bytes unchanged, the header once), typed rows, a schema
# and no rows (a header-only CSV, an empty JSON Lines file), and the
# sequences the SDK forbids (rows after the plugin's own CSV, bytes without
# begin(), CSV after rows): a clear error, exit 1, no file left behind.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
DSRC="$top_builddir/dsrc"
so="$top_builddir/tests/fixtures/plugins/.libs/sinks.so"
[ -f "$so" ] || { echo "sinks.so not built"; exit 99; }
[ -x /usr/bin/python3 ] || { echo "python3 missing"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dsrc-sinks.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect() {
    want=$1; shift
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok; else
        bad "exit $got (wanted $want): $*"; sed 's/^/  err: /' "$tmp/err" | head -20
    fi
}
has() {
    if grep -qF -- "$2" "$1"; then ok; else bad "'$2' not in $1"; sed 's/^/  | /' "$1" | head -20; fi
}
# manifest FILE PYTHON-EXPRESSION: the expression (over m, the manifest) holds
manifest() {
    if /usr/bin/python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else "manifest: %r" % m)' "$1.manifest.json" "$2"; then
        ok
    else
        bad "manifest of $1: $2"
    fi
}
same_bytes() { # same_bytes FILE PRINTF-FORMAT
    printf "$2" >"$tmp/want"
    cmp -s "$1" "$tmp/want" && ok || { bad "$1 differs from the expected bytes"; od -c "$1" | head; }
}
gone() { # gone NAME: no file and no temporary file of that name
    ls -a "$tmp" | grep -q "$1" && bad "a file for $1 was left behind" || ok
}

mkdir -p "$tmp/plugins" "$tmp/conf/sources.d"
ln -s "$so" "$tmp/plugins/sinks.so"
cat >"$tmp/conf/dsrcd.conf" <<EOF2
plugin_dir = "$tmp/plugins";
state_dir = "$tmp/state";
workspace = "$tmp/ws";
sources_dir = "sources.d";
EOF2
printf 'name = "s";\ntype = "sinks";\nconnection = { };\n' >"$tmp/conf/sources.d/s.conf"
C="-c $tmp/conf/dsrcd.conf"

# the plugin's own CSV, described by a schema first
expect 0 "$DSRC" $C fetch s native -o "$tmp/native.csv"
same_bytes "$tmp/native.csv" 'id,name\r\n1,one\r\n2,two\r\n'
manifest "$tmp/native.csv" 'm["format"] == "csv-native" and m["rows"] == 2'
manifest "$tmp/native.csv" '[c["name"] for c in m["schema"]] == ["id", "name"]'
manifest "$tmp/native.csv" 'm["schema"][0]["primary_key"] and m["schema"][0]["native_type"] == "integer"'
# ... to standard output too
expect 0 "$DSRC" $C fetch s native -o -
same_bytes "$tmp/out" 'id,name\r\n1,one\r\n2,two\r\n'
# the plugin's own CSV, no schema: the manifest says so
expect 0 "$DSRC" $C fetch s bare -o "$tmp/bare.csv"
same_bytes "$tmp/bare.csv" 'id,name\r\n1,one\r\n2,two\r\n'
manifest "$tmp/bare.csv" 'm["format"] == "csv-native" and m["schema"] == []'
# typed rows, formatted by the host
expect 0 "$DSRC" $C fetch s rows -o "$tmp/rows.csv"
same_bytes "$tmp/rows.csv" 'id,name\r\n1,one\r\n2,two\r\n'
manifest "$tmp/rows.csv" 'm["format"] == "csv" and m["rows"] == 2 and len(m["schema"]) == 2'
expect 0 "$DSRC" $C fetch s rows --format jsonl -o "$tmp/rows.jsonl"
has "$tmp/rows.jsonl" '{"id":2,"name":"two"}'
# a schema and no rows: the header alone; an empty JSON Lines file
expect 0 "$DSRC" $C fetch s empty -o "$tmp/empty.csv"
same_bytes "$tmp/empty.csv" 'id,name\r\n'
manifest "$tmp/empty.csv" 'm["format"] == "csv" and m["rows"] == 0 and len(m["schema"]) == 2'
expect 0 "$DSRC" $C fetch s empty --format jsonl -o "$tmp/empty.jsonl"
[ -f "$tmp/empty.jsonl" ] && [ ! -s "$tmp/empty.jsonl" ] && ok || bad "empty.jsonl"
# forbidden sequences: a clear error, nothing written
expect 1 "$DSRC" $C fetch s rows-after -o "$tmp/ra.csv"
has "$tmp/err" "plugin 'sinks' sent rows after its own CSV for 'rows-after'"
gone ra.csv
expect 1 "$DSRC" $C fetch s write-early -o "$tmp/we.csv"
has "$tmp/err" "sent bytes without begin() after a schema"
gone we.csv
expect 1 "$DSRC" $C fetch s csv-after -o "$tmp/ca.csv"
has "$tmp/err" "sent its own CSV after rows"
gone ca.csv
# the plugin's CSV-only items refuse JSON Lines
expect 1 "$DSRC" $C fetch s native --format jsonl -o "$tmp/nj.jsonl"
has "$tmp/err" "CSV only"
gone nj.jsonl

echo "fetch_sinks: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
