#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrcd's data route on PostgreSQL: GET /v1/sources/pg/items/ITEM/data on
# the control socket.  1 000 000 rows come byte-identical (sha256) to
# `dsrc fetch -o -` of the same item, in csv and in jsonl, and dsrcd's
# resident memory after each stream is within 20 MB of before it (the data
# is streamed, never held); columns, limit and after give what dsrc fetch
# gives with the same options; a bad column is 400 problem+json before any
# data; a viewer is refused (403).  A client that goes away in the middle
# cancels the plugin call: the backend's query is gone from
# pg_stat_activity within a few seconds and the pool has no connection
# busy; so does one that goes away before the first row, and dsrcd stops
# promptly while a client waits for one.  Skipped (77) when no PostgreSQL
# server is installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/postgres/tests/pg_lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
FIXTURE="$top_srcdir/plugins/postgres/tests/fixture/pg-fixture"
PY=/usr/bin/python3
for t in curl sha256sum "$PY"; do
    command -v "$t" >/dev/null || { echo "$t missing"; exit 77; }
done
lib_tmpdir dsrc-pgapi
pgdir="" pid="" cpid=""
cleanup() {
    [ -n "$cpid" ] && kill "$cpid" 2>/dev/null && wait "$cpid" 2>/dev/null
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"
}
psql_q() { "$FIXTURE" psql "$pgdir" -At -c "$1"; }
SOCK="$tmp/dsrcd.sock"
DATA="http://localhost/v1/sources/pg/items/public.big/data"
# rss: dsrcd's VmRSS in kB
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"; }
# asan: 1 when dsrcd is built with AddressSanitizer (libtool's wrapper or
# the program itself refers to __asan_init)
asan=0
for f in "$top_builddir/.libs/dsrcd" "$top_builddir/dsrcd"; do
    [ -f "$f" ] && grep -q __asan_init "$f" 2>/dev/null && asan=1
done
# busy: connections of the pool in use
busy() {
    curl -sS --unix-socket "$SOCK" http://localhost/v1/pools |
        "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["endpoints"][0]["pool"]["active"])'
}
# fetching [WORD]: backends running a query on WORD (default big), or
# holding its transaction open between the ranges of a fetch over two
# connections (each range's rows already sent, waiting for the client)
fetching() {
    psql_q "SELECT count(*) FROM pg_stat_activity
            WHERE state IN ('active', 'idle in transaction')
            AND query LIKE '%${1:-big}%' AND pid <> pg_backend_pid()"
}
# until_zero CMD...: wait (at most 20 s: a query left running would take
# a minute) until CMD prints 0
until_zero() {
    n=200
    while [ $n -gt 0 ] && [ "$("$@")" != 0 ]; do sleep 0.1; n=$((n - 1)); done
    [ "$("$@")" = 0 ]
}
# same_as_fetch NAME QUERY DSRC-FETCH-OPTION...: the API's body (sha256)
# is dsrc fetch's, and dsrcd's RSS grew by less than 20 MB
same_as_fetch() {
    name=$1 q=$2; shift 2
    before=$(rss)
    code=$(curl -sS --max-time 300 --unix-socket "$SOCK" -o "$tmp/$name.api" \
        -D "$tmp/$name.hdr" -w '%{http_code}' "$DATA$q" 2>"$tmp/cerr")
    after=$(rss)
    [ "$code" = 200 ] && ok || { bad "$name: HTTP $code"; head -5 "$tmp/$name.api" "$tmp/cerr"; }
    "$DSRC" -c "$tmp/conf/dsrcd.conf" fetch -q -o - "$@" pg public.big >"$tmp/$name.cli" \
        2>"$tmp/err" || { bad "dsrc fetch $*"; cat "$tmp/err"; }
    a=$(sha256sum <"$tmp/$name.api") c=$(sha256sum <"$tmp/$name.cli")
    if [ "$a" = "$c" ] && [ -s "$tmp/$name.cli" ]; then ok; else
        bad "$name: the API's body differs from dsrc fetch $* ($(wc -c <"$tmp/$name.api") and $(wc -c <"$tmp/$name.cli") bytes)"
    fi
    echo "$name: $(wc -c <"$tmp/$name.api") bytes; dsrcd RSS ${before} kB before, ${after} kB after"
    if [ "$asan" -eq 1 ]; then
        # AddressSanitizer keeps freed memory in quarantine (256 MB): its
        # RSS says nothing of dsrcd's; the -Werror build checks it
        echo "$name: RSS not checked (AddressSanitizer build)"
    else
        [ $((after - before)) -lt 20480 ] && ok || bad "$name: dsrcd's RSS grew by $((after - before)) kB"
    fi
}

pg_start --no-replica
psql_q "CREATE TABLE big (id bigint PRIMARY KEY, name text, amount numeric(12,2),
          at timestamptz, note text);
        INSERT INTO big SELECT g, 'name ' || g, g / 100.0,
          timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
          CASE WHEN g % 7 = 0 THEN NULL ELSE 'a \"quoted\", note ' || g END
          FROM generate_series(1, 1000000) g;
        GRANT SELECT ON big TO $PG_USER;
        CREATE VIEW slow AS SELECT g AS id FROM generate_series(1, 3) g
          WHERE pg_sleep(60) IS NOT NULL;
        GRANT SELECT ON slow TO $PG_USER;" >/dev/null ||
    { echo "cannot make the table"; exit 99; }

PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
lib_conf "$top_builddir/plugins/postgres/.libs" "control_socket = \"$SOCK\";" \
    "api = { listen = \"127.0.0.1:$PORT\"; }"
cat >"$tmp/conf/sources.d/pg.conf" <<EOF2
name = "pg";
type = "postgres";
connection = {
    host = "localhost";
    port = $PG_PORT;
    database = "$PG_DATABASE";
    user = "$PG_USER";
    password = "env:DSRC_PGAPI_PASSWORD";
    connect_timeout = "5s";
};
tls = { mode = "verify-full"; ca = "$PG_CA"; };
schedule = { health = "@every 1h"; };
pool = { max_size = 2; min_idle = 0; };
fetch = ( { item = "public.big"; cursor_field = "id"; } );
EOF2
DSRC_PGAPI_PASSWORD=$PG_PASSWORD
export DSRC_PGAPI_PASSWORD
"$DSRCD" -c "$tmp/conf/dsrcd.conf" --foreground --log-target stderr >"$tmp/log" 2>&1 &
pid=$!
n=150
while [ $n -gt 0 ] && ! [ -S "$SOCK" ]; do sleep 0.1; n=$((n - 1)); done
[ -S "$SOCK" ] && ok || { bad "no control socket"; cat "$tmp/log"; exit 1; }
# a first, small read: the pool's connection is open before measuring
code=$(curl -sS --unix-socket "$SOCK" -o /dev/null -w '%{http_code}' "$DATA?limit=10")
[ "$code" = 200 ] && ok || { bad "first read: HTTP $code"; tail -5 "$tmp/log"; }

# 1 000 000 rows, csv then jsonl: dsrc fetch's bytes, memory flat.
same_as_fetch csv ""
has "$tmp/csv.hdr" "Content-Type: text/csv"
has "$tmp/csv.hdr" "Transfer-Encoding: chunked"
[ "$(wc -l <"$tmp/csv.api")" -ge 1000001 ] && ok || bad "csv: fewer than 1 000 000 rows"
same_as_fetch jsonl "?format=jsonl" --format jsonl
has "$tmp/jsonl.hdr" "Content-Type: application/x-ndjson"
[ "$(wc -l <"$tmp/jsonl.api")" -eq 1000000 ] && ok || bad "jsonl: not 1 000 000 rows"
# columns, limit, after (the rule's cursor_field): as dsrc fetch
same_as_fetch opts "?columns=note,id&limit=1000&after=999500&format=jsonl" \
    --columns note,id --limit 1000 --after 999500 --format jsonl
[ "$(wc -l <"$tmp/opts.api")" -eq 500 ] && ok || bad "after=999500: not 500 rows"

# a bad column: 400 problem+json, no data
code=$(curl -sS --unix-socket "$SOCK" -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' \
    "$DATA?columns=id,nope")
[ "$code" = 400 ] && ok || bad "bad column: HTTP $code"
has "$tmp/hdr" "application/problem+json"
has "$tmp/body" "nope"
# a viewer may not read data
vtok=$("$DSRC" -c "$tmp/conf/dsrcd.conf" token create --role viewer --name v 2>/dev/null)
code=$(curl -sS -o "$tmp/body" -w '%{http_code}' -H "Authorization: Bearer $vtok" \
    "http://127.0.0.1:$PORT/v1/sources/pg/items/public.big/data?limit=1")
[ "$code" = 403 ] && ok || bad "a viewer read data: HTTP $code"

# A client reading slowly holds the backend's query; once it goes away the
# query (the queries of a fetch over two connections) is cancelled and the
# connection is given back.
curl -sS --unix-socket "$SOCK" --limit-rate 20k -o /dev/null "$DATA" 2>/dev/null &
cpid=$!
n=100
while [ $n -gt 0 ] && [ "$(fetching)" = 0 ]; do sleep 0.1; n=$((n - 1)); done
# (one COPY, or two when the table is read over two connections)
[ "$(fetching)" -ge 1 ] && ok || bad "no fetch query in progress while the client reads"
[ "$(busy)" = 1 ] && ok || bad "the pool has no connection busy while streaming"
sleep 1
kill "$cpid"
wait "$cpid" 2>/dev/null
cpid=
until_zero fetching && ok || { bad "the fetch query still runs after the client went away"
    psql_q "SELECT state, query FROM pg_stat_activity WHERE query LIKE '%big%'"; }
until_zero busy && ok || bad "a connection is still busy after the client went away"
has "$tmp/log" "the client went away; fetch cancelled"
# and the source still serves
code=$(curl -sS --unix-socket "$SOCK" -o "$tmp/body" -w '%{http_code}' "$DATA?limit=3")
[ "$code" = 200 ] && [ "$(wc -l <"$tmp/body")" -eq 4 ] && ok || bad "no data after a cancel: $code"

# A client that goes away before the first row (a query that takes a
# minute to give one): cancelled too.
SLOW="http://localhost/v1/sources/pg/items/public.slow/data"
curl -sS --unix-socket "$SOCK" -o /dev/null "$SLOW" 2>/dev/null &
cpid=$!
n=100
while [ $n -gt 0 ] && [ "$(fetching slow)" = 0 ]; do sleep 0.1; n=$((n - 1)); done
[ "$(fetching slow)" = 1 ] && ok || bad "no slow query in progress"
kill "$cpid"
wait "$cpid" 2>/dev/null
cpid=
until_zero fetching slow && ok || bad "the slow query still runs after its client went away"
until_zero busy && ok || bad "a connection is still busy after the slow client went away"

# dsrcd stops promptly while a client waits for a slow query's first row.
curl -sS --unix-socket "$SOCK" -o /dev/null "$SLOW" 2>/dev/null &
cpid=$!
n=100
while [ $n -gt 0 ] && [ "$(fetching slow)" = 0 ]; do sleep 0.1; n=$((n - 1)); done
[ "$(fetching slow)" = 1 ] && ok || bad "no slow query in progress"
t0=$(date +%s)
kill "$pid"
wait "$pid"
st=$?
pid=
[ "$st" -eq 0 ] && ok || { bad "dsrcd exit $st"; tail -20 "$tmp/log"; }
[ $(($(date +%s) - t0)) -lt 30 ] && ok || bad "dsrcd took $(($(date +%s) - t0)) s to stop"
wait "$cpid" 2>/dev/null
cpid=
until_zero fetching slow && ok || bad "the slow query still runs after dsrcd stopped"
grep -F "$PG_PASSWORD" "$tmp/log" >/dev/null && bad "the password is in the log" || ok
finish pg_api_data.sh
