#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The control API's item routes on a SQLite source: /items (list, as
# `dsrc ls --json`), /items/{item} (describe, as `dsrc describe --json`)
# and /items/{item}/data streamed chunked, byte-identical to `dsrc fetch -o
# -` with the same options (csv and jsonl, columns, limit, after); an item
# with '/' as %2F; errors before the first byte as problem+json; a client
# that goes away cancels the fetch and gives the connection back; a viewer
# may list but not read data; every data read is in the audit trail.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
lib_tmpdir dsrc-api-data
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
}
PY=/usr/bin/python3
for t in curl sqlite3 "$PY"; do
    command -v "$t" >/dev/null || { echo "$t missing"; exit 77; }
done
SOCK="$tmp/run/dsrcd.sock"
# ucurl EXPECTED-STATUS URL-PATH: GET on the socket; the body in $tmp/body,
# the headers in $tmp/hdr.
ucurl() {
    code=$(curl -sS --max-time 60 -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' \
        --unix-socket "$SOCK" "http://localhost$2" 2>"$tmp/cerr")
    if [ "$code" = "$1" ]; then ok; else
        bad "HTTP $code (wanted $1): $2"; sed 's/^/  | /' "$tmp/body" "$tmp/cerr" | head -10
    fi
}
# fetch_same NAME QUERY DSRC-FETCH-OPTIONS...: the API's data equals
# dsrc fetch's, byte for byte.
fetch_same() {
    name=$1 q=$2; shift 2
    ucurl 200 "/v1/sources/demo/items/main%2Ft/data$q"
    "$DSRC" $C fetch -q -o - "$@" demo main/t >"$tmp/$name.want" 2>"$tmp/err" ||
        { bad "dsrc fetch $*"; cat "$tmp/err"; }
    if cmp -s "$tmp/body" "$tmp/$name.want" && [ -s "$tmp/body" ]; then ok; else
        bad "$name: the API's data differs from dsrc fetch $*"
        head -3 "$tmp/body" "$tmp/$name.want"
    fi
}
active() {
    curl -sS --unix-socket "$SOCK" http://localhost/v1/pools |
        "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["endpoints"][0]["pool"]["active"])'
}

sqlite3 "$tmp/shop.db" "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
  WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000)
  INSERT INTO t SELECT x, 'value, \"' || x || '\"' FROM c;"
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
lib_conf "$top_builddir/plugins/sqlite/.libs" "control_socket = \"$SOCK\";" \
    "api = { listen = \"127.0.0.1:$PORT\"; }"
cat >"$tmp/conf/sources.d/demo.conf" <<EOC
name = "demo";
type = "sqlite";
connection = { path = "$tmp/shop.db"; };
EOC
C="-c $tmp/conf/dsrcd.conf"
"$DSRCD" $C --foreground --log-level debug >"$tmp/log" 2>&1 &
pid=$!
n=150
while [ $n -gt 0 ] && ! [ -S "$SOCK" ]; do sleep 0.1; n=$((n - 1)); done
[ -S "$SOCK" ] && ok || { bad "no control socket"; cat "$tmp/log"; exit 1; }

# list and describe: what dsrc ls / describe --json print.
ucurl 200 /v1/sources/demo/items
has "$tmp/hdr" "application/json"
"$DSRC" $C --json ls demo >"$tmp/ls.json" 2>&1
"$PY" -c 'import json,sys; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' \
    "$tmp/body" "$tmp/ls.json" && ok || bad "/items differs from dsrc ls --json"
ucurl 200 "/v1/sources/demo/items?path=main"
jcheck "$tmp/body" '[i["path"] for i in d] == ["main/t"]'
ucurl 200 /v1/sources/demo/items/main%2Ft
"$DSRC" $C --json describe demo main/t >"$tmp/describe.json" 2>&1
"$PY" -c 'import json,sys; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' \
    "$tmp/body" "$tmp/describe.json" && ok || bad "/items/main%2Ft differs from dsrc describe --json"
jcheck "$tmp/body" 'd["path"] == "main/t" and [c["name"] for c in d["columns"]] == ["id", "v"]'
ucurl 404 /v1/sources/demo/items/main%2Fnope
jcheck "$tmp/body" 'd["status"] == 404 and "nope" in d["detail"]'
ucurl 404 /v1/sources/nope/items
jcheck "$tmp/body" '"no source named" in d["detail"]'

# data: chunked, the format's type, the same bytes as dsrc fetch.
fetch_same csv ""
has "$tmp/hdr" "Transfer-Encoding: chunked"
has "$tmp/hdr" "Content-Type: text/csv"
fetch_same jsonl "?format=jsonl" --format jsonl
has "$tmp/hdr" "Content-Type: application/x-ndjson"
fetch_same cols "?columns=v,id&limit=7" --columns v,id --limit 7
fetch_same after "?format=jsonl&cursor_field=id&after=49990" --format jsonl --cursor-field id --after 49990
[ "$(wc -l <"$tmp/body")" -eq 10 ] && ok || bad "after=49990: not 10 rows"

# errors before the first byte: problem+json, no data.
ucurl 400 "/v1/sources/demo/items/main%2Ft/data?columns=id,nope"
has "$tmp/hdr" "application/problem+json"
jcheck "$tmp/body" 'd["status"] == 400 and "nope" in d["detail"]'
ucurl 400 "/v1/sources/demo/items/main%2Ft/data?after=5"
jcheck "$tmp/body" '"cursor field" in d["detail"]'
ucurl 400 "/v1/sources/demo/items/main%2Ft/data?format=xml"
ucurl 400 "/v1/sources/demo/items/main%2Ft/data?limit=-1"
ucurl 404 "/v1/sources/demo/items/main%2Fnope/data"
jcheck "$tmp/body" 'd["status"] == 404'
ucurl 404 "/v1/sources/nope/items/t/data"

# A client that goes away after the first bytes: the fetch is cancelled,
# its connection given back (the pool has none active).
curl -sS --unix-socket "$SOCK" "http://localhost/v1/sources/demo/items/main%2Ft/data" 2>/dev/null |
    head -c 100 >"$tmp/head"
[ "$(wc -c <"$tmp/head")" -eq 100 ] && ok || bad "no first bytes"
wait_for "$tmp/log" "the client went away; fetch cancelled" 100 && ok ||
    { bad "no cancellation logged"; tail -5 "$tmp/log"; }
n=50
while [ $n -gt 0 ] && [ "$(active)" != 0 ]; do sleep 0.1; n=$((n - 1)); done
[ "$(active)" = 0 ] && ok || bad "a connection is still active after the client went away"

# Roles on TCP: a viewer lists but does not read data (403); an operator does.
vtok=$("$DSRC" $C token create --role viewer --name data-viewer 2>/dev/null)
otok=$("$DSRC" $C token create --role operator --name data-op 2>/dev/null)
tcode() {
    curl -sS -o "$tmp/body" -w '%{http_code}' -H "Authorization: Bearer $1" \
        "http://127.0.0.1:$PORT$2" 2>"$tmp/cerr"
}
[ "$(tcode "$vtok" /v1/sources/demo/items/main%2Ft)" = 200 ] && ok || bad "a viewer cannot describe"
[ "$(tcode "$vtok" "/v1/sources/demo/items/main%2Ft/data?limit=1")" = 403 ] && ok ||
    bad "a viewer read data"
jcheck "$tmp/body" '"needs the operator role" in d["detail"]'
[ "$(tcode "$otok" "/v1/sources/demo/items/main%2Ft/data?limit=2")" = 200 ] && ok ||
    bad "an operator cannot read data"
[ "$(wc -l <"$tmp/body")" -eq 3 ] && ok || bad "limit=2: not a header and 2 rows"

# Every data read is audited: who, source, item, bytes, status.
"$DSRC" $C --json audit >"$tmp/audit.json" 2>&1
jcheck "$tmp/audit.json" 'any(r["action"] == "GET /v1/sources/{name}/items/{item}/data" and r["source"] == "demo" and r["item"] == "main/t" and r["result"] == "200" and r["bytes"] == '"$(wc -c <"$tmp/csv.want")"' for r in d)'
jcheck "$tmp/audit.json" 'any(r["item"] == "main/t" and r["result"] == "499" for r in d)'
jcheck "$tmp/audit.json" 'any(r["who"] == "token data-viewer" and r["result"] == "403" for r in d)'
jcheck "$tmp/audit.json" 'any(r["who"] == "token data-op" and r["result"] == "200" and r["item"] == "main/t" for r in d)'
jcheck "$tmp/audit.json" 'not any(r["action"] == "GET /v1/sources/{name}/items/{item}" for r in d)'

kill "$pid"
wait "$pid"
st=$?
pid=
[ "$st" -eq 0 ] && ok || { bad "dsrcd exit $st"; tail -20 "$tmp/log"; }
finish api_data.sh
