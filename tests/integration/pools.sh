#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrcd's control socket end to end: `dsrc pools` and `dsrc health` against
# a running daemon with SQLite sources, a source going down after a reload,
# malformed requests, and the answers without a daemon.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
lib_tmpdir dsrc-pools
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
}

# A JSON check through python3: jcheck FILE EXPR (EXPR sees the document as d).
PY=$(command -v python3 || true)
jcheck() {
    [ -n "$PY" ] || { ok; return; }
    if "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1"; then
        ok
    else
        bad "JSON check failed: $2"; sed 's/^/  | /' "$1" | head -40
    fi
}

command -v sqlite3 >/dev/null || { echo "sqlite3 CLI missing"; exit 99; }
sqlite3 "$tmp/shop.db" 'CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1,"a");'
cp "$tmp/shop.db" "$tmp/other.db"

lib_conf "$top_builddir/plugins/sqlite/.libs" "control_socket = \"$tmp/run/dsrcd.sock\";"
cat >"$tmp/conf/sources.d/demo.conf" <<EOF
name = "demo";
type = "sqlite";
connection = { path = "$tmp/shop.db"; };
pool = { max_size = 3; min_idle = 1; };
schedule = { health = "@every 1s"; };
EOF
cat >"$tmp/conf/sources.d/other.conf" <<EOF
name = "other";
type = "sqlite";
connection = { path = "$tmp/other.db"; };
pool = { max_size = 2; min_idle = 1; };
schedule = { health = "@every 1s"; };
EOF
C="-c $tmp/conf/dsrcd.conf"
SOCK="$tmp/run/dsrcd.sock"

# No daemon: pools says so and fails (75: it may pass); health probes from here.
expect 75 "$DSRC" $C pools
has "$tmp/err" "dsrcd is not running (no answer on $SOCK)"
expect 0 "$DSRC" $C health demo --probes 2
has "$tmp/out" "demo: healthy"
has "$tmp/err" "probing from here"
expect 0 "$DSRC" $C --json health demo
jcheck "$tmp/out" 'd[0]["status"] == "healthy" and d[0]["endpoints"][0]["samples"] == 3 and d[0]["storage_bytes"] > 0'
expect 2 "$DSRC" $C health --probes 0
expect 2 "$DSRC" $C pools a b
expect 0 "$DSRC" $C pools --help
has "$tmp/out" "usage: dsrc pools"

# Start the daemon.
"$DSRCD" -c "$tmp/conf/dsrcd.conf" --foreground --log-level debug >"$tmp/log" 2>&1 &
pid=$!
if wait_until test -S "$SOCK"; then ok; else bad "no control socket"; cat "$tmp/log"; exit 1; fi
perm=$(stat -c %a "$SOCK")
[ "$perm" = 660 ] && ok || bad "socket mode $perm, wanted 660"

# Let two health probes of each source happen (1 s apart), then read the
# pools.
probed_twice() {
    "$DSRC" $C --json health 2>/dev/null | /usr/bin/python3 -c 'import json, sys
d = json.load(sys.stdin)
sys.exit(0 if len(d) == 2 and all(r["status"] == "healthy" and
                                  r["endpoints"][0]["samples"] >= 2 for r in d) else 1)'
}
wait_until probed_twice || bad "the sources were not probed twice in 15 s"
expect 0 "$DSRC" $C pools
has "$tmp/out" "SOURCE"
has "$tmp/out" "WAIT P50/P95/P99 MS"
has "$tmp/out" "demo"
has "$tmp/out" "other"
has "$tmp/out" "primary"
has "$tmp/out" "closed"
expect 0 "$DSRC" $C --json pools demo
jcheck "$tmp/out" 'len(d) == 1 and d[0]["source"] == "demo"'
jcheck "$tmp/out" 'd[0]["endpoints"][0]["pool"]["opened"] >= 1 and d[0]["endpoints"][0]["pool"]["max_size"] == 3'
jcheck "$tmp/out" 'd[0]["endpoints"][0]["pool"]["total"] <= 3 and d[0]["endpoints"][0]["breaker"]["state"] == "closed"'
jcheck "$tmp/out" 'd[0]["endpoints"][0]["pool"]["acquires"] >= 2'
expect 1 "$DSRC" $C pools nosuch
has "$tmp/err" "no source named 'nosuch'"

expect 0 "$DSRC" $C health demo
has "$tmp/out" "demo: healthy"
has "$tmp/out" "primary"
has "$tmp/out" "from dsrcd on $SOCK"
expect 0 "$DSRC" $C --json health
jcheck "$tmp/out" 'len(d) == 2 and all(r["status"] == "healthy" for r in d)'
jcheck "$tmp/out" 'all(r["endpoints"][0]["samples"] >= 2 and r["endpoints"][0]["uptime"] == 1 for r in d)'
jcheck "$tmp/out" 'd[0]["storage_bytes"] > 0'

# A reload that changes only the pool group keeps the pool and resizes it.
sed -i 's/max_size = 3; min_idle = 1;/max_size = 5; min_idle = 1;/' "$tmp/conf/sources.d/demo.conf"
opened_before=$("$DSRC" $C --json pools demo | "${PY:-false}" -c 'import json,sys; print(json.load(sys.stdin)[0]["endpoints"][0]["pool"]["opened"])' 2>/dev/null || echo x)
kill -HUP "$pid"
wait_until grep -q "pool reconfigured" "$tmp/log" && ok || bad "no pool reconfiguration logged"
expect 0 "$DSRC" $C --json pools demo
jcheck "$tmp/out" 'd[0]["endpoints"][0]["pool"]["max_size"] == 5'
[ -z "$PY" ] || jcheck "$tmp/out" "d[0]['endpoints'][0]['pool']['opened'] >= int('$opened_before')"
# ...and back: the knobs in force are compared, not the first ones.
sed -i 's/max_size = 5; min_idle = 1;/max_size = 3; min_idle = 1;/' "$tmp/conf/sources.d/demo.conf"
kill -HUP "$pid"
back() { "$DSRC" $C --json pools demo | grep -q '"max_size": 3'; }
wait_until back && ok || { bad "pool not resized back to 3"; "$DSRC" $C --json pools demo | head -30; }
[ "$(grep -c "pool reconfigured" "$tmp/log")" -eq 2 ] && ok || bad "expected two pool reconfigurations"

# Malformed requests get a problem answer; the daemon keeps serving.
if command -v curl >/dev/null; then
    curl -s --max-time 10 --unix-socket "$SOCK" -X POST -H 'Content-Type: application/json' \
        --data 'not json' http://localhost/v1/runs >"$tmp/raw" 2>&1
    has "$tmp/raw" '"status":400'
    has "$tmp/raw" "the request body is not JSON"
    curl -s --max-time 10 --unix-socket "$SOCK" http://localhost/v1/nope >"$tmp/raw" 2>&1
    has "$tmp/raw" '"dsrc_status":"not-found"'
    curl -s --max-time 10 --unix-socket "$SOCK" http://localhost/v1/pools?source=7 >"$tmp/raw" 2>&1
    has "$tmp/raw" "no source named '7'"
fi
kill -0 "$pid" 2>/dev/null && ok || bad "dsrcd died on malformed requests"
expect 0 "$DSRC" $C pools demo

# The source fails: its database disappears and the reload points it at a
# missing file.  Health goes down with a recommendation.
cat >"$tmp/conf/sources.d/demo.conf" <<EOF
name = "demo";
type = "sqlite";
connection = { path = "$tmp/missing.db"; };
pool = { max_size = 3; min_idle = 1; };
schedule = { health = "@every 1s"; };
EOF
kill -HUP "$pid"
down() { "$DSRC" $C health demo >/dev/null 2>&1; [ $? -eq 1 ] && "$DSRC" $C health demo | grep -q "demo: down"; }
if wait_until down; then ok; else bad "demo never reported down"; fi
expect 1 "$DSRC" $C health demo
has "$tmp/out" "demo: down"
has "$tmp/out" "last error:"
has "$tmp/out" "recommendation:"
expect 1 "$DSRC" $C --json health demo
jcheck "$tmp/out" 'd[0]["status"] == "down" and len(d[0]["recommendations"]) >= 1'
jcheck "$tmp/out" 'd[0]["endpoints"][0]["error_rate"] > 0 and d[0]["endpoints"][0]["last_error"]'
# The other source stays healthy; health of all is then not healthy.
expect 0 "$DSRC" $C health other
expect 1 "$DSRC" $C health
wait_until grep -q "health: .* -> down" "$tmp/log" && ok || bad "no health change logged"

# Stop: the socket is removed.
kill -TERM "$pid"
wait "$pid"
st=$?
pid=
[ "$st" -eq 0 ] && ok || bad "dsrcd exit $st"
[ ! -e "$SOCK" ] && ok || bad "socket left behind"
expect 75 "$DSRC" $C pools
has "$tmp/err" "dsrcd is not running"

finish pools.sh
