#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The state store on PostgreSQL (state_store = { url; ... } in dsrcd.conf),
# against a real server of plugins/postgres/tests/fixture/pg-fixture, its
# TLS verified (verify-full), the store's role and database its own:
#   - the store's unit suites (test_store, test_audit, test_catalog,
#     test_cluster, test_queries) pass on it as they do on SQLite
#     (DSRC_TEST_STORE_URL);
#   - dsrc with a fernet: password: an incremental fetch records its run,
#     its cursor and its audit record in PostgreSQL (no SQLite file is
#     made); dsrc runs and dsrc audit --verify read them back; dsrc does
#     not link libpq;
#   - bad settings are clear errors naming the setting, never showing the
#     password: a URL that is not postgresql://, a password in the URL, a
#     wrong password, an unreachable server, a CA that does not match;
#   - the server stopped: a command fails with a clear error, dsrcd
#     waits for it (and stops at once on SIGTERM meanwhile); started
#     again: dsrcd starts, dsrc works, and the cursor goes on from where it was (no row
#     twice, none missing).  (A connection lost inside a transaction:
#     test_store's connection_lost_nothing_half_done.)
# Skipped (77) when no PostgreSQL server is installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/postgres/tests/pg_lib.sh"
DSRC="$top_builddir/dsrc"
FIXTURE="$top_srcdir/plugins/postgres/tests/fixture/pg-fixture"
lib_tmpdir dsrc-pgstore
pgdir=""
cleanup() { [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"; }
pg_start --no-replica

STORE_PW=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
su_psql -q <<SQL || { echo "making the store's role failed"; exit 99; }
CREATE ROLE dsrc_store LOGIN PASSWORD '$STORE_PW';
CREATE DATABASE dsrc_store OWNER dsrc_store;
CREATE TABLE public.ev (id integer PRIMARY KEY, v text);
INSERT INTO public.ev SELECT g, 'row ' || g FROM generate_series(1, 10) g;
GRANT SELECT ON public.ev TO $PG_USER;
SQL
URL="postgresql://dsrc_store@localhost:$PG_PORT/dsrc_store"
store_psql() {
    PGPASSWORD=$STORE_PW "$PG_BINDIR/psql" -X -At -h 127.0.0.1 -p "$PG_PORT" -U dsrc_store \
        -d dsrc_store -c "$1"
}

# --- the store's unit suites on PostgreSQL -----------------------------------
for t in test_store test_audit test_catalog test_cluster test_queries; do
    [ -x "$top_builddir/tests/unit/$t" ] || continue
    if DSRC_TEST_STORE_URL=$URL DSRC_TEST_STORE_PASSWORD=$STORE_PW DSRC_TEST_STORE_CA=$PG_CA \
        CK_DEFAULT_TIMEOUT=120 "$top_builddir/tests/unit/$t" >"$tmp/$t.log" 2>&1; then
        ok
    else
        bad "$t on PostgreSQL"
        tail -20 "$tmp/$t.log"
    fi
done

# --- dsrc on a PostgreSQL store ----------------------------------------------
"$DSRC" secret genkey -o "$tmp/keys" 2>/dev/null || { echo "genkey failed"; exit 99; }
TOKEN=$(printf '%s' "$STORE_PW" | "$DSRC" secret encrypt -k "$tmp/keys") ||
    { echo "encrypt failed"; exit 99; }
pg_dsrcd_conf "$tmp/conf" info
# conf NAME STATE_STORE-BODY: $tmp/NAME.conf, the fixture's file with key_file
# and the state_store group given
conf() {
    { cat "$tmp/conf/dsrcd.conf"; printf 'key_file = "%s";\nstate_store = { %s };\n' \
        "$tmp/keys" "$2"; } >"$tmp/$1.conf"
}
conf good "url = \"$URL\"; password = \"$TOKEN\"; tls = { ca = \"$PG_CA\"; };"
pg_source_conf PGPW >"$tmp/conf/sources.d/pg.conf"
export PGPW="$PG_PASSWORD"
C="-c $tmp/good.conf"

expect 0 "$DSRC" $C fetch -q pg public.ev -k id --incremental -o "$tmp/inc1.csv"
[ "$(wc -l <"$tmp/inc1.csv")" -eq 11 ] && ok || bad "first fetch: $(wc -l <"$tmp/inc1.csv") lines"
[ "$(store_psql "SELECT field || '=' || value FROM cursors")" = "id=10" ] && ok ||
    bad "cursor in PostgreSQL: $(store_psql "SELECT * FROM cursors")"
[ "$(store_psql "SELECT state FROM runs")" = "succeeded" ] && ok ||
    bad "run in PostgreSQL: $(store_psql "SELECT id, state, error FROM runs")"
[ "$(store_psql "SELECT action || ' ' || result FROM audit")" = "fetch ok" ] && ok ||
    bad "audit in PostgreSQL: $(store_psql "SELECT * FROM audit")"
[ "$(store_psql "SELECT version FROM store_schema")" -ge 4 ] && ok || bad "schema version"
[ ! -e "$tmp/state/dsrc.db" ] && ok || bad "an SQLite store was made beside the PostgreSQL one"
expect 0 "$DSRC" $C runs
has "$tmp/out" "succeeded"
expect 0 "$DSRC" $C audit --verify
has "$tmp/out" "chain intact"
hasnt "$tmp/out" "$STORE_PW"
hasnt "$tmp/err" "$STORE_PW"
# dsrc does not link libpq (it loads it for a PostgreSQL store only)
readelf -d "$DSRC" >"$tmp/needed" 2>/dev/null && hasnt "$tmp/needed" "[libpq."

# --- bad settings ------------------------------------------------------------
conf scheme "url = \"mysql://dsrc_store@localhost/dsrc_store\";"
expect 78 "$DSRC" -c "$tmp/scheme.conf" runs
has "$tmp/err" "'state_store.url' must be a PostgreSQL URL"
conf inurl "url = \"postgresql://dsrc_store:$STORE_PW@localhost:$PG_PORT/dsrc_store\";"
expect 78 "$DSRC" -c "$tmp/inurl.conf" runs
has "$tmp/err" "holds a password"
hasnt "$tmp/err" "$STORE_PW"
WRONG=$(printf 'not-the-password' | "$DSRC" secret encrypt -k "$tmp/keys")
conf wrongpw "url = \"$URL\"; password = \"$WRONG\"; tls = { ca = \"$PG_CA\"; };"
expect 1 "$DSRC" -c "$tmp/wrongpw.conf" runs
has "$tmp/err" "state_store.url $URL"
has "$tmp/err" "authentication failed"
hasnt "$tmp/err" "not-the-password"
conf badca "url = \"$URL\"; password = \"$TOKEN\"; tls = { ca = \"$PG_OTHER_CA\"; };"
expect 1 "$DSRC" -c "$tmp/badca.conf" runs
has "$tmp/err" "state_store.url $URL: cannot connect"
conf nowhere "url = \"postgresql://dsrc_store@127.0.0.1:1/dsrc_store\"; password = \"$TOKEN\"; connect_timeout = 2;"
expect 1 "$DSRC" -c "$tmp/nowhere.conf" runs
has "$tmp/err" "state_store.url postgresql://dsrc_store@127.0.0.1:1/dsrc_store: cannot connect"
conf badref "url = \"$URL\"; password = \"env:DSRC_NO_SUCH_VARIABLE\";"
expect 1 "$DSRC" -c "$tmp/badref.conf" runs
has "$tmp/err" "state_store.password"

# --- the server stopped, then started again ----------------------------------
su_psql -q -c "INSERT INTO public.ev SELECT g, 'row ' || g FROM generate_series(11, 15) g"
pg_as_server "$PG_BINDIR/pg_ctl" -D "$PG_DIR/primary" -m fast -w stop >/dev/null 2>&1 ||
    bad "stopping the server"
expect 1 "$DSRC" $C runs
has "$tmp/err" "state_store.url $URL: cannot connect"
hasnt "$tmp/err" "$STORE_PW"
# dsrcd started while its store is down waits for it (a node of a cluster
# restarted beside its store's server): it stays up, says why, stops at
# once on SIGTERM; started again once the server is back, it starts.
DSRCD="$top_builddir/dsrcd"
dsrcd_bg() {
    "$DSRCD" -c "$tmp/good.conf" --foreground --log-target stderr >"$tmp/$1.log" 2>&1 &
    dpid=$!
}
dsrcd_bg waitterm
wait_for "$tmp/waitterm.log" "state store unreachable" 200 && ok ||
    bad "dsrcd did not say it waits for its store: $(tail -3 "$tmp/waitterm.log")"
kill -0 "$dpid" 2>/dev/null && ok || bad "dsrcd gave up on an unreachable store"
kill -TERM "$dpid" 2>/dev/null
wait "$dpid"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "dsrcd waiting for its store exited $rc on SIGTERM"
hasnt "$tmp/waitterm.log" "$STORE_PW"
dsrcd_bg waitstart
wait_for "$tmp/waitstart.log" "state store unreachable" 200 || bad "dsrcd does not wait"
pg_restart || { bad "the server did not start again"; finish pg_store; exit 1; }
wait_for "$tmp/waitstart.log" " started: " 600 && ok ||
    bad "dsrcd did not start once its store was back: $(tail -5 "$tmp/waitstart.log")"
kill -TERM "$dpid" 2>/dev/null
wait "$dpid"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "dsrcd exited $rc on SIGTERM"
expect 0 "$DSRC" $C fetch -q pg public.ev -k id --incremental -o "$tmp/inc2.csv"
cut -d, -f1 "$tmp/inc2.csv" | tail -n +2 | tr '\n' ' ' >"$tmp/ids2"
[ "$(cat "$tmp/ids2")" = "11 12 13 14 15 " ] && ok || bad "after the restart: ids $(cat "$tmp/ids2")"
[ "$(store_psql "SELECT value FROM cursors")" = "15" ] && ok || bad "cursor after the restart"
[ "$(store_psql "SELECT COUNT(*) FROM runs WHERE state = 'succeeded'")" = "2" ] && ok ||
    bad "runs after the restart: $(store_psql "SELECT id, state, error FROM runs")"
[ "$(store_psql "SELECT COUNT(*) FROM runs WHERE state IN ('queued', 'running')")" = "0" ] &&
    ok || bad "a run left open"

finish pg_store
