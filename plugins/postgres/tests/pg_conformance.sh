#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrc conformance passes postgres.so against a real server: with nothing
# but the source (the program picks a schema, a table and its key as the
# cursor), and with a quirks file naming them and a bad option value.  The
# server comes from plugins/postgres/tests/fixture/pg-fixture (skipped, 77,
# when no PostgreSQL server is installed).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/postgres/tests/pg_lib.sh"
DSRC="$top_builddir/dsrc"
FIXTURE="$top_srcdir/plugins/postgres/tests/fixture/pg-fixture"
lib_tmpdir dsrc-pgconf
pgdir=""
cleanup() { [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"; }

pg_start --no-replica
su_psql <<'SQL' >/dev/null || { echo "loading the test data failed"; exit 99; }
CREATE SCHEMA shop;
CREATE TABLE shop.customers (id bigint PRIMARY KEY, name text NOT NULL, email text);
CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES shop.customers,
  amount numeric(12,2), ratio double precision, at timestamptz, flag boolean, data bytea);
INSERT INTO shop.customers SELECT g, 'c' || g, CASE WHEN g % 3 = 0 THEN 'c' || g || '@example.org' END
FROM generate_series(1, 50) g;
INSERT INTO shop.orders SELECT g, g % 50 + 1, g * 1.25, g / 7.0,
  timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute', g % 2 = 0, int8send(g)
FROM generate_series(1, 20000) g;
CREATE VIEW shop.big_orders AS SELECT * FROM shop.orders WHERE amount > 100;
ANALYZE shop.customers, shop.orders;
GRANT USAGE ON SCHEMA shop TO dsrc_test;
GRANT SELECT ON ALL TABLES IN SCHEMA shop TO dsrc_test;
SQL
lib_conf "$top_builddir/plugins/postgres/.libs"
cat >"$tmp/conf/sources.d/pg.conf" <<EOF2
name = "pg";
type = "postgres";
connection = {
    host = "127.0.0.1";
    port = $PG_PORT;
    database = "$PG_DATABASE";
    user = "$PG_USER";
    password = "env:DSRC_PGCONF_PASSWORD";
    connect_timeout = "5s";
};
tls = { mode = "verify-full"; ca = "$PG_CA"; };
EOF2
DSRC_PGCONF_PASSWORD=$PG_PASSWORD
export DSRC_PGCONF_PASSWORD
C="-c $tmp/conf/dsrcd.conf"

conformance_sql pg "$PG_PASSWORD"
finish pg_conformance
