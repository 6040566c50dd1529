#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrcd's source routes: POST /v1/sources/{name}/test (a ping through the
# source's pool; a backend failure is 502/503 problem+json, never 401;
# operator only; a reload during a hung test frees nothing under it), GET
# /v1/sources/{name}/catalog and /stats (what dsrc --json catalog/stats
# print), and dsrc runs through dsrcd while it runs.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
FAULT="$top_builddir/tests/fixtures/plugins/.libs/fault.so"
lib_tmpdir dsrc-api-routes
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
}
PY=/usr/bin/python3
for t in curl sqlite3 "$PY"; do
    command -v "$t" >/dev/null || { echo "$t missing"; exit 77; }
done
# jsame A B: the two files hold the same JSON but age_seconds.
jsame() {
    if "$PY" - "$1" "$2" <<'EOF'
import json, sys
def load(p):
    d = json.load(open(p))
    if isinstance(d, dict):
        d.pop("age_seconds", None)
    return d
sys.exit(0 if load(sys.argv[1]) == load(sys.argv[2]) else 1)
EOF
    then ok; else bad "not the same JSON: $1 $2"; head -c 400 "$1"; echo; head -c 400 "$2"; echo; fi
}
SOCK="$tmp/run/dsrcd.sock"
problem() {
    grep -qi '^content-type: application/problem+json' "$tmp/hdr" && ok || bad "not problem+json"
}

sqlite3 "$tmp/shop.db" 'CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1,"a");
    CREATE TABLE u(id INTEGER, w REAL); CREATE VIEW vt AS SELECT v FROM t;'
mkdir -p "$tmp/plugins"
ln -s "$top_builddir/plugins/sqlite/.libs/sqlite.so" "$tmp/plugins/sqlite.so"
lib_conf "$tmp/plugins" "control_socket = \"$SOCK\";" 'probe_timeout = "3s";' \
    'api = { viewer_groups = ["nogroup"]; }'
cat >"$tmp/conf/sources.d/demo.conf" <<EOF
name = "demo";
type = "sqlite";
connection = { path = "$tmp/shop.db"; };
EOF
if [ -f "$FAULT" ]; then
    ln -s "$FAULT" "$tmp/plugins/fault.so"
    cat >"$tmp/conf/sources.d/slow.conf" <<EOF
name = "slow";
type = "fault";
connection = { host = "s"; hang = "ping"; };
pool = { validate_after = "1h"; };
EOF
fi
cat >"$tmp/conf/sources.d/gone.conf" <<EOF
name = "gone";
type = "sqlite";
connection = { path = "$tmp/missing.db"; };
EOF
C="-c $tmp/conf/dsrcd.conf"
expect 0 "$DSRCD" $C --check-config

"$DSRCD" $C --foreground --log-level debug >"$tmp/log" 2>&1 &
pid=$!
if wait_until test -S "$SOCK"; then ok; else bad "no control socket"; cat "$tmp/log"; exit 1; fi

# ---- POST /v1/sources/{name}/test ----
ucurl 200 -X POST http://localhost/v1/sources/demo/test
jcheck "$tmp/body" 'd["ok"] is True and d["latency_ms"] >= 0 and d["endpoint"].endswith("shop.db") and d["served_by"] == "primary"'
# a backend failure is the source's, not the caller's: 502 problem+json
ucurl 502 -X POST http://localhost/v1/sources/gone/test
problem
jcheck "$tmp/body" 'd["status"] == 502 and d["dsrc_status"] != "auth" and "missing.db" in d["detail"]'
ucurl 404 -X POST http://localhost/v1/sources/nosuch/test
problem
jcheck "$tmp/body" 'd["dsrc_status"] == "not-found" and "nosuch" in d["detail"]'
ucurl 405 http://localhost/v1/sources/demo/test

# ---- GET /v1/sources/{name}/catalog, /stats ----
ucurl 404 http://localhost/v1/sources/demo/catalog
jcheck "$tmp/body" '"no stored catalog of demo" in d["detail"]'
expect 0 "$DSRC" $C discover demo
ucurl 200 http://localhost/v1/sources/demo/catalog
"$DSRC" $C --json catalog demo >"$tmp/cli.json" 2>"$tmp/err"; mv "$tmp/body" "$tmp/api.json"
jsame "$tmp/api.json" "$tmp/cli.json"
jcheck "$tmp/api.json" 'd["source"] == "demo" and len(d["items"]) == 3'
ucurl 200 "http://localhost/v1/sources/demo/catalog?item=main/t"
"$DSRC" $C --json catalog demo main/t >"$tmp/cli.json" 2>"$tmp/err"; mv "$tmp/body" "$tmp/api.json"
jsame "$tmp/api.json" "$tmp/cli.json"
jcheck "$tmp/api.json" 'd["item"]["path"] == "main/t"  and d["items"] == 3'
snap=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshot"])' "$tmp/api.json")
ucurl 200 "http://localhost/v1/sources/demo/catalog?snapshot=$snap"
jcheck "$tmp/body" "d['snapshot'] == $snap"
ucurl 404 "http://localhost/v1/sources/demo/catalog?item=main/nosuch"
jcheck "$tmp/body" '"no item" in d["detail"]'
ucurl 400 "http://localhost/v1/sources/demo/catalog?snapshot=x"
ucurl 200 http://localhost/v1/sources/demo/stats
"$DSRC" $C --json stats demo >"$tmp/cli.json" 2>"$tmp/err"; mv "$tmp/body" "$tmp/api.json"
jsame "$tmp/api.json" "$tmp/cli.json"
jcheck "$tmp/api.json" 'd["tables"] == 2 and d["views"] == 1 and d["columns"] == 5'
ucurl 404 http://localhost/v1/sources/nosuch/catalog
ucurl 404 http://localhost/v1/sources/nosuch/stats

# ---- dsrc runs: through the API while dsrcd runs, the same output ----
# (a second configuration with another state_dir but dsrcd's socket: its
# runs can only come from dsrcd)
ucurl 202 -X POST -H 'Content-Type: application/json' -d '{"source":"demo","kind":"discover"}' \
    http://localhost/v1/runs
run_done() { "$DSRC" $C --json runs 1 | grep -q '"state": *"succeeded"'; }
wait_until run_done && ok || bad "the queued run did not succeed"
sed "s|state_dir = \"$tmp/state\"|state_dir = \"$tmp/other\"|" "$tmp/conf/dsrcd.conf" \
    >"$tmp/conf/other.conf"
grep -q "$tmp/other" "$tmp/conf/other.conf" && ok || bad "no other state_dir"
for args in "runs" "runs 1" "runs demo" "runs --state succeeded --limit 5"; do
    "$DSRC" $C --json $args >"$tmp/runs_a.json" 2>"$tmp/err" && ok || bad "dsrc $args failed"
    "$DSRC" -c "$tmp/conf/other.conf" --json $args >"$tmp/runs_b.json" 2>"$tmp/err" &&
        ok || bad "dsrc -c other.conf $args failed"
    jsame "$tmp/runs_a.json" "$tmp/runs_b.json"
done
jcheck "$tmp/runs_b.json" 'len(d) == 1 and d[0]["source"] == "demo" and d[0]["kind"] == "discover"'
"$DSRC" $C runs >"$tmp/runs_a.txt" 2>&1
"$DSRC" -c "$tmp/conf/other.conf" runs >"$tmp/runs_b.txt" 2>&1
cmp -s "$tmp/runs_a.txt" "$tmp/runs_b.txt" && ok || bad "dsrc runs: text differs"
"$DSRC" -c "$tmp/conf/other.conf" runs 999 >"$tmp/out" 2>"$tmp/err"
[ $? -ne 0 ] && grep -q "999" "$tmp/err" && ok || { bad "runs 999 through dsrcd"; cat "$tmp/err"; }

# ---- roles: a viewer reads the catalog, may not test ----
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    chmod 0755 "$tmp"
    chmod 0777 "$tmp/run" "$SOCK"
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
        curl -s -w '\n%{http_code}\n' --unix-socket "$SOCK" -X POST \
        http://localhost/v1/sources/demo/test >"$tmp/out"
    code=$(tail -n 1 "$tmp/out")
    head -n 1 "$tmp/out" >"$tmp/body"
    [ "$code" = 403 ] && ok || bad "a viewer got $code from /test, wanted 403"
    jcheck "$tmp/body" 'd["dsrc_status"] == "permission" and "operator" in d["detail"]'
    code=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
        curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" \
        http://localhost/v1/sources/demo/stats)
    [ "$code" = 200 ] && ok || bad "a viewer got $code from /stats, wanted 200"
fi

# ---- a reload while a test hangs frees nothing under it; the hung ping
# is cancelled at probe_timeout: 503 ----
if [ -f "$FAULT" ]; then
    # the pool acquisitions of slow's primary (the test takes one)
    slow_acquires() {
        curl -s --unix-socket "$SOCK" http://localhost/v1/pools | /usr/bin/python3 -c '
import json, sys
print([e["pool"]["acquires"] for s in json.load(sys.stdin) if s["source"] == "slow"
       for e in s["endpoints"]][0])'
    }
    a0=$(slow_acquires)
    curl -s -o "$tmp/slow.json" -w '%{http_code}' --max-time 30 --unix-socket "$SOCK" \
        -X POST http://localhost/v1/sources/slow/test >"$tmp/slow.code" 2>&1 &
    slow=$!
    slow_took() { [ "$(slow_acquires)" -gt "$a0" ]; }
    # the test has its connection (and hangs in ping) before the reload
    wait_until slow_took || bad "the slow test never took a connection"
    rm "$tmp/conf/sources.d/slow.conf"
    ucurl 200 -X POST http://localhost/v1/reload
    wait "$slow"
    [ "$(cat "$tmp/slow.code")" = 503 ] && ok || bad "slow test: HTTP $(cat "$tmp/slow.code"), wanted 503"
    jcheck "$tmp/slow.json" 'd["dsrc_status"] == "timeout" and "probe_timeout" in d["detail"]'
    ucurl 404 -X POST http://localhost/v1/sources/slow/test
fi

# ---- after a reload, the kept router still tests ----
rm "$tmp/conf/sources.d/gone.conf"
ucurl 200 -X POST http://localhost/v1/reload
ucurl 404 -X POST http://localhost/v1/sources/gone/test
ucurl 200 -X POST http://localhost/v1/sources/demo/test
jcheck "$tmp/body" 'd["ok"] is True'

kill -0 "$pid" 2>/dev/null && ok || bad "dsrcd died"
kill -TERM "$pid"
wait "$pid"
st=$?
pid=
[ "$st" -eq 0 ] && ok || { bad "dsrcd exit $st"; tail -20 "$tmp/log"; }
"$DSRC" $C runs >"$tmp/runs_c.txt" 2>&1
cmp -s "$tmp/runs_a.txt" "$tmp/runs_c.txt" && ok || bad "dsrc runs: not the same without dsrcd"
"$DSRC" -c "$tmp/conf/other.conf" --json runs >"$tmp/runs_b.json" 2>&1
jcheck "$tmp/runs_b.json" 'd == []'
grep -E "AddressSanitizer|runtime error" "$tmp/log" && bad "sanitizer report" || ok
finish api_sources.sh
