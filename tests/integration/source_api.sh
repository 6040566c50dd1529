#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Sources added, changed and removed at run time (POST, PUT, PATCH, DELETE
# /v1/sources; dsrc source): a plain secret is stored encrypted and shows
# nowhere in plain; bad input is refused with a field per error and
# nothing written; a failed test stores nothing (unless ?test=false);
# If-Match protects against a hand edit and a concurrent change; every
# change is audited; the other sources' pools are not touched; a SIGKILL
# of dsrcd while it writes leaves the old file or the new one; dsrc source
# works without dsrcd with the same checks.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
OPTS="$top_builddir/tests/fixtures/plugins/.libs/opts.so"
PY=/usr/bin/python3
for t in curl sqlite3 "$PY"; do
    command -v "$t" >/dev/null || { echo "$t missing"; exit 77; }
done
[ -f "$OPTS" ] || { echo "opts fixture missing"; exit 77; }
lib_tmpdir dsrc-source-api
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
}
SOCK="$tmp/run/dsrcd.sock"
D="$tmp/conf/sources.d"
PW='Pw-SeCrEt-4711-xyz'
mkdir -p "$tmp/plugins" "$tmp/run" "$tmp/answers"
ln -s "$top_builddir/plugins/sqlite/.libs/sqlite.so" "$tmp/plugins/sqlite.so"
ln -s "$OPTS" "$tmp/plugins/opts.so"
"$DSRC" secret genkey >"$tmp/key" && chmod 600 "$tmp/key"
sqlite3 "$tmp/shop.db" 'CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1,"a");'
lib_conf "$tmp/plugins" "control_socket = \"$SOCK\";" "key_file = \"$tmp/key\";" \
    'probe_timeout = "3s";' 'shutdown_grace = "1s";'
cat >"$D/demo.conf" <<EOF
name = "demo";
type = "sqlite";
connection = { path = "$tmp/shop.db"; };
pool = { min_idle = 2; };
EOF
C="-c $tmp/conf/dsrcd.conf"
start() {
    rm -f "$SOCK"    # a killed dsrcd leaves its socket behind
    "$DSRCD" $C --foreground --log-level debug >>"$tmp/log" 2>&1 &
    pid=$!
    wait_until test -S "$SOCK" || { bad "no control socket"; cat "$tmp/log"; exit 1; }
}
stop() {
    kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    pid=
}
# keep every answer: none may hold the plain secret
n_ans=0
keep() { n_ans=$((n_ans + 1)); cp "$tmp/body" "$tmp/answers/$n_ans"; cat "$tmp/hdr" >>"$tmp/answers/$n_ans"; }
# the file names of sources_dir, hidden ones too
listing() { ls -A "$D" | grep -v '^\.dsrc-sources\.lock$'; }
etag() { grep -i '^etag:' "$tmp/hdr" | sed 's/^[^:]*: *//' | tr -d '\r'; }
# pool counters of demo: opened and closed connections
demo_pool() {
    curl -sS --unix-socket "$SOCK" "http://localhost/v1/pools?source=demo" |
        "$PY" -c 'import json,sys; p=json.load(sys.stdin)[0]["endpoints"][0]["pool"]; print(p["opened"], p["closed"])'
}

start
wait_until sh -c "curl -sS --unix-socket '$SOCK' http://localhost/v1/health?source=demo | grep -q '\"status\":\"healthy\"'" || bad "demo never healthy"
pool_before=$(demo_pool)

# ---- add: plain secret encrypted, tested, served at once ----
ucurl 201 -X POST http://localhost/v1/sources -H 'Content-Type: application/json' \
    -d "{\"name\":\"o1\",\"type\":\"opts\",\"labels\":{\"team\":\"a\"},\"connection\":{\"path\":\"$tmp/shop.db\",\"password\":\"$PW\",\"port\":5433},\"pool\":{\"max_size\":3}}"
keep
jcheck "$tmp/body" 'd["source"] == "o1" and d["applied"] is True and d["test"]["ok"] is True and d["test"]["endpoint"] == "opts" and "connection.password" not in str(d) or d["changed"] == ["connection", "labels", "name", "pool", "type"]'
grep -qi '^location: /v1/sources/o1' "$tmp/hdr" && ok || bad "no Location"
e1=$(etag)
jcheck "$tmp/body" "d['etag'] == '$e1'.replace('\\\\\"', '\"')"
[ -f "$D/o1.conf" ] && ok || bad "o1.conf not written"
has "$D/o1.conf" 'password = "fernet:'
has "$D/o1.conf" 'Managed through the dsrc control API'
has "$D/o1.conf" 'port = 5433;'
hasnt "$D/o1.conf" "$PW"
expect 0 "$DSRCD" $C --check-config
ucurl 200 http://localhost/v1/sources/o1
keep
[ "$(etag)" = "$e1" ] && ok || bad "GET's ETag $(etag) is not $e1"
jcheck "$tmp/body" 'd["document"]["connection"]["password"].startswith("fernet:") and d["document"]["pool"]["max_size"] == 3'
wait_until sh -c "curl -sS --unix-socket '$SOCK' http://localhost/v1/health?source=o1 | grep -q '\"status\":\"healthy\"'" && ok || bad "o1 never healthy"

# ---- bad input: a clear 4xx, a field per error, nothing written ----
before=$(listing)
post_bad() {
    want=$1 body=$2 check=$3
    ucurl "$want" -X POST http://localhost/v1/sources -H 'Content-Type: application/json' -d "$body"
    keep
    grep -qi '^content-type: application/problem+json' "$tmp/hdr" && ok || bad "not problem+json"
    [ -z "$check" ] || jcheck "$tmp/body" "$check"
}
post_bad 422 '{"name":"b1","type":"nosuch"}' 'd["errors"][0]["field"] == "type" and "nosuch" in d["errors"][0]["message"]'
post_bad 422 "{\"name\":\"b2\",\"type\":\"opts\",\"connection\":{\"path\":\"$tmp/shop.db\",\"nosuch\":1}}" '[e["field"] for e in d["errors"]] == ["connection.nosuch"]'
post_bad 422 "{\"name\":\"b3\",\"type\":\"opts\",\"connection\":{\"path\":\"$tmp/shop.db\",\"port\":\"abc\"},\"pool\":{\"max_size\":\"ten\"},\"bogus\":true}" 'sorted(e["field"] for e in d["errors"]) == ["bogus", "connection.port", "pool.max_size"]'
post_bad 400 '{"name":"a/b","type":"opts"}' 'd["errors"][0]["field"] == "name"'
post_bad 400 '{"name":"..","type":"opts"}' 'd["errors"][0]["field"] == "name"'
post_bad 400 '{"name":"../x","type":"opts"}' 'd["errors"][0]["field"] == "name"'
post_bad 400 '{"type":"opts"}' 'd["errors"][0]["field"] == "name"'
post_bad 400 '[1, 2]' ''
post_bad 400 'not json' ''
post_bad 400 "{\"name\":\"b4\",\"type\":\"opts\",\"connection\":{\"path\":null}}" 'd["errors"][0]["field"] == "connection.path"'
post_bad 400 "{\"name\":\"b5\",\"type\":\"opts\",\"connection\":{\"path\":\"$tmp/shop.db\",\"port\":[1,\"a\"]}}" 'd["errors"][0]["field"] == "connection.port[1]"'
post_bad 409 "{\"name\":\"demo\",\"type\":\"sqlite\",\"connection\":{\"path\":\"$tmp/shop.db\"}}" '"exists" in d["detail"]'
"$PY" -c "import json; print(json.dumps({'name': 'big', 'type': 'opts', 'labels': {'l%d' % i: 'x' * 100 for i in range(11000)}}))" >"$tmp/big.json"
ucurl 413 -X POST http://localhost/v1/sources -H 'Content-Type: application/json' --data-binary "@$tmp/big.json"
ucurl 400 -X PUT http://localhost/v1/sources/o1 -H 'Content-Type: application/json' -d '{"name":"o2","type":"opts"}'
ucurl 404 -X PUT http://localhost/v1/sources/nosuch -H 'Content-Type: application/json' -d '{"type":"opts"}'
ucurl 404 -X DELETE http://localhost/v1/sources/nosuch
[ "$(listing)" = "$before" ] && ok || bad "a refused request left files: $(listing)"

# ---- a failed test stores nothing; ?test=false stores it, shown down ----
post_bad 422 "{\"name\":\"gone\",\"type\":\"sqlite\",\"connection\":{\"path\":\"$tmp/no/such.db\"}}" 'd["test"]["ok"] is False and "such.db" in d["test"]["error"]'
[ "$(listing)" = "$before" ] && ok || bad "a failed test left files: $(listing)"
ucurl 201 -X POST 'http://localhost/v1/sources?test=false' -H 'Content-Type: application/json' \
    -d "{\"name\":\"gone\",\"type\":\"sqlite\",\"connection\":{\"path\":\"$tmp/no/such.db\"},\"schedule\":{\"health\":\"@every 1s\"}}"
jcheck "$tmp/body" 'd["test"] is None and d["applied"] is True'
wait_until sh -c "curl -sS --unix-socket '$SOCK' http://localhost/v1/health?source=gone | grep -q '\"status\":\"down\"'" && ok || bad "gone never shown down"
ucurl 400 -X POST 'http://localhost/v1/sources?test=maybe' -d '{}'

# ---- If-Match: a hand edit in between, two concurrent changes ----
ucurl 200 http://localhost/v1/sources/o1
e2=$(etag)
printf '# edited by hand\n' >>"$D/o1.conf"
ucurl 412 -X PUT http://localhost/v1/sources/o1 -H "If-Match: $e2" -H 'Content-Type: application/json' \
    -d "{\"type\":\"opts\",\"connection\":{\"path\":\"$tmp/shop.db\"}}"
keep
has "$D/o1.conf" '# edited by hand'
ucurl 200 http://localhost/v1/sources/o1
e3=$(etag)
[ "$e3" != "$e2" ] && ok || bad "the ETag did not change with the file"
for k in 1 2; do
    curl -sS -o "$tmp/put$k" -w '%{http_code}\n' --unix-socket "$SOCK" -X PUT \
        http://localhost/v1/sources/o1 -H "If-Match: $e3" -H 'Content-Type: application/json' \
        -d "{\"type\":\"opts\",\"labels\":{\"writer\":\"w$k\"},\"connection\":{\"path\":\"$tmp/shop.db\",\"password\":\"$PW\"}}" >"$tmp/code$k" &
done
wait_until sh -c "[ -s '$tmp/code1' ] && [ -s '$tmp/code2' ]"
codes=$(cat "$tmp/code1" "$tmp/code2" | sort | tr '\n' ' ')
[ "$codes" = "200 412 " ] && ok || bad "two PUTs with one If-Match answered $codes (wanted one 200, one 412)"
winner=1; [ "$(cat "$tmp/code1")" = 200 ] || winner=2
has "$D/o1.conf" "writer = \"w$winner\";"
hasnt "$D/o1.conf" '# edited by hand'
cat "$tmp/put1" "$tmp/put2" >>"$tmp/answers/puts"

# ---- PATCH: a merge patch; the secret is kept as it was ----
tok=$(grep 'password = ' "$D/o1.conf")
ucurl 200 -X PATCH http://localhost/v1/sources/o1 -H 'Content-Type: application/json' \
    -d '{"pool":{"max_size":4},"labels":{"writer":null,"env":"prod"}}'
keep
jcheck "$tmp/body" 'd["changed"] == ["labels.env", "labels.writer", "pool"]'
has "$D/o1.conf" 'max_size = 4;'
has "$D/o1.conf" 'env = "prod";'
hasnt "$D/o1.conf" 'writer'
has "$D/o1.conf" "$tok"
ucurl 422 -X PATCH http://localhost/v1/sources/o1 -H 'Content-Type: application/json' \
    -d '{"connection":{"port":"x"}}'
jcheck "$tmp/body" 'd["errors"][0]["field"] == "connection.port"'
hasnt "$D/o1.conf" 'port = "x"'

# ---- the other sources' pools were not touched ----
pool_after=$(demo_pool)
[ "$pool_before" = "$pool_after" ] && ok || bad "demo's pool changed: opened/closed $pool_before -> $pool_after"

# ---- the audit trail: who and which fields, never a value ----
expect 0 "$DSRC" $C audit --json --source o1
if "$PY" - "$tmp/out" <<'EOF'; then ok; else bad "audit records of o1 wrong"; sed 's/^/  | /' "$tmp/out" | head -20; fi
import json, sys
recs = json.load(open(sys.argv[1]))
acts = [(r["action"], r["result"], r["detail"] or "") for r in recs]
need = [("POST /v1/sources", "201", "fields connection, labels, name, pool, type"),
        ("PATCH /v1/sources/{name}", "200", "fields labels.env, labels.writer, pool"),
        ("PUT /v1/sources/{name}", "412", "")]
for a, res, det in need:
    if not any(x[0] == a and x[1] == res and det in x[2] for x in acts):
        print("missing", a, res, det, acts)
        sys.exit(1)
EOF

# ---- DELETE: the file goes, the source is no longer served ----
ucurl 200 -X DELETE http://localhost/v1/sources/gone
jcheck "$tmp/body" 'd["applied"] is True and d["etag"] is None'
[ ! -e "$D/gone.conf" ] && ok || bad "gone.conf still there"
ucurl 404 http://localhost/v1/sources/gone
[ "$(demo_pool)" = "$pool_before" ] && ok || bad "demo's pool changed with a DELETE"

# ---- the secret is nowhere in plain ----
stop
for f in "$tmp/log" "$tmp/state"/* "$D"/* "$tmp/answers"/*; do
    [ -f "$f" ] || continue
    if grep -qaF "$PW" "$f"; then bad "the plain secret is in $f"; else ok; fi
done

# ---- SIGKILL while writing: the old file or the new one, never a part ----
"$PY" -c "
import json
for v in ('a', 'b'):
    d = {'type': 'opts', 'connection': {'path': '$tmp/shop.db'}, 'labels': {'l%d' % i: v * 60 for i in range(4000)}}
    d['labels']['version'] = v
    json.dump(d, open('$tmp/v%s.json' % v, 'w'))
"
# A change of 4 000 labels takes seconds in a sanitizer build on a busy
# machine: the bound below is for a hang, and the bookkeeping of which
# file is the old one needs every restoring change to have been answered.
UCURL_MAX_TIME=180
start
ucurl 200 -X PUT http://localhost/v1/sources/o1 -H 'Content-Type: application/json' --data-binary "@$tmp/va.json"
cp "$D/o1.conf" "$tmp/old.conf"
# how long a whole change takes here: the kills are spread over 0 to 1.5 times that
ms=$(curl -sS -o /dev/null -w '%{time_total}' --unix-socket "$SOCK" -X PUT http://localhost/v1/sources/o1 \
    -H 'Content-Type: application/json' --data-binary "@$tmp/va.json" | "$PY" -c 'import sys; print(int(float(sys.stdin.read()) * 1000))')
cp "$D/o1.conf" "$tmp/old.conf"
i=0 torn=0 seen_new=0
while [ $i -lt 12 ]; do
    i=$((i + 1))
    [ -n "$pid" ] || start
    curl -sS -o /dev/null --max-time 20 --unix-socket "$SOCK" -X PUT http://localhost/v1/sources/o1 \
        -H 'Content-Type: application/json' --data-binary "@$tmp/vb.json" 2>/dev/null &
    cpid=$!
    sleep "$("$PY" -c "print(($i * 7 % 12) * $ms * 1.5 / 12 / 1000)")"
    kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=
    wait "$cpid" 2>/dev/null
    if cmp -s "$D/o1.conf" "$tmp/old.conf"; then :
    elif grep -q 'version = "b";' "$D/o1.conf" && tail -1 "$D/o1.conf" | grep -q '^};$' &&
         "$DSRCD" $C --check-config >/dev/null 2>&1; then
        seen_new=$((seen_new + 1))
        start
        ucurl 200 -X PUT http://localhost/v1/sources/o1 -H 'Content-Type: application/json' --data-binary "@$tmp/va.json"
        cp "$D/o1.conf" "$tmp/old.conf"
        stop
    else
        torn=$((torn + 1)); echo "torn file after kill $i:"; tail -3 "$D/o1.conf"
    fi
done
unset UCURL_MAX_TIME
[ "$torn" -eq 0 ] && ok || bad "$torn kill(s) left a torn source file"
echo "kills: $i over 0 to 1.5 x $ms ms, the new file seen $seen_new time(s)"
start
listing | grep -q '^\.o1\.conf\.' && bad "a temporary file survived the restart" || ok
has "$tmp/log" "dsrcd"
stop

# ---- DELETE with a run in flight: it finishes (default) or is cancelled ----
FAULT="$top_builddir/tests/fixtures/plugins/.libs/fault.so"
if [ -f "$FAULT" ]; then
    ln -s "$FAULT" "$tmp/plugins/fault.so"
    start
    run_state() { curl -sS --unix-socket "$SOCK" "http://localhost/v1/runs/$1" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
    for n in h1 h2; do
        ucurl 201 -X POST http://localhost/v1/sources -H 'Content-Type: application/json' \
            -d "{\"name\":\"$n\",\"type\":\"fault\",\"connection\":{\"host\":\"$n\",\"hang\":\"fetch\"},\"fetch\":[{\"item\":\"items\",\"schedule\":\"@every 1h\"}]}"
        ucurl 202 -X POST http://localhost/v1/runs -H 'Content-Type: application/json' \
            -d "{\"source\":\"$n\",\"kind\":\"fetch\",\"item\":\"items\"}"
        id=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$tmp/body")
        if [ "$n" = h1 ]; then run_h1=$id; else run_h2=$id; fi
    done
    wait_until sh -c "[ \"\$(curl -sS --unix-socket '$SOCK' http://localhost/v1/runs/$run_h1 | grep -o '\"state\":\"running\"')\" ]" && ok || bad "h1's run never ran"
    wait_until sh -c "[ \"\$(curl -sS --unix-socket '$SOCK' http://localhost/v1/runs/$run_h2 | grep -o '\"state\":\"running\"')\" ]" && ok || bad "h2's run never ran"
    ucurl 200 -X DELETE 'http://localhost/v1/sources/h1?cancel=true'
    wait_until sh -c "curl -sS --unix-socket '$SOCK' http://localhost/v1/runs/$run_h1 | grep -q '\"state\":\"cancelled\"'" && ok || bad "h1's run not cancelled by DELETE ?cancel=true: $(run_state "$run_h1")"
    ucurl 200 -X DELETE http://localhost/v1/sources/h2
    sleep 1.5
    [ "$(run_state "$run_h2")" = running ] && ok || bad "h2's run did not go on after DELETE: $(run_state "$run_h2")"
    # the removed source's state is kept: its run history is still there
    ucurl 200 'http://localhost/v1/runs?source=h1'
    jcheck "$tmp/body" 'len(d) == 1 and d[0]["state"] == "cancelled"'
    # ... unless ?purge=true
    ucurl 201 -X POST 'http://localhost/v1/sources?test=false' -H 'Content-Type: application/json' \
        -d '{"name":"h1","type":"fault","connection":{"host":"h1"}}'
    ucurl 200 -X DELETE 'http://localhost/v1/sources/h1?purge=true'
    jcheck "$tmp/body" 'd["purged"] >= 1'
    ucurl 200 'http://localhost/v1/runs?source=h1'
    jcheck "$tmp/body" 'd == []'
    stop
fi

# ---- dsrc source without dsrcd: the same checks, on the files ----
printf '%s\n' "$PW" >"$tmp/pw"
expect 0 "$DSRC" $C source add o5 --type opts --set "path=$tmp/shop.db" --set port=7 \
    --set labels.env=dev --secret password <"$tmp/pw"
has "$tmp/out" "added source 'o5'"
has "$tmp/out" "dsrcd is not running"
has "$D/o5.conf" 'password = "fernet:'
hasnt "$D/o5.conf" "$PW"
has "$D/o5.conf" 'port = 7;'
expect 78 "$DSRC" $C source add o6 --type opts --set "path=$tmp/shop.db" --set port=abc
has "$tmp/err" "connection.port"
[ ! -e "$D/o6.conf" ] && ok || bad "o6.conf written"
expect 0 "$DSRC" $C source set o5 port=8 --unset labels.env
has "$D/o5.conf" 'port = 8;'
hasnt "$D/o5.conf" 'env = '
expect 0 "$DSRC" $C source show o5
has "$tmp/out" 'password = "fernet:***";'
expect 0 "$DSRC" $C source export o5 --format libconfig
grep 'password = "fernet:' "$tmp/out" | grep -qv '\*\*\*' && ok || bad "export does not show the reference"
expect 0 "$DSRC" $C --json source export o5
jcheck "$tmp/out" 'd["name"] == "o5" and d["connection"]["port"] == 8'
expect 1 "$DSRC" $C source rm nosuch
expect 0 "$DSRC" $C source rm o5
[ ! -e "$D/o5.conf" ] && ok || bad "o5.conf still there"
expect 2 "$DSRC" $C source add o7 --set port=1
expect 2 "$DSRC" $C source frob o7
# ... and through dsrcd when it runs
start
expect 0 "$DSRC" $C source add o8 --type opts --set "path=$tmp/shop.db"
has "$tmp/out" "dsrcd serves the change"
ucurl 200 http://localhost/v1/sources/o8
expect 0 "$DSRC" $C source rm o8
ucurl 404 http://localhost/v1/sources/o8
expect 0 "$DSRC" $C audit --json --source o5
jcheck "$tmp/out" '[r["action"] for r in d] == ["source add", "source set", "source rm"] and all(r["origin"] == "cli" for r in d)'
stop
for f in "$tmp/log" "$tmp/state"/* "$D"/*; do
    [ -f "$f" ] || continue
    if grep -qaF "$PW" "$f"; then bad "the plain secret is in $f"; fi
done
finish source_api
