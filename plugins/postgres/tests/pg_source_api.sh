#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A PostgreSQL source registered at run time through dsrcd's API:
#  - with a plain password: the file holds fernet:..., the password is in
#    no file, log, audit record or answer; the source is healthy within one
#    probe interval; dsrc fetch works with it; the other sources' pools
#    were not touched (their opened/closed counters are the same);
#  - with a wrong password: ?test=true is 422 with the server's
#    authentication error and nothing is written; ?test=false stores it
#    and it is shown down.
# Skipped (77) when no PostgreSQL server is installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/postgres/tests/pg_lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
FIXTURE="$top_srcdir/plugins/postgres/tests/fixture/pg-fixture"
PY=/usr/bin/python3
for t in curl "$PY"; do
    command -v "$t" >/dev/null || { echo "$t missing"; exit 77; }
done
lib_tmpdir dsrc-pgsrcapi
pgdir="" pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"
}
psql_q() { "$FIXTURE" psql "$pgdir" -At -c "$1"; }
SOCK="$tmp/dsrcd.sock"
D="$tmp/conf/sources.d"
mkdir -p "$tmp/answers"

pg_start --no-replica
psql_q "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL);
        GRANT SELECT ON items TO $PG_USER;
        INSERT INTO items (name) SELECT 'item ' || g FROM generate_series(1, 250) g;" ||
    { echo "cannot make the table"; exit 99; }

"$DSRC" secret genkey >"$tmp/key" && chmod 600 "$tmp/key"
lib_conf "$top_builddir/plugins/postgres/.libs" "control_socket = \"$SOCK\";" \
    "key_file = \"$tmp/key\";"
# two sources written by hand, their password from the environment
DSRC_PGSA_PASSWORD=$PG_PASSWORD
export DSRC_PGSA_PASSWORD
for n in one two; do
    cat >"$D/$n.conf" <<EOF
name = "$n";
type = "postgres";
connection = {
    host = "127.0.0.1"; port = $PG_PORT; database = "$PG_DATABASE";
    user = "$PG_USER"; password = "env:DSRC_PGSA_PASSWORD";
};
tls = { mode = "verify-full"; ca = "$PG_CA"; };
pool = { max_size = 2; min_idle = 1; };
schedule = { health = "@every 2s"; };
EOF
done
"$DSRCD" -c "$tmp/conf/dsrcd.conf" --foreground --log-target stderr --log-level debug \
    >"$tmp/log" 2>&1 &
pid=$!
wait_until test -S "$SOCK" || { bad "no control socket"; cat "$tmp/log"; exit 1; }
healthy() {
    curl -sS --unix-socket "$SOCK" "http://localhost/v1/health?source=$1" |
        grep -q '"status":"healthy"'
}
counters() {
    curl -sS --unix-socket "$SOCK" http://localhost/v1/pools | "$PY" -c '
import json, sys
for s in json.load(sys.stdin):
    if s["source"] in ("one", "two"):
        p = s["endpoints"][0]["pool"]
        print(s["source"], p["opened"], p["closed"], p["failed_opens"])'
}
wait_until healthy one && wait_until healthy two && ok || bad "one and two never healthy"
before=$(counters)
body() {
    printf '{"name":"%s","type":"postgres","connection":{"host":"127.0.0.1","port":%s,"database":"%s","user":"%s","password":"%s"},"tls":{"mode":"verify-full","ca":"%s"},"pool":{"max_size":2,"min_idle":0},"schedule":{"health":"@every 2s"}}' \
        "$1" "$PG_PORT" "$PG_DATABASE" "$PG_USER" "$2" "$PG_CA"
}

# ---- a source with a plain password ----
ucurl 201 -X POST http://localhost/v1/sources -H 'Content-Type: application/json' \
    -d "$(body added "$PG_PASSWORD")"
cp "$tmp/body" "$tmp/answers/post"
jcheck "$tmp/body" 'd["applied"] is True and d["test"]["ok"] is True and d["test"]["latency_ms"] > 0 and "127.0.0.1" in d["test"]["endpoint"]'
t0=$(date +%s)
has "$D/added.conf" 'password = "fernet:'
hasnt "$D/added.conf" "$PG_PASSWORD"
# healthy after a probe interval (2 s), not at the default first probe
# (30 s): 10 s allowed on a loaded machine
if wait_until healthy added; then
    t1=$(date +%s)
    [ $((t1 - t0)) -le 10 ] && ok || bad "healthy only after $((t1 - t0)) s (interval 2 s)"
else
    bad "the added source never became healthy"
fi
ucurl 200 http://localhost/v1/sources/added
cp "$tmp/body" "$tmp/answers/get"
jcheck "$tmp/body" 'd["document"]["connection"]["password"].startswith("fernet:") and d["valid"] is True'
# dsrc fetch, in its own process, decrypts it with the host's key
expect 0 "$DSRC" -c "$tmp/conf/dsrcd.conf" fetch added public.items -o "$tmp/items.csv"
[ "$(wc -l <"$tmp/items.csv")" -eq 251 ] && ok || bad "fetch wrote $(wc -l <"$tmp/items.csv") lines, wanted 251"
# the other sources' pools were not touched
after=$(counters)
[ "$before" = "$after" ] && ok || bad "the other pools changed: '$before' -> '$after'"

# ---- a wrong password ----
failed_logins() { grep -c 'password authentication failed' "$PG_DIR/log/primary.log"; }
ucurl 422 -X POST http://localhost/v1/sources -H 'Content-Type: application/json' \
    -d "$(body wrong not-the-password)"
cp "$tmp/body" "$tmp/answers/wrong"
jcheck "$tmp/body" 'd["test"]["ok"] is False and d["test"]["dsrc_status"] == "auth" and "password" in d["test"]["error"].lower()'
[ ! -e "$D/wrong.conf" ] && ok || bad "wrong.conf written though the test failed"
ls -A "$D" | grep -q '^\.wrong' && bad "a temporary file is left" || ok
ucurl 201 -X POST 'http://localhost/v1/sources?test=false' -H 'Content-Type: application/json' \
    -d "$(body wrong not-the-password)"
cp "$tmp/body" "$tmp/answers/wrong2"
[ -e "$D/wrong.conf" ] && ok || bad "wrong.conf not written with test=false"
wait_until sh -c "curl -sS --unix-socket '$SOCK' 'http://localhost/v1/health?source=wrong' | grep -Eq '\"status\":\"(down|unhealthy)\"'" &&
    ok || bad "the source with a wrong password is not shown down"
[ "$(counters)" = "$before" ] && ok || bad "the other pools changed after the second add"

# ---- the password is nowhere in plain ----
expect 0 "$DSRC" -c "$tmp/conf/dsrcd.conf" audit --json
cp "$tmp/out" "$tmp/answers/audit"
jcheck "$tmp/out" 'any(r["action"] == "POST /v1/sources" and r["source"] == "added" and r["result"] == "201" for r in d)'
kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
pid=
for f in "$tmp/log" "$tmp"/state/* "$D"/* "$tmp"/answers/*; do
    [ -f "$f" ] || continue
    if grep -qaF "$PG_PASSWORD" "$f"; then bad "the plain password is in $f"; else ok; fi
done
finish pg_source_api
