#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrcd's control API over HTTP: on the control socket (curl --unix-socket,
# roles from the peer's uid) and on TLS TCP (bearer tokens); a silent client
# delays no one; routing, limits and problem+json errors; many clients at
# once; a non-loopback listener without TLS is a configuration error.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
lib_tmpdir dsrc-api
pid=
silent=
cleanup() {
    [ -n "$silent" ] && kill "$silent" 2>/dev/null
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
}
PY=/usr/bin/python3
for t in curl socat sqlite3 openssl "$PY"; do
    command -v "$t" >/dev/null || { echo "$t missing"; exit 77; }
done
SOCK="$tmp/run/dsrcd.sock"

sqlite3 "$tmp/shop.db" 'CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1,"a");'
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1 || { echo "openssl failed"; exit 99; }
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# A listener on a non-loopback address without TLS is refused, with file:line.
lib_conf "$top_builddir/plugins/sqlite/.libs" "control_socket = \"$SOCK\";" \
    'api = {' '  listen = "0.0.0.0:8080";' '};'
expect 78 "$DSRCD" -c "$tmp/conf/dsrcd.conf" --check-config
has "$tmp/err" "dsrcd.conf:7"
has "$tmp/err" "without TLS"

lib_conf "$top_builddir/plugins/sqlite/.libs" "control_socket = \"$SOCK\";" \
    "api = { listen = \"127.0.0.1:$PORT\"; tls_cert = \"$tmp/cert.pem\"; tls_key = \"$tmp/key.pem\";" \
    "        max_body = 1024; }"
cat >"$tmp/conf/sources.d/demo.conf" <<EOF
name = "demo";
type = "sqlite";
connection = { path = "$tmp/shop.db"; };
EOF
C="-c $tmp/conf/dsrcd.conf"
expect 0 "$DSRCD" $C --check-config

"$DSRCD" $C --foreground --log-level debug >"$tmp/log" 2>&1 &
pid=$!
if wait_until test -S "$SOCK"; then ok; else bad "no control socket"; cat "$tmp/log"; exit 1; fi

# A silent client holding a connection delays no one (it holds it for 30 s;
# dsrc pools takes some 50 ms, under 15 s on a loaded machine).
socat -u "UNIX-CONNECT:$SOCK" "EXEC:sleep 30" >/dev/null 2>&1 &
silent=$!
sleep 0.3
t0=$(date +%s%N)
expect 0 "$DSRC" $C pools
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
[ "$ms" -lt 15000 ] && ok || bad "dsrc pools took $ms ms beside a silent client"
has "$tmp/out" "demo"

# HTTP on the socket.
ucurl 200 http://localhost/v1/health
has "$tmp/hdr" "application/json"
jcheck "$tmp/body" 'd[0]["source"] == "demo"'
ucurl 200 http://localhost/v1/status
jcheck "$tmp/body" 'd["sources"] == 1 and d["pid"] > 0'
ucurl 200 http://localhost/v1/sources
jcheck "$tmp/body" 'd[0]["name"] == "demo" and d[0]["type"] == "sqlite"'
ucurl 200 http://localhost/v1/sources/demo
jcheck "$tmp/body" 'd["name"] == "demo" and "connection" in d'
ucurl 200 http://localhost/v1/pools?source=demo
jcheck "$tmp/body" 'len(d) == 1 and d[0]["source"] == "demo"'
ucurl 404 http://localhost/v1/sources/nosuch
has "$tmp/hdr" "application/problem+json"
jcheck "$tmp/body" 'd["status"] == 404 and d["dsrc_status"] == "not-found" and "nosuch" in d["detail"] and d["retryable"] is False'
ucurl 404 http://localhost/v1/nothing
has "$tmp/hdr" "application/problem+json"
ucurl 405 -X DELETE http://localhost/v1/health
has "$tmp/hdr" "Allow: GET"
ucurl 400 -X POST -H 'Content-Type: application/json' --data 'not json' http://localhost/v1/runs
jcheck "$tmp/body" 'd["status"] == 400 and d["dsrc_status"] == "invalid-argument"'
"$PY" -c 'print("{\"x\":\"" + "a" * 5000 + "\"}")' >"$tmp/big"
ucurl 413 -X POST -H 'Content-Type: application/json' --data-binary @"$tmp/big" http://localhost/v1/runs
jcheck "$tmp/body" 'd["status"] == 413'
"$PY" -c 'print("a" * 70000)' >"$tmp/bighdr"
ucurl 431 -H "X-Big: $(cat "$tmp/bighdr")" http://localhost/v1/health
ucurl 202 -X POST -H 'Content-Type: application/json' \
    --data '{"source":"demo","kind":"discover"}' http://localhost/v1/runs
jcheck "$tmp/body" 'd["id"] >= 1'
has "$tmp/hdr" "Location: /v1/runs/"
run_id=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$tmp/body" 2>/dev/null || echo 0)
done_run() { curl -sf --unix-socket "$SOCK" "http://localhost/v1/runs/$run_id" | grep -q '"state": *"succeeded"'; }
wait_until done_run && ok || bad "run $run_id never succeeded"
ucurl 200 "http://localhost/v1/runs?source=demo&limit=5"
jcheck "$tmp/body" 'any(r["id"] == '"$run_id"' for r in d)'
ucurl 404 http://localhost/v1/runs/999999
ucurl 200 http://localhost/v1/sources/demo/drift
jcheck "$tmp/body" 'd == []'
ucurl 400 "http://localhost/v1/sources/demo/drift?since=yesterday"
ucurl 404 http://localhost/v1/sources/nosuch/drift
ucurl 200 http://localhost/v1/jobs
expect 0 "$DSRC" $C runs
expect 0 "$DSRC" $C jobs
expect 0 "$DSRC" $C health demo
has "$tmp/out" "demo: healthy"

# POST /v1/reload does what SIGHUP does and answers with the result.
ucurl 200 -X POST http://localhost/v1/reload
jcheck "$tmp/body" 'd["reloaded"] is True and d["sources"] == 1 and d["errors"] == []'
cp "$tmp/conf/sources.d/demo.conf" "$tmp/demo.conf.good"
echo 'bogus = 1;' >>"$tmp/conf/sources.d/demo.conf"
ucurl 400 -X POST http://localhost/v1/reload
has "$tmp/hdr" "application/problem+json"
jcheck "$tmp/body" 'd["dsrc_status"] == "invalid-config" and any(x["file"].endswith("demo.conf") and x["line"] == 4 and "bogus" in x["message"] for x in d["errors"])'
cp "$tmp/demo.conf.good" "$tmp/conf/sources.d/demo.conf"
ucurl 200 http://localhost/v1/sources/demo
ucurl 405 http://localhost/v1/reload
has "$tmp/hdr" "Allow: POST"
# A reload that changes the api group restarts the server after answering.
sed -i 's/max_body = 1024;/max_body = 2048;/' "$tmp/conf/dsrcd.conf"
ucurl 200 -X POST http://localhost/v1/reload
wait_until grep -q "reloaded: 1 source" "$tmp/log" && ok || bad "no reload logged"
wait_until curl -sf --unix-socket "$SOCK" http://localhost/v1/health && ok || bad "no API after the reload"
sed -i 's/max_body = 2048;/max_body = 1024;/' "$tmp/conf/dsrcd.conf"
kill -HUP "$pid"

# Roles: an unprivileged uid gets 403, root 200.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    chmod 0755 "$tmp"
    chmod 0777 "$tmp/run" "$SOCK"
    code=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
        curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" http://localhost/v1/health)
    [ "$code" = 403 ] && ok || bad "nobody got $code, wanted 403"
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
        curl -s --unix-socket "$SOCK" -X POST http://localhost/v1/reload >"$tmp/body"
    jcheck "$tmp/body" 'd["status"] == 403 and "needs the admin role" in d["detail"] and d["dsrc_status"] == "permission"'
    ucurl 200 http://localhost/v1/health
fi

# TLS TCP: the certificate works; without a token, 401.
code=$(curl -sS -o "$tmp/body" -w '%{http_code}' --cacert "$tmp/cert.pem" \
    "https://127.0.0.1:$PORT/v1/health" 2>"$tmp/cerr")
[ "$code" = 401 ] && ok || { bad "TLS without token: $code"; cat "$tmp/cerr"; }
jcheck "$tmp/body" 'd["status"] == 401'
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$tmp/cert.pem" \
    -H 'Authorization: Bearer nosuchtoken' "https://127.0.0.1:$PORT/v1/health" 2>"$tmp/cerr")
[ "$code" = 401 ] && ok || bad "TLS with an unknown token: $code"

# Tokens from the state store: a viewer reads, is refused a run (403); a
# revoked token is 401; every denial and change is in the audit trail,
# with the token's name, never the token.
# tcurl TOKEN METHOD PATH: the HTTP status of a TLS request
tcurl() {
    curl -sS -o "$tmp/body" -w '%{http_code}' --cacert "$tmp/cert.pem" -X "$2" \
        -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
        ${4:+-d "$4"} "https://127.0.0.1:$PORT$3" 2>"$tmp/cerr"
}
vtok=$("$DSRC" -c "$tmp/conf/dsrcd.conf" token create --role viewer --name api-viewer 2>/dev/null)
otok=$("$DSRC" -c "$tmp/conf/dsrcd.conf" token create --role operator --name api-op 2>/dev/null)
case $vtok in dsrc_*) ok ;; *) bad "no viewer token: $vtok" ;; esac
[ "$(tcurl "$vtok" GET /v1/health)" = 200 ] && ok || { bad "viewer token: not 200"; cat "$tmp/body"; }
jcheck "$tmp/body" 'd[0]["source"] == "demo"'
[ "$(tcurl "$vtok" POST /v1/runs '{"source":"demo","kind":"discover"}')" = 403 ] && ok ||
    { bad "a viewer queued a run"; cat "$tmp/body"; }
[ "$(tcurl "$otok" POST /v1/runs '{"source":"demo","kind":"discover"}')" = 202 ] && ok ||
    { bad "an operator could not queue a run"; cat "$tmp/body"; }
"$DSRC" -c "$tmp/conf/dsrcd.conf" token revoke api-viewer >/dev/null 2>&1 && ok || bad "revoke failed"
# accepted tokens are remembered a second (CONTROL_TOKEN_TTL_MS): the
# revoked one is refused within 2 s
revoked401() { [ "$(tcurl "$vtok" GET /v1/health)" = 401 ]; }
n=20
until revoked401 || [ $n -eq 0 ]; do sleep 0.1; n=$((n - 1)); done
[ $n -gt 0 ] && ok || bad "a revoked token still works after 2 s"
jcheck "$tmp/body" '"revoked" in d["detail"]'
"$DSRC" -c "$tmp/conf/dsrcd.conf" --json audit >"$tmp/audit.json" 2>&1
jcheck "$tmp/audit.json" 'any(r["who"] == "token api-viewer" and r["action"] == "POST /v1/runs" and r["result"] == "403" for r in d)'
jcheck "$tmp/audit.json" 'any(r["who"] == "token api-op" and r["action"] == "POST /v1/runs" and r["result"] == "202" and r["source"] == "demo" for r in d)'
jcheck "$tmp/audit.json" 'any(r["action"] == "GET /v1/health" and r["result"] == "401" and r["origin"].startswith("127.0.0.1:") for r in d)'
grep -qF "$vtok" "$tmp/audit.json" "$tmp/log" "$tmp/state/dsrc.db" && bad "a token reached the audit trail or the log" || ok
"$DSRC" -c "$tmp/conf/dsrcd.conf" audit --verify >/dev/null 2>&1 && ok || bad "the audit chain does not verify"

# GET /metrics: the Prometheus text format, as promtool reads it.
ucurl 200 http://localhost/metrics
has "$tmp/hdr" "text/plain; version=0.0.4"
has "$tmp/body" 'dsrc_source_up{source="demo"}'
if command -v promtool >/dev/null 2>&1; then
    promtool check metrics <"$tmp/body" >"$tmp/promtool" 2>&1 && [ ! -s "$tmp/promtool" ] && ok ||
        { bad "promtool check metrics"; head -20 "$tmp/promtool"; }
fi

# Many clients at once: all answered.
i=0 clients=
while [ $i -lt 200 ]; do
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 20 --unix-socket "$SOCK" \
        http://localhost/v1/health >>"$tmp/many" 2>&1 &
    clients="$clients $!"
    i=$((i + 1))
done
wait $clients
[ "$(grep -c '^200$' "$tmp/many")" -eq 200 ] && ok ||
    bad "$(grep -c '^200$' "$tmp/many") of 200 concurrent clients answered"

kill -0 "$pid" 2>/dev/null && ok || bad "dsrcd died"
kill "$silent" 2>/dev/null; silent=
kill -TERM "$pid"
wait "$pid"
st=$?
pid=
[ "$st" -eq 0 ] && ok || { bad "dsrcd exit $st"; tail -20 "$tmp/log"; }
[ ! -e "$SOCK" ] && ok || bad "socket left behind"
finish api.sh
