#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The catalog against a real PostgreSQL server: a 2 000-table catalog
# discovered 100 times (4 in a sanitizer build) with no change (row
# estimates moving in between) gives no drift event; a type change, a dropped NOT NULL, a dropped column
# and a table replaced by a view each give exactly one event of the right
# kind and class.  The server comes from plugins/postgres/tests/fixture/pg-fixture
# (skipped, 77, when no PostgreSQL server is installed).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/postgres/tests/pg_lib.sh"
DSRC="$top_builddir/dsrc"
FIXTURE="$top_srcdir/plugins/postgres/tests/fixture/pg-fixture"
lib_tmpdir dsrc-pgcat
pgdir=""
cleanup() { [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"; }

pg_start --no-replica

su_psql <<'SQL' >/dev/null || { echo "loading the test data failed"; exit 99; }
CREATE SCHEMA cat;
SELECT format('CREATE TABLE cat.t%s (id bigint PRIMARY KEY, name text NOT NULL, '
              'price numeric(10,2) DEFAULT 0, at timestamptz)', lpad(i::text, 4, '0'))
FROM generate_series(1, 2000) i \gexec
CREATE TABLE cat.src (x int, y text);
CREATE TABLE cat.swap (x int, y text);
GRANT USAGE ON SCHEMA cat TO dsrc_test;
GRANT SELECT ON ALL TABLES IN SCHEMA cat TO dsrc_test;
SQL

lib_conf "$top_builddir/plugins/postgres/.libs" 'log_level = "warning";'
CONF="$tmp/conf/dsrcd.conf"
cat >"$tmp/conf/sources.d/pg.conf" <<EOF
name = "pg";
type = "postgres";
connection = {
    host = "localhost";
    port = $PG_PORT;
    database = "$PG_DATABASE";
    user = "$PG_USER";
    password = "env:DSRC_PG_CAT_PASSWORD";
};
tls = { mode = "verify-full"; ca = "$PG_CA"; };
EOF
DSRC_PG_CAT_PASSWORD=$PG_PASSWORD
export DSRC_PG_CAT_PASSWORD
. "$top_srcdir/tests/integration/catalog_lib.sh"

expect 0 "$DSRC" -c "$CONF" discover pg
has "$tmp/out" "catalog changed (snapshot 1)"
for i in 1 2 3 4; do
    su_psql -c "INSERT INTO cat.t0001 SELECT g, 'n' FROM generate_series($i * 1000, $i * 1000 + 999) g; ANALYZE cat.t0001;" >/dev/null
    no_false_alarm pg 25
done

su_psql -c "ALTER TABLE cat.t0002 ALTER COLUMN at TYPE text" >/dev/null
expect_change pg column_type_changed breaking cat/t0002
su_psql -c "ALTER TABLE cat.t0003 ALTER COLUMN price TYPE numeric(12,2)" >/dev/null
expect_change pg column_type_changed non-breaking cat/t0003
su_psql -c "ALTER TABLE cat.t0004 ALTER COLUMN name DROP NOT NULL" >/dev/null
expect_change pg column_nullability_changed non-breaking cat/t0004
su_psql -c "ALTER TABLE cat.t0005 DROP COLUMN at" >/dev/null
expect_change pg column_removed breaking cat/t0005
su_psql -c "DROP TABLE cat.swap; CREATE VIEW cat.swap AS SELECT x, y FROM cat.src;
            GRANT SELECT ON cat.swap TO dsrc_test" >/dev/null
expect_change pg item_kind_changed non-breaking cat/swap
su_psql -c "DROP TABLE cat.t0006" >/dev/null
expect_change pg item_removed breaking cat/t0006

finish pg_catalog
