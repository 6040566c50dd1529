#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# postgres.so through a real PgBouncer (Debian pgbouncer) in front of a
# real server, in session and in transaction pooling mode: test, ls,
# describe, discover, CSV and JSON Lines fetches, incremental fetches (the
# second run gets only the new rows), read-only queries with bound
# parameters (a write refused) give byte for byte what a direct
# connection gives, and dsrc conformance passes through PgBouncer.  The
# role's own settings (DateStyle, extra_float_digits, bytea_output) differ
# from the ones dsrc needs, and PgBouncer resets every server connection
# after each transaction in transaction mode: output that relied on session
# state would differ.  Skipped (77) when PostgreSQL or pgbouncer is not
# installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/postgres/tests/pg_lib.sh"
DSRC="$top_builddir/dsrc"
FIXTURE="$top_srcdir/plugins/postgres/tests/fixture/pg-fixture"
lib_tmpdir dsrc-pgb
pgdir=""
cleanup() {
    pgb_stop_all
    [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"
}
pass=0 fail=0

command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] ||
    { echo "pgbouncer is not installed (Debian package pgbouncer)"; exit 77; }
pg_start --no-replica
su_psql <<'SQL' >/dev/null || { echo "loading the test data failed"; exit 99; }
CREATE SCHEMA shop;
CREATE TABLE shop.customers (id bigint PRIMARY KEY, name text NOT NULL, email text);
CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES shop.customers,
  amount numeric(12,2), ratio double precision, r4 real, at timestamptz, day date,
  span interval, flag boolean, data bytea, doc jsonb);
INSERT INTO shop.customers SELECT g, 'c' || g, CASE WHEN g % 3 = 0 THEN 'c' || g || '@example.org' END
FROM generate_series(1, 50) g;
INSERT INTO shop.orders SELECT g, g % 50 + 1, g * 1.25, g / 7.0, g / 3.0,
  timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute', date '2020-01-01' + g,
  g * interval '90 minutes', g % 2 = 0, int8send(g), jsonb_build_object('g', g, 'x', g / 7.0)
FROM generate_series(1, 5000) g;
CREATE VIEW shop.big_orders AS SELECT * FROM shop.orders WHERE amount > 100;
CREATE TABLE shop.events (id bigserial PRIMARY KEY, v text, x double precision);
INSERT INTO shop.events (v, x) SELECT 'e' || g, g / 3.0 FROM generate_series(1, 10) g;
ANALYZE shop.customers, shop.orders, shop.events;
GRANT USAGE ON SCHEMA shop TO dsrc_test;
GRANT SELECT ON ALL TABLES IN SCHEMA shop TO dsrc_test;
-- Settings a session of this role starts with: none is what dsrc writes.
ALTER ROLE dsrc_test SET DateStyle = 'SQL, DMY';
ALTER ROLE dsrc_test SET extra_float_digits = 0;
ALTER ROLE dsrc_test SET bytea_output = 'escape';
ALTER ROLE dsrc_test SET TimeZone = 'UTC';
SQL
su_psql -c "ALTER ROLE dsrc_test SET TimeZone = 'UTC'" >/dev/null

pgb_start session
PGB_SESSION=$PGB_PORT
pgb_start transaction
PGB_TX=$PGB_PORT

DSRC_PGB_PASSWORD=$PG_PASSWORD
export DSRC_PGB_PASSWORD
# conf NAME PORT TLS-LINE [OPTION-LINE]: $tmp/NAME/dsrcd.conf with source
# "pg" on 127.0.0.1:PORT, its own state and workspace.
conf() {
    mkdir -p "$tmp/$1/sources.d" "$tmp/$1/state" "$tmp/$1/ws"
    printf 'plugin_dir = "%s";\nstate_dir = "%s";\nworkspace = "%s";\nsources_dir = "sources.d";\nlog_level = "warning";\n' \
        "$top_builddir/plugins/postgres/.libs" "$tmp/$1/state" "$tmp/$1/ws" >"$tmp/$1/dsrcd.conf"
    cat >"$tmp/$1/sources.d/pg.conf" <<EOF2
name = "pg";
type = "postgres";
connection = {
    host = "127.0.0.1";
    port = $2;
    database = "$PG_DATABASE";
    user = "$PG_USER";
    password = "env:DSRC_PGB_PASSWORD";
    connect_timeout = "5s";
    statement_timeout = "60s";
    ${4:-}
};
$3
EOF2
}
conf direct "$PG_PORT" "tls = { mode = \"verify-full\"; ca = \"$PG_CA\"; };"
conf session "$PGB_SESSION" 'tls = { mode = "disable"; };' 'pgbouncer = "session";'
conf transaction "$PGB_TX" 'tls = { mode = "disable"; };' 'pgbouncer = "transaction";'

# run VARIANT NAME ARGS...: dsrc ARGS with VARIANT's config, stdout in
# $tmp/VARIANT.NAME; must exit 0.
run() {
    v=$1 n=$2
    shift 2
    expect 0 "$DSRC" -c "$tmp/$v/dsrcd.conf" "$@"
    cp "$tmp/out" "$tmp/$v.$n"
}

for v in direct session transaction; do
    run $v test test pg
    run $v ls ls pg
    run $v ls_shop ls pg shop
    run $v describe describe pg shop/orders
    run $v describe_view describe pg shop/big_orders
    run $v discover discover pg
    run $v csv fetch pg shop/orders -q -o -
    run $v csv_cols fetch pg shop/orders -q -o - --columns id,ratio,at,data
    run $v jsonl fetch pg shop/orders -q -o - --format jsonl
    run $v limit fetch pg shop/orders -q -o - --format jsonl --limit 7 --cursor-field at
    run $v inc1 fetch pg shop/events -q -o "$tmp/$v.inc1.jsonl" --format jsonl \
        --cursor-field id --incremental
done
su_psql -c "INSERT INTO shop.events (v, x) SELECT 'n' || g, g / 9.0 FROM generate_series(1, 5) g" \
    >/dev/null
for v in direct session transaction; do
    run $v inc2 fetch pg shop/events -q -o "$tmp/$v.inc2.jsonl" --format jsonl \
        --cursor-field id --incremental
done

# The direct connection writes what dsrc always wrote.
has "$tmp/direct.csv" '1,2,1.25,0.14285714285714285,0.33333334,2024-01-01 00:01:00+00,2020-01-02,01:30:00,f,\x0000000000000001,'
[ "$(wc -l <"$tmp/direct.inc1.jsonl")" -eq 10 ] && ok || bad "first incremental run: not 10 rows"
[ "$(wc -l <"$tmp/direct.inc2.jsonl")" -eq 5 ] && ok || bad "second incremental run: not 5 rows"
has "$tmp/direct.inc2.jsonl" '"v":"n1"'
hasnt "$tmp/direct.inc2.jsonl" '"v":"e10"'
for v in session transaction; do
    for n in ls ls_shop describe describe_view discover csv csv_cols jsonl limit; do
        same "$tmp/direct.$n" "$tmp/$v.$n"
    done
    same "$tmp/direct.inc1.jsonl" "$tmp/$v.inc1.jsonl"
    same "$tmp/direct.inc2.jsonl" "$tmp/$v.inc2.jsonl"
done

# Read-only queries (dsrc query): the same output in every mode, bound
# parameters, a write refused by the server, settings that do not stay.
if "$DSRC" -c "$tmp/direct/dsrcd.conf" query pg 'SELECT 1' -o /dev/null >/dev/null 2>&1; then
    for v in direct session transaction; do
        run $v q_csv query pg 'SELECT * FROM shop.orders ORDER BY id' --format csv -o -
        run $v q_jsonl query pg 'SELECT id, ratio, at, data, doc FROM shop.orders WHERE id > $1 ORDER BY id' \
            --param 4990 --format jsonl -o -
        run $v q_inj query pg 'SELECT $1::text IS NULL AS n, $2::int * 2 AS d' --param "' OR 1=1 --" \
            --param 21 --format jsonl -o -
        "$DSRC" -c "$tmp/$v/dsrcd.conf" query pg 'DELETE FROM shop.orders' -o - >"$tmp/out" 2>"$tmp/err" &&
            bad "$v: a DELETE through dsrc query succeeded" || ok
        has "$tmp/err" "read-only transaction"
        "$DSRC" -c "$tmp/$v/dsrcd.conf" query pg "SELECT set_config('DateStyle', 'German', false)" \
            -o /dev/null >"$tmp/out" 2>"$tmp/err" && ok || bad "$v: set_config in a query failed"
    done
    [ "$(wc -l <"$tmp/direct.q_jsonl")" -eq 10 ] && ok || bad "the query with a parameter: not 10 rows"
    has "$tmp/direct.q_inj" '"n":false'
    has "$tmp/direct.q_inj" '"d":42'
    for v in session transaction; do
        for n in q_csv q_jsonl q_inj; do
            same "$tmp/direct.$n" "$tmp/$v.$n"
        done
    done
    [ "$(su_psql -At -c 'SELECT count(*) FROM shop.orders')" = 5000 ] && ok ||
        bad "shop.orders changed under dsrc query"
else
    echo "pg_pgbouncer: this dsrc has no query command; the query checks did not run"
fi

# Nothing of dsrc's session stays on a server connection PgBouncer hands
# to its next client: that client sees the role's own settings.
PGPASSWORD=$PG_PASSWORD psql -X -q -At -h 127.0.0.1 -p "$PGB_TX" -U "$PG_USER" -d "$PG_DATABASE" \
    -c "SHOW extra_float_digits" -c "SHOW default_transaction_read_only" >"$tmp/other" 2>&1
printf '0\noff\n' >"$tmp/other.want"
same "$tmp/other.want" "$tmp/other"

# A large table over several connections: one COPY through a transaction
# pooler, said in the debug log.
su_psql <<'SQL' >/dev/null || { echo "loading the large table failed"; exit 99; }
CREATE TABLE shop.large AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 200000) g;
GRANT SELECT ON shop.large TO dsrc_test;
SQL
expect 0 "$DSRC" -c "$tmp/transaction/dsrcd.conf" -vv fetch pg shop/large -q -o "$tmp/tx.large"
has "$tmp/err" "one COPY: through a transaction pooler (pgbouncer)"
expect 0 "$DSRC" -c "$tmp/direct/dsrcd.conf" fetch pg shop/large -q -o "$tmp/direct.large"
same "$tmp/direct.large" "$tmp/tx.large"

# A bad value is refused clearly.
conf badopt "$PGB_TX" 'tls = { mode = "disable"; };' 'pgbouncer = "statement";'
expect 78 "$DSRC" -c "$tmp/badopt/dsrcd.conf" test pg
grep -q "pgbouncer" "$tmp/err" "$tmp/out" && ok || { bad "no word of the bad pgbouncer value"; cat "$tmp/err"; }

# dsrc conformance through PgBouncer in both modes.
for v in session transaction; do
    C="-c $tmp/$v/dsrcd.conf"
    conformance_sql pg "$PG_PASSWORD"
done

finish pg_pgbouncer
