#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Read-only queries through dsrcd's API on a SQLite source, and their
# history:
#   - POST /v1/sources/{name}/query streams the bytes `dsrc query -o -`
#     writes for the same statement (csv and jsonl, parameters, limit,
#     mask), chunked, with the data stream's Content-Types;
#   - a parameter is a value, never SQL (an injection attempt matches
#     nothing); null is NULL; a wrong count, a bad body, an unknown source,
#     a write (refused by SQLite, 403 with its message, the file unchanged)
#     and a statement past timeout_ms are clear problems before any byte;
#   - a client that goes away cancels the query;
#   - on TCP a viewer is refused (403), an operator served, no token 401;
#   - every query, whatever its outcome, is in the history (GET /v1/queries,
#     `dsrc queries` from dsrcd and from the store when dsrcd is stopped)
#     with its caller (the token's name, the socket's user), endpoint,
#     rows, bytes, result and the parameters' hash, never their values;
#     and in the audit trail (action query), whose chain stays verifiable.
# Skipped (77) without curl, sqlite3 or python3.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/mask_lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
PY=/usr/bin/python3
for t in curl sqlite3 "$PY"; do
    command -v "$t" >/dev/null || { echo "$t missing"; exit 77; }
done
lib_tmpdir dsrc-query-api
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
}
SOCK="$tmp/run/dsrcd.sock"
JSON='Content-Type: application/json'
# post STATUS BODY: POST the query BODY on the socket; the answer's body in
# $tmp/body, its headers in $tmp/hdr.
post() {
    want=$1 body=$2
    code=$(curl -sS --max-time 60 -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' \
        --unix-socket "$SOCK" -X POST -H "$JSON" --data-binary "$body" \
        http://localhost/v1/sources/demo/query 2>"$tmp/cerr")
    if [ "$code" = "$want" ]; then ok; else
        bad "HTTP $code (wanted $want): $body"; sed 's/^/  | /' "$tmp/body" "$tmp/cerr" | head -10
    fi
}
# same_as_cli NAME BODY DSRC-QUERY-ARGS...: the API's answer to BODY is
# byte for byte what `dsrc query -o -` writes with those arguments.
same_as_cli() {
    name=$1 body=$2; shift 2
    post 200 "$body"
    "$DSRC" $C query -q -o - "$@" >"$tmp/$name.want" 2>"$tmp/err" ||
        { bad "dsrc query $*"; cat "$tmp/err"; }
    if cmp -s "$tmp/body" "$tmp/$name.want" && [ -s "$tmp/body" ]; then ok; else
        bad "$name: the API's answer differs from dsrc query $*"
        head -3 "$tmp/body" "$tmp/$name.want"
    fi
}

sqlite3 "$tmp/shop.db" "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
  WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000)
  INSERT INTO t SELECT x, 'value ' || x FROM c;"
sum0=$(sha256sum <"$tmp/shop.db")
mask_keys
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
lib_conf "$top_builddir/plugins/sqlite/.libs" "control_socket = \"$SOCK\";" \
    "api = { listen = \"127.0.0.1:$PORT\"; }" "mask_key = \"$TOK1\";"
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

# --- the rows: what dsrc query writes ----------------------------------------
same_as_cli csv '{"query": "SELECT id, v FROM t WHERE id > ? ORDER BY id", "params": ["49000"]}' \
    --param 49000 demo 'SELECT id, v FROM t WHERE id > ? ORDER BY id'
has "$tmp/hdr" "Transfer-Encoding: chunked"
has "$tmp/hdr" "Content-Type: text/csv"
[ "$(wc -l <"$tmp/body")" -eq 1001 ] && ok || bad "id > 49000: not a header and 1000 rows"
bytes_csv=$(wc -c <"$tmp/body")
same_as_cli jsonl '{"query": "SELECT id, v FROM t WHERE id <= ?", "params": [5], "format": "jsonl"}' \
    --format jsonl --param 5 demo 'SELECT id, v FROM t WHERE id <= ?'
has "$tmp/hdr" "Content-Type: application/x-ndjson"
same_as_cli limit '{"query": "SELECT * FROM t", "limit": 7}' --limit 7 demo 'SELECT * FROM t'
[ "$(wc -l <"$tmp/body")" -eq 8 ] && ok || bad "limit 7: not a header and 7 rows"
same_as_cli mask '{"query": "SELECT id, v FROM t WHERE id = 3", "mask": {"v": "hash"}}' \
    --mask v=hash demo 'SELECT id, v FROM t WHERE id = 3'
has "$tmp/body" "3,$(mask_hmac "$MK1" "value 3")"
hasnt "$tmp/body" "value 3"

# --- parameters are values ---------------------------------------------------
post 200 '{"query": "SELECT id FROM t WHERE v = ?", "params": ["x'"'"' OR '"'"'1'"'"'='"'"'1"]}'
[ "$(tr -d '\r' <"$tmp/body")" = "id" ] && ok || { bad "an injected OR matched rows"; head -3 "$tmp/body"; }
post 200 '{"query": "SELECT ? IS NULL AS n, ? AS s", "params": [null, "a,b"]}'
[ "$(tail -1 "$tmp/body" | tr -d '\r')" = '1,"a,b"' ] && ok || { bad "null and a text parameter"; cat "$tmp/body"; }

# --- problems before the first byte ------------------------------------------
post 400 '{"query": "SELECT ? + ?", "params": ["1"]}'
jcheck "$tmp/body" 'd["dsrc_status"] == "invalid-argument" and "2 parameters, 1 given" in d["detail"]'
post 403 '{"query": "INSERT INTO t VALUES (999999, '"'"'w'"'"')"}'
has "$tmp/hdr" "application/problem+json"
jcheck "$tmp/body" 'd["dsrc_status"] == "permission" and "readonly" in d["detail"]'
post 403 '{"query": "DELETE FROM t"}'
[ "$(sha256sum <"$tmp/shop.db")" = "$sum0" ] && ok || bad "the database changed"
post 503 '{"query": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c", "timeout_ms": 300}'
jcheck "$tmp/body" 'd["dsrc_status"] == "timeout" and d["retryable"]'
post 400 'not json'
post 400 '["SELECT 1"]'
post 400 '{"params": ["1"]}'
jcheck "$tmp/body" '"query" in d["detail"]'
post 400 '{"query": "SELECT 1", "parms": []}'
jcheck "$tmp/body" '"unknown member '"'"'parms'"'"'" in d["detail"]'
post 400 '{"query": "SELECT 1", "params": [[1]]}'
jcheck "$tmp/body" '"params[0]" in d["detail"]'
post 400 '{"query": "SELECT 1", "format": "xml"}'
post 400 '{"query": "SELECT 1", "limit": -1}'
post 400 '{"query": "SELECT 1", "mask": {"v": "scramble"}}'
jcheck "$tmp/body" '"mask" in d["detail"]'
code=$(curl -sS -o "$tmp/body" -w '%{http_code}' --unix-socket "$SOCK" -X POST -H "$JSON" \
    --data '{"query": "SELECT 1"}' http://localhost/v1/sources/nosuch/query)
[ "$code" = 404 ] && ok || bad "unknown source: HTTP $code"

# --- a client that goes away cancels the query -------------------------------
curl -sS --unix-socket "$SOCK" -X POST -H "$JSON" \
    --data '{"query": "SELECT a.id, b.v FROM t a, t b"}' \
    http://localhost/v1/sources/demo/query 2>/dev/null | head -c 100 >"$tmp/head"
[ "$(wc -c <"$tmp/head")" -eq 100 ] && ok || bad "no first bytes"
wait_for "$tmp/log" "the client went away; fetch cancelled" 100 && ok ||
    { bad "no cancellation logged"; tail -5 "$tmp/log"; }

# --- roles on TCP ------------------------------------------------------------
vtok=$("$DSRC" $C token create --role viewer --name q-viewer 2>/dev/null)
otok=$("$DSRC" $C token create --role operator --name q-op 2>/dev/null)
tpost() {
    curl -sS -o "$tmp/body" -w '%{http_code}' ${1:+-H "Authorization: Bearer $1"} \
        -X POST -H "$JSON" --data "$2" "http://127.0.0.1:$PORT/v1/sources/demo/query" \
        2>"$tmp/cerr"
}
[ "$(tpost "$vtok" '{"query": "SELECT 1"}')" = 403 ] && ok || bad "a viewer ran a query"
jcheck "$tmp/body" '"needs the operator role" in d["detail"]'
[ "$(tpost "" '{"query": "SELECT 1"}')" = 401 ] && ok || bad "no token ran a query"
[ "$(tpost "$otok" '{"query": "SELECT v FROM t WHERE id = ?", "params": ["42"]}')" = 200 ] &&
    ok || bad "an operator cannot run a query"
[ "$(tail -1 "$tmp/body" | tr -d '\r')" = "value 42" ] && ok || bad "the operator's query: $(cat "$tmp/body")"
[ "$(curl -sS -o "$tmp/body" -w '%{http_code}' -H "Authorization: Bearer $vtok" \
    "http://127.0.0.1:$PORT/v1/queries?source=demo")" = 200 ] && ok ||
    bad "a viewer cannot read the history"

# --- a query through dsrc, beside dsrcd --------------------------------------
expect 0 "$DSRC" $C query -q -o - --param 42 demo 'SELECT v FROM t WHERE id = ?'
[ "$(tail -1 "$tmp/out" | tr -d '\r')" = "value 42" ] && ok || bad "dsrc query: $(cat "$tmp/out")"
expect 1 "$DSRC" $C query -q -o - demo 'UPDATE t SET v = 1'

# --- the history ---------------------------------------------------------------
ucurl 200 "http://localhost/v1/queries?source=demo&limit=1000"
cp "$tmp/body" "$tmp/hist.json"
jcheck "$tmp/hist.json" '[q["id"] for q in d] == sorted([q["id"] for q in d], reverse=True)'
jcheck "$tmp/hist.json" 'len(d) == 23'
# the first query: its caller (root on the socket), endpoint, rows, bytes, hash
jcheck "$tmp/hist.json" 'any(q["text"] == "SELECT id, v FROM t WHERE id > ? ORDER BY id" and q["caller"].startswith("uid ") and q["endpoint"] == "primary" and q["rows"] == 1000 and q["bytes"] == '"$bytes_csv"' and q["n_params"] == 1 and len(q["params_sha256"]) == 64 and q["result"] == "ok" and q["error"] is None and q["duration_ms"] >= 0 for q in d)'
jcheck "$tmp/hist.json" 'any(q["caller"] == "token q-op" and q["result"] == "ok" and q["rows"] == 1 for q in d)'
jcheck "$tmp/hist.json" 'any(q["text"].startswith("INSERT") and q["result"] == "permission" and "readonly" in q["error"] and q["rows"] is None for q in d)'
jcheck "$tmp/hist.json" 'any(q["result"] == "timeout" for q in d)'
jcheck "$tmp/hist.json" 'any(q["text"] == "SELECT ? + ?" and q["result"] == "invalid-argument" for q in d)'
jcheck "$tmp/hist.json" 'any(q["text"].startswith("SELECT a.id") and q["result"] == "cancelled" for q in d)'
jcheck "$tmp/hist.json" 'any(q["text"] == "UPDATE t SET v = 1" and q["result"] == "permission" and q["caller"].startswith("uid ") for q in d)'
# the same parameters, the same hash; never a value
jcheck "$tmp/hist.json" '[q["params_sha256"] for q in d if q["text"] == "SELECT v FROM t WHERE id = ?"].count(next(q["params_sha256"] for q in d if q["text"] == "SELECT v FROM t WHERE id = ?")) == 2'
jcheck "$tmp/hist.json" 'len({q["params_sha256"] for q in d if q["n_params"] == 1}) > 2'
hasnt "$tmp/hist.json" "OR '1'"
hasnt "$tmp/hist.json" "49000"
# the same through dsrc queries (from dsrcd), and a table
expect 0 "$DSRC" $C --json queries demo --limit 1000
jcheck "$tmp/out" 'len(d) == 23'
expect 0 "$DSRC" $C queries --limit 3
has "$tmp/out" "RESULT"
has "$tmp/out" "permission"
[ "$(wc -l <"$tmp/out")" -eq 4 ] && ok || bad "queries --limit 3: not a header and 3 rows"
ucurl 400 "http://localhost/v1/queries?limit=abc"

# --- the audit trail -----------------------------------------------------------
"$DSRC" $C --json audit --limit 1000 >"$tmp/audit.json" 2>&1
jcheck "$tmp/audit.json" 'len([r for r in d if r["action"] == "query"]) == 24'
jcheck "$tmp/audit.json" 'any(r["action"] == "query" and r["source"] == "nosuch" and r["result"] == "error: not-found" for r in d)'
jcheck "$tmp/audit.json" 'any(r["action"] == "query" and r["who"] == "token q-op" and r["origin"].startswith("127.0.0.1:") and r["rows"] == 1 and r["result"] == "ok" for r in d)'
jcheck "$tmp/audit.json" 'any(r["action"] == "query" and r["result"] == "error: permission" for r in d)'
jcheck "$tmp/audit.json" 'any(r["action"] == "POST /v1/sources/{name}/query" and r["who"] == "token q-viewer" and r["result"] == "403" for r in d)'
hasnt "$tmp/audit.json" "OR '1'"
expect 0 "$DSRC" $C audit --verify

kill "$pid"
wait "$pid"
st=$?
pid=
[ "$st" -eq 0 ] && ok || { bad "dsrcd exit $st"; tail -20 "$tmp/log"; }

# dsrcd stopped: dsrc queries reads the store, the same records.
expect 0 "$DSRC" $C --json queries demo --limit 1000
"$PY" -c 'import json,sys; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' \
    "$tmp/out" "$tmp/hist.json" && ok || bad "the store's history differs from dsrcd's"
expect 0 "$DSRC" $C queries other
has "$tmp/out" "no queries of other"
expect 0 "$DSRC" $C --json queries nosuch
jcheck "$tmp/out" 'len(d) == 1 and d[0]["result"] == "not-found" and d[0]["endpoint"] is None'
expect 2 "$DSRC" $C queries a b
finish query_api.sh
